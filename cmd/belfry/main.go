// Command belfry serves the Amazon Chime SDK Messaging and Identity APIs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Unless GOGC or GOMEMLIMIT say otherwise, the server collects garbage when
// the heap has grown by 400% (Go's default is 100%), within a soft limit of
// 1 GiB: the collector took about a tenth of the CPU of a membership write
// at the default (BENCHMARKS.md), while the live heap of a server is small
// next to the limit.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 1 << 30
)

func main() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(defaultGCPercent)
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "belfry:", err)
		os.Exit(exitCode(err))
	}
}
