package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary serve the ceiling as the program does: the
// bench starts its own executable again for it.
func TestMain(m *testing.M) {
	if os.Getenv(ceilingEnv) != "" {
		if err := serveCeiling(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// TestShortRun is the generator's smoke test: every scenario with --short
// against the real binary (built here), with signature verification on. It
// checks that every request succeeded and every figure was reported, never
// how fast: timings on a shared machine prove nothing in a test.
func TestShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	bin := filepath.Join(t.TempDir(), "belfry")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/belfry/belfry/cmd/belfry").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--belfry", bin, "--scenario", "all", "--short", "--data", t.TempDir()}, &out); err != nil {
		t.Fatalf("belfry-bench: %v\n%s", err, &out)
	}
	for _, want := range []string{
		"signature verification on",
		"ceiling (bare net/http) CreateChannelMembership",
		"ratio to ceiling",
		"ceiling in the generator's process CreateChannelMembership",
		"CreateChannelMembership: ratio to ceiling (bare net/http) ",
		"(median of 5 rounds,",
		"BatchCreateChannelMembership",
		"SendChannelMessage fan-out",
		"ListChannelMemberships page @100",
		"ListChannelMembershipsForAppInstanceUser page @1000",
		"page @1000 / page @100",
		"start to ready (1000 memberships each)",
		"peak RSS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "unknown:") {
		t.Errorf("a figure could not be read")
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "errors ") && !strings.Contains(line, "errors 0") {
			t.Errorf("requests failed: %s", line)
		}
	}
	t.Logf("\n%s", &out)
}

// TestParseConfig: the scenarios that need a binary say so, unknown ones are refused.
func TestParseConfig(t *testing.T) {
	for _, args := range [][]string{
		{"--endpoint", "http://x", "--scenario", "list-memberships"},
		{"--endpoint", "http://x", "--scenario", "nope"},
		{"--scenario", "create-membership"},
		{"--belfry", "b", "--list-sizes", "1,x"},
		{"--belfry", "b", "--rounds", "0"},
	} {
		if _, _, err := parseConfig(args); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	cfg, sc, err := parseConfig([]string{"--belfry", "b", "--scenario", "all", "--short"})
	if err != nil || len(sc) != len(allScenarios) || cfg.requests != 200 || cfg.listSizes[1] != 1000 {
		t.Errorf("all --short: %+v %v %v", cfg, sc, err)
	}
}
