// Command belfry-bench drives a Belfry server with SigV4-signed requests, as
// the AWS SDKs send them, and reports throughput, p50/p99 latency, the ratio
// to a bare net/http ceiling measured in the same run, start-to-ready time
// and the server's peak RSS (BENCHMARKS.md).
//
// Drive a running server:
//
//	belfry-bench --endpoint http://127.0.0.1:8080 --scenario create-membership
//
// Or let it start the binary itself, with credentials configured (signature
// verification on), on data directories it prepares, and run every scenario:
//
//	belfry-bench --belfry ./belfry --scenario all
//
// --short runs every scenario with small sizes; `go test ./cmd/belfry-bench`
// does that as a smoke test.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func main() {
	if os.Getenv(ceilingEnv) != "" {
		if err := serveCeiling(); err != nil {
			fmt.Fprintln(os.Stderr, "belfry-bench ceiling:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "belfry-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	endpoint, belfry, scenario, accessKey, secretKey, region, data string
	clients, requests, batchMembers, sessions, messages, starts    int
	listPages, rounds                                              int
	listSizes                                                      []int
	pid                                                            int
	ceiling, short                                                 bool
}

// scenarios in the order "all" runs them.
var allScenarios = []string{"create-membership", "batch-create-membership", "fan-out", "list-memberships", "start"}

// otherScenarios are run only when named: they measure behaviour, not speed.
var otherScenarios = []string{"overload"}

func parseConfig(args []string) (config, []string, error) {
	var cfg config
	fs := flag.NewFlagSet("belfry-bench", flag.ContinueOnError)
	fs.StringVar(&cfg.endpoint, "endpoint", "", "a running server to drive (scenarios create-membership, batch-create-membership, fan-out)")
	fs.StringVar(&cfg.belfry, "belfry", "", "the belfry binary: start it (with credentials configured) on data directories the bench prepares; needed by list-memberships and start")
	fs.StringVar(&cfg.scenario, "scenario", "create-membership", "comma-separated: "+strings.Join(allScenarios, ", ")+", or all; or overload (past saturation: 429s with --rate-limits=aws, queueing past --max-connections)")
	fs.IntVar(&cfg.clients, "clients", 64, "concurrent clients")
	fs.IntVar(&cfg.requests, "requests", 10000, "CreateChannelMembership requests in the measured phase")
	fs.IntVar(&cfg.batchMembers, "batch-members", 100000, "members added by BatchCreateChannelMembership, 100 a call")
	fs.IntVar(&cfg.sessions, "sessions", 10000, "connected messaging sessions (channel members) for fan-out")
	fs.IntVar(&cfg.messages, "messages", 20, "messages sent in fan-out, one after the other")
	fs.IntVar(&cfg.listPages, "list-pages", 2000, "list pages requested per list and data set size")
	sizes := fs.String("list-sizes", "1000,1000000", "memberships of the channel and of the user listed, one data set each")
	fs.IntVar(&cfg.starts, "starts", 5, "server starts measured on an existing data directory")
	fs.StringVar(&cfg.data, "data", "", "directory where list data sets are kept between runs (default: a temporary directory)")
	fs.IntVar(&cfg.pid, "pid", 0, "pid of the --endpoint server, to report its peak RSS")
	fs.BoolVar(&cfg.ceiling, "ceiling", true, "measure the bare net/http ceiling in the same run")
	fs.IntVar(&cfg.rounds, "rounds", 5, "rounds the ceiling and the server alternate in, each a share of the requests; the ratio is the median of the rounds'")
	fs.BoolVar(&cfg.short, "short", false, "small sizes: a smoke run")
	fs.StringVar(&cfg.accessKey, "access-key", "123456789012", "access key id to sign with")
	fs.StringVar(&cfg.secretKey, "secret-key", "bench-secret", "secret key to sign with")
	fs.StringVar(&cfg.region, "region", "us-east-1", "region to sign for")
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if cfg.short {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*int{"clients": &cfg.clients, "requests": &cfg.requests, "batch-members": &cfg.batchMembers,
			"sessions": &cfg.sessions, "messages": &cfg.messages, "list-pages": &cfg.listPages, "starts": &cfg.starts} {
			if !set[name] {
				*v = map[string]int{"clients": 8, "requests": 200, "batch-members": 1000, "sessions": 20, "messages": 3, "list-pages": 50, "starts": 2}[name]
			}
		}
		if !set["list-sizes"] {
			*sizes = "100,1000"
		}
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return cfg, nil, fmt.Errorf("--list-sizes: %q is not a number of at least 2", s)
		}
		cfg.listSizes = append(cfg.listSizes, n)
	}
	if cfg.clients < 1 || cfg.requests < 1 || cfg.batchMembers < 1 || cfg.sessions < 2 || cfg.messages < 1 || cfg.listPages < 1 || cfg.starts < 1 || cfg.rounds < 1 {
		return cfg, nil, errors.New("--clients, --requests, --batch-members, --messages, --list-pages, --starts and --rounds must be positive, --sessions at least 2")
	}
	scenarios := strings.Split(cfg.scenario, ",")
	if cfg.scenario == "all" {
		scenarios = allScenarios
	}
	for _, s := range scenarios {
		known := false
		for _, a := range append(allScenarios, otherScenarios...) {
			known = known || a == s
		}
		if !known {
			return cfg, nil, fmt.Errorf("unknown --scenario %q", s)
		}
		if (s == "list-memberships" || s == "start") && cfg.belfry == "" {
			return cfg, nil, fmt.Errorf("--scenario %s needs --belfry (the server is started on a prepared data directory)", s)
		}
	}
	if cfg.endpoint == "" && cfg.belfry == "" {
		return cfg, nil, errors.New("give --endpoint (a running server) or --belfry (a binary to start)")
	}
	return cfg, scenarios, nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, scenarios, err := parseConfig(args)
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, out: stdout}
	defer b.cleanup()
	return b.run(ctx, scenarios)
}

// client signs and sends requests to one endpoint.
type client struct {
	cfg      config
	endpoint string
	http     *http.Client
	signer   *v4.Signer
	creds    aws.Credentials
	pid      int // the server's, to measure the CPU it uses; 0 when unknown
}

func newClient(cfg config, endpoint string) *client {
	return &client{cfg: cfg, endpoint: endpoint, signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: cfg.accessKey, SecretAccessKey: cfg.secretKey},
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients + 4, MaxConnsPerHost: cfg.clients + 4,
			DisableCompression: true}}}
}

// do sends one signed request with a JSON body (body may be nil or
// already-encoded bytes) and decodes a JSON answer into out (when non-nil).
func (c *client) do(ctx context.Context, method, path, bearer string, body any, out any) error {
	var b []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	if b != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("x-amz-chime-bearer", bearer)
	}
	sum := sha256.Sum256(b)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "chime", c.cfg.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// presign returns the ws:// URL of a messaging session for user, presigned
// as amazon-chime-sdk-js presigns it.
func (c *client) presign(ctx context.Context, user string) (string, error) {
	u, err := url.Parse(c.endpoint)
	if err != nil {
		return "", err
	}
	u.Path = "/connect"
	u.RawQuery = url.Values{"X-Amz-Expires": {"10"}, "sessionId": {"1"}, "userArn": {user}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	empty := sha256.Sum256(nil)
	signed, _, err := c.signer.PresignHTTP(ctx, c.creds, req, hex.EncodeToString(empty[:]), "chime", c.cfg.region, time.Now())
	if err != nil {
		return "", err
	}
	return "ws" + strings.TrimPrefix(signed, "http"), nil
}

func esc(arn string) string { return url.PathEscape(arn) }

var tokenSeq atomic.Int64

func token() string { return fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), tokenSeq.Add(1)) }

// result is one measured phase.
type result struct {
	name          string
	n, clients    int
	items         int // items per op (members per batch)
	elapsed       time.Duration
	p50, p99, max time.Duration
	failed        int64
	serverCPU     time.Duration   // CPU the server used in the phase, 0 when unknown
	lat           []time.Duration // of every call, sorted
}

func (r result) perSec() float64      { return float64(r.n) / r.elapsed.Seconds() }
func (r result) itemsPerSec() float64 { return float64(r.n*r.items) / r.elapsed.Seconds() }

// measureOn is measure, adding the CPU the server process pid used (when pid > 0).
func measureOn(pid int, name string, clients, n, itemsPerOp int, op func(i int) error) (result, error) {
	if pid <= 0 {
		return measure(name, clients, n, itemsPerOp, op)
	}
	c0, err0 := cpuTime(pid)
	r, err := measure(name, clients, n, itemsPerOp, op)
	if c1, err1 := cpuTime(pid); err0 == nil && err1 == nil {
		r.serverCPU = c1 - c0
	}
	return r, err
}

// measure runs op for i in 0..n-1 on clients goroutines and times each call.
func measure(name string, clients, n, itemsPerOp int, op func(i int) error) (result, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				t0 := time.Now()
				if err := op(i); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	r := result{name: name, n: n, clients: clients, items: itemsPerOp, elapsed: time.Since(start), failed: failed.Load(), lat: lat}
	r.percentiles()
	if e, _ := firstErr.Load().(error); e != nil {
		return r, fmt.Errorf("%s: %d of %d requests failed; first: %w", name, r.failed, n, e)
	}
	return r, nil
}

// percentiles sorts r.lat and sets the percentiles from it.
func (r *result) percentiles() {
	slices.Sort(r.lat)
	r.p50, r.p99, r.max = percentile(r.lat, 0.50), percentile(r.lat, 0.99), r.lat[len(r.lat)-1]
}

// add adds phase p (of the same operation) to r: calls, time, CPU and latencies.
func (r *result) add(p result) {
	if r.name == "" {
		r.name, r.clients, r.items = p.name, p.clients, p.items
	}
	r.n += p.n
	r.elapsed += p.elapsed
	r.failed += p.failed
	r.serverCPU += p.serverCPU
	r.lat = append(r.lat, p.lat...)
	r.percentiles()
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	return (sorted[(n-1)/2] + sorted[n/2]) / 2
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}

// report prints a result.
func (b *bench) report(r result) {
	line := fmt.Sprintf("%-44s %7d req %3d clients %9.0f req/s", r.name, r.n, r.clients, r.perSec())
	if r.items > 1 {
		line += fmt.Sprintf(" %9.0f items/s", r.itemsPerSec())
	}
	line += fmt.Sprintf("  p50 %s  p99 %s  max %s  errors %d", ms(r.p50), ms(r.p99), ms(r.max), r.failed)
	if r.serverCPU > 0 {
		line += fmt.Sprintf("  server CPU %.0fµs/req", float64(r.serverCPU.Microseconds())/float64(r.n))
	}
	fmt.Fprintln(b.out, line)
}

// reportRatio prints the ratio of r to the ceiling ceil (named label): the
// median of the rounds' (sorted), their range, and the ratio of the totals;
// and of the server CPU a call, when both are known.
func (b *bench) reportRatio(r result, label string, ceil result, rounds []float64) {
	line := fmt.Sprintf("%s: ratio to %s%.3f (median of %d rounds, %.3f to %.3f; of the totals %.3f)", r.name, label,
		median(rounds), len(rounds), rounds[0], rounds[len(rounds)-1], r.perSec()/ceil.perSec())
	if r.serverCPU > 0 && ceil.serverCPU > 0 {
		line += fmt.Sprintf("; server CPU a call %.2f× the ceiling's", (float64(r.serverCPU)/float64(r.n))/(float64(ceil.serverCPU)/float64(ceil.n)))
	}
	fmt.Fprintln(b.out, line)
}
