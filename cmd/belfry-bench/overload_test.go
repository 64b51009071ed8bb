package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverloadShort is the overload scenario's smoke test (issue 6): past
// saturation the binary answers 2xx or, with --rate-limits=aws, 429, never
// a 5xx or a dropped connection, and answers normally afterwards. The
// scenario itself fails otherwise; this checks that both runs reported.
func TestOverloadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	bin := filepath.Join(t.TempDir(), "belfry")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/belfry/belfry/cmd/belfry").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--belfry", bin, "--scenario", "overload", "--clients", "32", "--requests", "400"}, &out); err != nil {
		t.Fatalf("belfry-bench: %v\n%s", err, &out)
	}
	for _, want := range []string{"overload, rate limits aws", "×429", "overload, rate limits off, connections capped", "peak RSS (overload", "answered normally afterwards"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	t.Logf("\n%s", &out)
}
