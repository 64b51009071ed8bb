// Command belfry-bench drives a running Belfry server with SigV4-signed
// requests, as the AWS SDKs send them, and reports throughput and latency.
//
//	belfry-bench --endpoint http://127.0.0.1:8080 --scenario create-membership --clients 64 --requests 20000
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
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "belfry-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	endpoint, scenario, accessKey, secretKey, region string
	clients, requests                                int
}

// client signs and sends requests to one endpoint.
type client struct {
	cfg    config
	http   *http.Client
	signer *v4.Signer
	creds  aws.Credentials
}

// do sends one signed request and decodes a JSON answer into out (when non-nil).
func (c *client) do(ctx context.Context, method, path, bearer string, body any, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.endpoint+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
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

func esc(arn string) string { return url.PathEscape(arn) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("belfry-bench", flag.ContinueOnError)
	fs.StringVar(&cfg.endpoint, "endpoint", "http://127.0.0.1:8080", "the server to drive")
	fs.StringVar(&cfg.scenario, "scenario", "create-membership", "create-membership or batch-create-membership")
	fs.IntVar(&cfg.clients, "clients", 64, "concurrent clients")
	fs.IntVar(&cfg.requests, "requests", 10000, "requests to send in the measured phase")
	fs.StringVar(&cfg.accessKey, "access-key", "123456789012", "access key id to sign with")
	fs.StringVar(&cfg.secretKey, "secret-key", "bench-secret", "secret key to sign with")
	fs.StringVar(&cfg.region, "region", "us-east-1", "region to sign for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.clients < 1 || cfg.requests < 1 {
		return errors.New("--clients and --requests must be positive")
	}
	c := &client{cfg: cfg, signer: v4.NewSigner(),
		creds: aws.Credentials{AccessKeyID: cfg.accessKey, SecretAccessKey: cfg.secretKey},
		http:  &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.clients, MaxConnsPerHost: cfg.clients}}}
	switch cfg.scenario {
	case "create-membership":
		return createMembership(ctx, c, stdout)
	case "batch-create-membership":
		return batchCreateMembership(ctx, c, stdout)
	}
	return fmt.Errorf("unknown --scenario %q", cfg.scenario)
}

// setup creates an app instance, an owner, a channel and n users, concurrently.
func setup(ctx context.Context, c *client, n int) (owner, channel string, users []string, err error) {
	var ai struct{ AppInstanceArn string }
	if err = c.do(ctx, "POST", "/app-instances", "", map[string]any{"Name": "bench", "ClientRequestToken": token()}, &ai); err != nil {
		return
	}
	users = make([]string, n+1)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < c.cfg.clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i <= n; i = int(next.Add(1) - 1) {
				var u struct{ AppInstanceUserArn string }
				if err := c.do(ctx, "POST", "/app-instance-users", "", map[string]any{"AppInstanceArn": ai.AppInstanceArn,
					"AppInstanceUserId": fmt.Sprintf("u%d", i), "Name": "user", "ClientRequestToken": token()}, &u); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				users[i] = u.AppInstanceUserArn
			}
		}()
	}
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil {
		return "", "", nil, e
	}
	owner, users = users[0], users[1:]
	var ch struct{ ChannelArn string }
	err = c.do(ctx, "POST", "/channels", owner, map[string]any{"AppInstanceArn": ai.AppInstanceArn, "Name": "bench", "Mode": "UNRESTRICTED",
		"ClientRequestToken": token()}, &ch)
	return owner, ch.ChannelArn, users, err
}

var tokenSeq atomic.Int64

func token() string { return fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), tokenSeq.Add(1)) }

// measure runs ops (indexed 0..n-1) on the configured clients and reports.
func measure(ctx context.Context, c *client, stdout io.Writer, name string, n, itemsPerOp int, op func(i int) error) error {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c.cfg.clients; w++ {
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
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(n-1, int(float64(n)*p))] }
	fmt.Fprintf(stdout, "%s: %d requests, %d clients, %.0f req/s, %.0f items/s, p50 %s, p99 %s, errors %d\n", name, n, c.cfg.clients,
		float64(n)/elapsed.Seconds(), float64(n*itemsPerOp)/elapsed.Seconds(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), failed.Load())
	if e, _ := firstErr.Load().(error); e != nil {
		return fmt.Errorf("%d of %d requests failed; first: %w", failed.Load(), n, e)
	}
	return nil
}

func createMembership(ctx context.Context, c *client, stdout io.Writer) error {
	owner, ch, users, err := setup(ctx, c, c.cfg.requests)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	path := "/channels/" + esc(ch) + "/memberships"
	return measure(ctx, c, stdout, "CreateChannelMembership", len(users), 1, func(i int) error {
		return c.do(ctx, "POST", path, owner, map[string]any{"MemberArn": users[i], "Type": "DEFAULT"}, nil)
	})
}

func batchCreateMembership(ctx context.Context, c *client, stdout io.Writer) error {
	const per = 100
	n := (c.cfg.requests + per - 1) / per
	owner, ch, users, err := setup(ctx, c, n*per)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	path := "/channels/" + esc(ch) + "/memberships?operation=batch-create"
	return measure(ctx, c, stdout, "BatchCreateChannelMembership", n, per, func(i int) error {
		var out struct{ Errors []any }
		if err := c.do(ctx, "POST", path, owner, map[string]any{"MemberArns": users[i*per : (i+1)*per]}, &out); err != nil {
			return err
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("batch %d: %v", i, out.Errors[0])
		}
		return nil
	})
}
