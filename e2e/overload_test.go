package e2e

// Issue 6, limits under load: the binary driven past saturation. With
// --rate-limits=aws it answers what is over AWS's rates with 429
// ThrottledClientException and everything else normally; without rate
// limits, past --max-connections clients queue. Either way it never
// fails a request with a 5xx, never crashes, and its memory stays bounded.
//
// Short form in every `go test`; long form, recorded in docs/security.md:
//
//	BELFRY_OVERLOAD=512,60 go test -count=1 -run TestOverload -v ./e2e   # clients,seconds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// procStatus reads a kB field (VmRSS, VmHWM) of /proc/<pid>/status; 0 when unknown.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// signedClient sends SigV4-signed requests the way the SDKs do, without
// their retries, so that every answer is counted.
type signedClient struct {
	url   string
	http  *http.Client
	creds aws.Credentials
}

func (c *signedClient) do(ctx context.Context, method, path, bearer string, body any) (int, []byte, error) {
	status, _, data, err := c.doHeader(ctx, method, path, bearer, body)
	return status, data, err
}

// doHeader is do with the response's headers.
func (c *signedClient) doHeader(ctx context.Context, method, path, bearer string, body any) (int, http.Header, []byte, error) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("x-amz-chime-bearer", bearer)
	}
	sum := sha256.Sum256(b)
	if err := v4.NewSigner().SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", time.Now()); err != nil {
		return 0, nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, nil
}

// overloadResult counts the answers of a load run.
type overloadResult struct {
	mu       sync.Mutex
	status   map[int]int
	errs     map[string]int
	lat      []time.Duration
	total    int
	elapsed  time.Duration
	peakRSS  int64 // kB, VmHWM at the end
	rssAfter int64
	not429s  int // 429s without the ThrottledClientException type and body
}

func (r *overloadResult) String() string {
	var codes []int
	for c := range r.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", r.status[c], c))
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))].Round(time.Microsecond)
	}
	return fmt.Sprintf("%d requests in %v (%.0f/s): %s; transport errors %v; p50 %v p99 %v; server peak RSS %d MiB, RSS after %d MiB",
		r.total, r.elapsed.Round(time.Millisecond), float64(r.total)/r.elapsed.Seconds(), strings.Join(parts, " "), r.errs,
		pct(0.5), pct(0.99), r.peakRSS/1024, r.rssAfter/1024)
}

// overload drives p with clients for d: each client loops over sending a
// message as one of the members, listing the channel's messages, and adding
// a batch of members, all on one channel, so that the per-channel, per-bearer
// and batch rates are all exceeded.
func overload(t *testing.T, p *belfryProc, creds aws.Credentials, clients int, d time.Duration) *overloadResult {
	t.Helper()
	ctx := context.Background()
	c := &signedClient{url: p.URL, creds: creds, http: &http.Client{Timeout: 2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}}
	status, body, err := c.do(ctx, "POST", "/app-instances", "", map[string]any{"Name": "overload", "ClientRequestToken": token()})
	if err != nil || status != 201 {
		t.Fatalf("CreateAppInstance: %d %s %v", status, body, err)
	}
	var ai struct{ AppInstanceArn string }
	json.Unmarshal(body, &ai)
	var members []string
	for i := range 10 {
		for {
			status, body, err := c.do(ctx, "POST", "/app-instance-users", "", map[string]any{"AppInstanceArn": ai.AppInstanceArn,
				"AppInstanceUserId": fmt.Sprintf("m%d", i), "Name": "m", "ClientRequestToken": fmt.Sprintf("setup-m%d", i)})
			noErr(t, err)
			if status == 429 {
				time.Sleep(100 * time.Millisecond) // CreateAppInstanceUser: 10 per second
				continue
			}
			var u struct{ AppInstanceUserArn string }
			json.Unmarshal(body, &u)
			members = append(members, u.AppInstanceUserArn)
			break
		}
	}
	status, body, err = c.do(ctx, "POST", "/channels", members[0], map[string]any{"AppInstanceArn": ai.AppInstanceArn, "Name": "overload",
		"Mode": "UNRESTRICTED", "MemberArns": members[1:], "ClientRequestToken": token()})
	if err != nil || status != 201 {
		t.Fatalf("CreateChannel: %d %s %v", status, body, err)
	}
	var ch struct{ ChannelArn string }
	json.Unmarshal(body, &ch)
	path := "/channels/" + url.PathEscape(ch.ChannelArn)

	res := &overloadResult{status: map[int]int{}, errs: map[string]int{}}
	var seq atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				bearer := members[rand.IntN(len(members))]
				t0 := time.Now()
				var status int
				var h http.Header
				var body []byte
				var err error
				switch i % 4 {
				case 0, 1:
					status, h, body, err = c.doHeader(ctx, "POST", path+"/messages", bearer, map[string]any{"Content": "load", "Type": "STANDARD",
						"Persistence": "PERSISTENT", "ClientRequestToken": fmt.Sprintf("load-%d-%d", w, seq.Add(1))})
				case 2:
					status, h, body, err = c.doHeader(ctx, "GET", path+"/messages?max-results=10", bearer, nil)
				case 3:
					status, h, body, err = c.doHeader(ctx, "POST", path+"/memberships?operation=batch-create", bearer, map[string]any{"MemberArns": members[:5]})
				}
				lat := time.Since(t0)
				res.mu.Lock()
				res.total++
				if err != nil {
					res.errs[err.Error()]++
				} else {
					res.status[status]++
					res.lat = append(res.lat, lat)
					if status == http.StatusTooManyRequests && (h.Get("x-amzn-ErrorType") != "ThrottledClientException" || !bytes.Contains(body, []byte(`"Code":"Throttled"`))) {
						res.not429s++
					}
				}
				res.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.peakRSS = procStatus(p.cmd.Process.Pid, "VmHWM")
	res.rssAfter = procStatus(p.cmd.Process.Pid, "VmRSS")
	// Still serving, normally (once the bearer's rate allows).
	eventually(t, patience, func() error {
		status, body, err := c.do(ctx, "GET", path, members[0], nil)
		if err != nil || status != 200 {
			return fmt.Errorf("DescribeChannel after the load: %d %s %v", status, body, err)
		}
		return nil
	})
	return res
}

func overloadSize(t *testing.T) (int, time.Duration) {
	clients, secs := 64, 2
	if v := os.Getenv("BELFRY_OVERLOAD"); v != "" {
		c, s, ok := strings.Cut(v, ",")
		var err1, err2 error
		clients, err1 = strconv.Atoi(c)
		secs, err2 = strconv.Atoi(s)
		if !ok || err1 != nil || err2 != nil || clients < 1 || secs < 1 {
			t.Fatalf("BELFRY_OVERLOAD=%q is not clients,seconds", v)
		}
	}
	return clients, time.Duration(secs) * time.Second
}

// TestOverload: past saturation the server sheds what is over AWS's rates
// with 429 ThrottledClientException (rate limits on) or queues clients past
// --max-connections (rate limits off); it answers nothing with a 5xx, loses
// no connection, keeps serving, and its memory stays bounded (issue 6).
func TestOverload(t *testing.T) {
	clients, d := overloadSize(t)
	creds := filepath.Join(t.TempDir(), "credentials")
	writeCredentials(t, creds, "AKIALOAD load-secret admin")
	key := aws.Credentials{AccessKeyID: "AKIALOAD", SecretAccessKey: "load-secret"}
	check := func(t *testing.T, res *overloadResult, want429 bool) {
		t.Helper()
		t.Logf("%v", res)
		if len(res.errs) > 0 {
			t.Errorf("transport errors: %v", res.errs)
		}
		for code, n := range res.status {
			ok := code == 200 || code == 201 || code == 429 && want429
			if !ok {
				t.Errorf("%d answers with status %d", n, code)
			}
		}
		if want429 && res.status[429] == 0 {
			t.Errorf("no request was throttled")
		}
		if res.not429s > 0 {
			t.Errorf("%d answers 429 were not ThrottledClientException", res.not429s)
		}
		// Memory follows what is stored and the store's caches (the SQLite
		// writer's page cache is 64 MiB), not the number of clients or
		// requests: the short form peaks near 40 MiB, the long form (512
		// clients, 60 s) near 165 MiB. A leak or an unbounded queue grows
		// with the load past this.
		if res.peakRSS > 512<<10 {
			t.Errorf("peak RSS %d MiB, over 512 MiB", res.peakRSS/1024)
		}
		if res.peakRSS == 0 && runtime.GOOS == "linux" {
			t.Errorf("the server's peak RSS could not be read")
		}
	}
	t.Run("rate limits aws", func(t *testing.T) {
		p := startBelfry(t, t.TempDir(), "--credentials", creds, "--rate-limits", "aws")
		check(t, overload(t, p, key, clients, d), true)
	})
	t.Run("rate limits off, connections capped", func(t *testing.T) {
		p := startBelfry(t, t.TempDir(), "--credentials", creds, "--max-connections", strconv.Itoa(max(2, clients/8)))
		check(t, overload(t, p, key, clients, d), false)
	})
}
