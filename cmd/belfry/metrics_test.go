package main

import (
	"context"
	"github.com/belfry/belfry/internal/testutil"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
)

// TestAdminMetrics: the admin listener serves Prometheus metrics counting
// requests by operation and status, and the store, bus and session figures;
// and execution traces.
func TestAdminMetrics(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := testutil.NewLineWriter(), testutil.NewLineWriter()
	done := make(chan error, 1)
	args := []string{"--listen", "127.0.0.1:0", "--admin-listen", admin, "--data", filepath.Join(t.TempDir(), "data")}
	go func() { done <- run(ctx, args, envOf(nil), stdout, stderr) }()
	var url string
	select {
	case line := <-stdout.First:
		m := endpointLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected first line %q", line)
		}
		url = m[1]
	case err := <-done:
		t.Fatalf("run returned before serving: %v\nstderr: %s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no endpoint line within 30s; stderr: %s", stderr)
	}
	id := chimesdkidentity.New(chimesdkidentity.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("123456789012", "secret", "")})
	for i := 0; i < 2; i++ {
		if _, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("m"), ClientRequestToken: aws.String("tok-metrics-" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String("arn:aws:chime:us-east-1:123456789012:app-instance/none")}); err == nil {
		t.Fatal("DescribeAppInstance of a missing app instance succeeded")
	}
	get := func(path string) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		for tries := 0; tries < 100; tries++ { // the admin listener starts after the endpoint line
			if resp, err = http.Get("http://" + admin + path); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`belfry_requests_total{op="CreateAppInstance",status="201"} 2`,
		`belfry_requests_total{op="DescribeAppInstance",status="404"} 1`,
		`belfry_request_duration_seconds_count{op="CreateAppInstance",status="201"} 2`,
		"belfry_store_commits_total ",
		"belfry_store_write_transactions_total ",
		"belfry_store_read_transactions_total ",
		"belfry_store_group_reruns_total 0",
		"belfry_store_queued_writes 0",
		"belfry_sessions 0",
		"belfry_session_frames_queued_total 0",
		"belfry_bus_events_published_total 0",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	// An execution trace, as `go tool trace` reads it (pprof.Index alone
	// answers "Unknown profile" for it).
	if code, body := get("/debug/pprof/trace?seconds=0.1"); code != 200 || !strings.HasPrefix(body, "go 1.") {
		t.Errorf("/debug/pprof/trace: %d %.40q", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
