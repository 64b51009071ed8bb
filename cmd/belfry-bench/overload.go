package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The overload scenario (issue 6): --clients concurrent clients send
// --requests requests as fast as they can, all on one channel with ten
// bearers (SendChannelMessage, ListChannelMessages, BatchCreateChannelMembership),
// far past what AWS's rates allow. With --belfry it runs twice: on a server
// with --rate-limits=aws (the answer to what is over a rate is 429
// ThrottledClientException), and on one without rate limits and with
// --max-connections at an eighth of the clients (clients queue). It reports
// every status and transport error, latency, the server's peak RSS, and
// fails on any 5xx or transport error, or when the server does not answer
// normally afterwards. It is not part of "all": it measures behaviour past
// saturation, not speed.
func (b *bench) overload(ctx context.Context) error {
	type run struct {
		name  string
		args  []string
		th429 bool
	}
	runs := []run{{"rate limits aws", []string{"--rate-limits", "aws"}, true},
		{"rate limits off, connections capped", []string{"--max-connections", strconv.Itoa(max(2, b.cfg.clients/8))}, false}}
	if b.cfg.belfry == "" {
		runs = []run{{"the --endpoint server", nil, false}}
	}
	for _, r := range runs {
		srv := &server{endpoint: b.cfg.endpoint, pid: b.cfg.pid}
		if b.cfg.belfry != "" {
			dir, err := b.tempDir("belfry-bench-overload-")
			if err != nil {
				return err
			}
			if srv, err = b.start(ctx, dir, r.args...); err != nil {
				return err
			}
		}
		err := b.overloadOne(ctx, srv, r.name, r.th429)
		if b.cfg.belfry != "" {
			srv.stop()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// status sends one signed request and returns its HTTP status.
func (c *client) status(ctx context.Context, method, path, bearer string, body any, out any) (int, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("x-amz-chime-bearer", bearer)
	}
	sum := sha256.Sum256(b)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "chime", c.cfg.region, time.Now()); err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

// retry429 sends a setup request until it is not throttled.
func (c *client) retry429(ctx context.Context, method, path, bearer string, body any, out any) error {
	for {
		st, err := c.status(ctx, method, path, bearer, body, out)
		if err != nil {
			return err
		}
		if st == http.StatusTooManyRequests {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if st >= 300 {
			return fmt.Errorf("%s %s: status %d", method, path, st)
		}
		return nil
	}
}

func (b *bench) overloadOne(ctx context.Context, srv *server, name string, want429 bool) error {
	c := newClient(b.cfg, srv.endpoint)
	fmt.Fprintf(b.out, "overload, %s (%s): %d clients, %d requests on one channel\n", name, srv.endpoint, b.cfg.clients, b.cfg.requests)
	var ai struct{ AppInstanceArn string }
	if err := c.retry429(ctx, "POST", "/app-instances", "", map[string]any{"Name": "overload", "ClientRequestToken": token()}, &ai); err != nil {
		return err
	}
	var members []string
	for i := range 10 {
		var u struct{ AppInstanceUserArn string }
		if err := c.retry429(ctx, "POST", "/app-instance-users", "", map[string]any{"AppInstanceArn": ai.AppInstanceArn,
			"AppInstanceUserId": fmt.Sprintf("m%d", i), "Name": "m", "ClientRequestToken": token()}, &u); err != nil {
			return err
		}
		members = append(members, u.AppInstanceUserArn)
	}
	var ch struct{ ChannelArn string }
	if err := c.retry429(ctx, "POST", "/channels", members[0], map[string]any{"AppInstanceArn": ai.AppInstanceArn, "Name": "overload",
		"Mode": "UNRESTRICTED", "MemberArns": members[1:], "ClientRequestToken": token()}, &ch); err != nil {
		return err
	}
	path := "/channels/" + esc(ch.ChannelArn)

	var mu sync.Mutex
	statuses := map[int]int{}
	errs := map[string]int{}
	lat := make([]time.Duration, 0, b.cfg.requests)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range b.cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < b.cfg.requests; i = int(next.Add(1) - 1) {
				bearer := members[i%len(members)]
				t0 := time.Now()
				var st int
				var err error
				switch i % 4 {
				case 0, 1:
					st, err = c.status(ctx, "POST", path+"/messages", bearer, map[string]any{"Content": "load", "Type": "STANDARD",
						"Persistence": "PERSISTENT", "ClientRequestToken": fmt.Sprintf("overload-%d", i)}, nil)
				case 2:
					st, err = c.status(ctx, "GET", path+"/messages?max-results=10", bearer, nil, nil)
				case 3:
					st, err = c.status(ctx, "POST", path+"/memberships?operation=batch-create", bearer, map[string]any{"MemberArns": members[:5]}, nil)
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					errs[err.Error()]++
				} else {
					statuses[st]++
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var codes []int
	for code := range statuses {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	var parts []string
	bad := 0
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", statuses[code], code))
		if code >= 500 || code == 429 && !want429 || code >= 300 && code != 429 {
			bad += statuses[code]
		}
	}
	fmt.Fprintf(b.out, "  %d requests in %v (%.0f/s): %s; transport errors %d; p50 %s, p99 %s, max %s\n", b.cfg.requests, elapsed.Round(time.Millisecond),
		float64(b.cfg.requests)/elapsed.Seconds(), strings.Join(parts, " "), len(errs), ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), ms(percentile(lat, 1)))
	b.reportRSS(srv, "overload, "+name)
	after := c.retry429(ctx, "GET", path, members[0], nil, nil)
	switch {
	case len(errs) > 0:
		return fmt.Errorf("overload, %s: transport errors %v", name, errs)
	case bad > 0:
		return fmt.Errorf("overload, %s: %d answers other than 2xx and 429: %s", name, bad, strings.Join(parts, " "))
	case want429 && statuses[http.StatusTooManyRequests] == 0:
		return fmt.Errorf("overload, %s: nothing was throttled", name)
	case after != nil:
		return fmt.Errorf("overload, %s: the server does not answer normally afterwards: %w", name, after)
	}
	fmt.Fprintf(b.out, "  the server answered normally afterwards\n")
	return nil
}
