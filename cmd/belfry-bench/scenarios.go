package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// maxPool is how many users the membership scenarios add to each channel at
// most: half AWS's quota of 10,000 members per channel, so that a run of any
// size spreads over channels instead of raising quotas.
const maxPool = 5000

func (b *bench) run(ctx context.Context, scenarios []string) error {
	want := map[string]bool{}
	for _, s := range scenarios {
		want[s] = true
	}
	if want["create-membership"] || want["batch-create-membership"] || want["fan-out"] {
		if err := b.writes(ctx, want); err != nil {
			return err
		}
	}
	if want["list-memberships"] {
		if err := b.lists(ctx); err != nil {
			return err
		}
	}
	if want["start"] {
		if err := b.starts(ctx); err != nil {
			return err
		}
	}
	if want["overload"] {
		if err := b.overload(ctx); err != nil {
			return err
		}
	}
	return nil
}

// writes runs the write scenarios and fan-out on one server: the --endpoint
// one, or the binary started on an empty data directory.
func (b *bench) writes(ctx context.Context, want map[string]bool) error {
	srv := &server{endpoint: b.cfg.endpoint, pid: b.cfg.pid}
	if b.cfg.belfry != "" {
		dir, err := b.tempDir("belfry-bench-writes-")
		if err != nil {
			return err
		}
		if srv, err = b.start(ctx, dir); err != nil {
			return err
		}
		defer srv.stop()
	}
	b.describe(srv)
	c := newClient(b.cfg, srv.endpoint)
	c.pid = srv.pid
	pool := 100
	if want["create-membership"] {
		pool = max(pool, b.cfg.requests)
	}
	if want["batch-create-membership"] {
		pool = max(pool, b.cfg.batchMembers)
	}
	pool = min(maxPool, (pool+99)/100*100)
	users := pool + 1
	if want["fan-out"] {
		users = max(users, b.cfg.sessions)
	}
	f, err := b.setup(ctx, c, users)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	f.pool = pool
	if want["create-membership"] {
		if err := b.createMembership(ctx, c, f); err != nil {
			return err
		}
	}
	if want["batch-create-membership"] {
		if err := b.batchCreateMembership(ctx, c, f); err != nil {
			return err
		}
	}
	if want["fan-out"] {
		if err := b.fanOut(ctx, c, f); err != nil {
			return err
		}
	}
	b.reportRSS(srv, "writes and fan-out")
	return nil
}

func (b *bench) describe(s *server) {
	how := "unknown (an --endpoint server)"
	if s.cmd != nil {
		how = "off: the server runs in the open development mode"
		if s.verified {
			how = "on (BELFRY_KEYS configured)"
		}
	}
	fmt.Fprintf(b.out, "server %s: signature verification %s\n", s.endpoint, how)
}

// fixture is an app instance with its users; users[0] owns the channels.
type fixture struct {
	appInstance string
	users       []string
	pool        int // users[1:pool+1] are added, pool (a multiple of 100) to a channel
}

// setup creates an app instance and n users, concurrently.
func (b *bench) setup(ctx context.Context, c *client, n int) (*fixture, error) {
	var ai struct{ AppInstanceArn string }
	if err := c.do(ctx, "POST", "/app-instances", "", map[string]any{"Name": "bench", "ClientRequestToken": token()}, &ai); err != nil {
		return nil, err
	}
	f := &fixture{appInstance: ai.AppInstanceArn, users: make([]string, n)}
	r, err := measureOn(c.pid, "setup: CreateAppInstanceUser", b.cfg.clients, n, 1, func(i int) error {
		var u struct{ AppInstanceUserArn string }
		err := c.do(ctx, "POST", "/app-instance-users", "", map[string]any{"AppInstanceArn": ai.AppInstanceArn,
			"AppInstanceUserId": fmt.Sprintf("u%07d", i), "Name": "user", "ClientRequestToken": token()}, &u)
		f.users[i] = u.AppInstanceUserArn
		return err
	})
	if err != nil {
		return nil, err
	}
	b.report(r)
	return f, nil
}

// channels creates n channels owned by f.users[0].
func (f *fixture) channels(ctx context.Context, c *client, n int, mode string) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		var ch struct{ ChannelArn string }
		if err := c.do(ctx, "POST", "/channels", f.users[0], map[string]any{"AppInstanceArn": f.appInstance, "Name": "bench", "Mode": mode,
			"ClientRequestToken": token()}, &ch); err != nil {
			return nil, err
		}
		out[i] = ch.ChannelArn
	}
	return out, nil
}

// The ceilings' names in the report.
const (
	ceilingName          = "ceiling (bare net/http) "
	ceilingInProcessName = "ceiling in the generator's process "
)

// ceilingInProcess serves ceilingHandler in this process.
func ceilingInProcess() (endpoint string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(ceilingHandler), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// ceilingEnv, set in its environment, makes this program the ceiling's
// server (main, and TestMain for the tests' runs).
const ceilingEnv = "BELFRY_BENCH_CEILING"

// ceilingHandler is a bare net/http handler that decodes the request JSON
// of a membership call and answers 201: what any Go server of these calls
// costs on this machine.
func ceilingHandler(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MemberArn  string
		MemberArns []string
		Type       string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, _ := json.Marshal(map[string]any{"ChannelArn": r.URL.Path, "Member": map[string]string{"Arn": in.MemberArn}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(out)
}

// serveCeiling serves ceilingHandler on a loopback port, which it prints as
// its first line, until its standard input closes.
func serveCeiling() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	srv := &http.Server{Handler: http.HandlerFunc(ceilingHandler), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// ceiling starts the ceiling's server: this program again, in a process of
// its own, as the server runs in one (in the generator's process it shares
// the generator's Go scheduler and leaves the cores far less idle: 1.2× the
// throughput there, BENCHMARKS.md). It returns the endpoint, the pid (for
// its CPU) and how to stop it.
func ceiling() (endpoint string, pid int, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ceilingEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() {
		in.Close()
		cmd.Wait()
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("the ceiling's server did not start: %w", err)
	}
	return "http://" + strings.TrimSpace(addr), cmd.Process.Pid, stop, nil
}

// withCeiling measures op against the server and the two ceilings (when
// configured) in rounds, n/rounds calls each, and reports the totals of
// each with the median of the rounds' ratios. A shared machine's speed
// drifts by ±20% within a minute: a ceiling measured once, before the
// server, put that drift into the ratio, where rounds a few seconds apart
// see the same machine (and the order turns each round, against a drift
// within one). The server's calls number 0 to n−1 over the rounds, as in
// one phase.
//
// The ceiling that compares like with like is the one in a process of its
// own, as the server is. The one in the generator's process is reported
// beside it: it shares the generator's Go scheduler, which the calls of
// neither then leave, and it was the only ceiling before (BENCHMARKS.md).
func (b *bench) withCeiling(ctx context.Context, c *client, name string, n, items int, op func(c *client, i int) error) error {
	type target struct {
		name   string
		label  string // a ceiling's, in the ratio's line
		client *client
		pid    int
		total  result
		ratios []float64
	}
	targets := []*target{{name: name, client: c, pid: c.pid}}
	if b.cfg.ceiling {
		endpoint, pid, stop, err := ceiling()
		if err != nil {
			return err
		}
		defer stop()
		inProc, stopIn, err := ceilingInProcess()
		if err != nil {
			return err
		}
		defer stopIn()
		targets = append(targets,
			&target{name: ceilingName + name, label: ceilingName, client: newClient(b.cfg, endpoint), pid: pid},
			&target{name: ceilingInProcessName + name, label: ceilingInProcessName, client: newClient(b.cfg, inProc)})
	}
	rounds := min(b.cfg.rounds, n)
	for k := range rounds {
		lo, hi := k*n/rounds, (k+1)*n/rounds
		this := make([]result, len(targets))
		for j := range targets {
			j = (j + k) % len(targets)
			t := targets[j]
			r, err := measureOn(t.pid, t.name, b.cfg.clients, hi-lo, items, func(i int) error { return op(t.client, lo+i) })
			if err != nil {
				return err
			}
			this[j] = r
			t.total.add(r)
		}
		for j, t := range targets[1:] {
			t.ratios = append(t.ratios, this[0].perSec()/this[j+1].perSec())
		}
	}
	srv := targets[0].total
	for _, t := range targets[1:] {
		b.report(t.total)
	}
	b.report(srv)
	for _, t := range targets[1:] {
		slices.Sort(t.ratios)
		b.reportRatio(srv, t.label, t.total, t.ratios)
	}
	return nil
}

// createMembership adds cfg.requests members, f.pool per channel.
func (b *bench) createMembership(ctx context.Context, c *client, f *fixture) error {
	n := b.cfg.requests
	poolSize := f.pool
	chans, err := f.channels(ctx, c, (n+poolSize-1)/poolSize, "UNRESTRICTED")
	if err != nil {
		return err
	}
	owner, pool := f.users[0], f.users[1:poolSize+1]
	return b.withCeiling(ctx, c, "CreateChannelMembership", n, 1, func(c *client, i int) error {
		return c.do(ctx, "POST", "/channels/"+esc(chans[i/poolSize])+"/memberships", owner, map[string]any{"MemberArn": pool[i%poolSize], "Type": "DEFAULT"}, nil)
	})
}

// batchCreateMembership adds cfg.batchMembers members, 100 a call, f.pool per channel.
func (b *bench) batchCreateMembership(ctx context.Context, c *client, f *fixture) error {
	const per = 100
	n := (b.cfg.batchMembers + per - 1) / per
	poolSize := f.pool
	chans, err := f.channels(ctx, c, (n*per+poolSize-1)/poolSize, "UNRESTRICTED")
	if err != nil {
		return err
	}
	owner, pool := f.users[0], f.users[1:poolSize+1]
	return b.withCeiling(ctx, c, "BatchCreateChannelMembership", n, per, func(c *client, i int) error {
		first := (i * per) % poolSize
		var out struct{ Errors []any }
		if err := c.do(ctx, "POST", "/channels/"+esc(chans[i*per/poolSize])+"/memberships?operation=batch-create", owner,
			map[string]any{"MemberArns": pool[first : first+per]}, &out); err != nil {
			return err
		}
		if len(out.Errors) > 0 {
			return fmt.Errorf("batch %d: %v", i, out.Errors[0])
		}
		return nil
	})
}

// fanOut connects cfg.sessions members of one channel, the sender included,
// each with a messaging session, and sends cfg.messages messages one after
// the other; each delivery's latency runs from the SendChannelMessage call
// to the frame read by the member's client (as e2e's BenchmarkMessageDelivery).
func (b *bench) fanOut(ctx context.Context, c *client, f *fixture) error {
	n := b.cfg.sessions
	chans, err := f.channels(ctx, c, 1, "RESTRICTED")
	if err != nil {
		return err
	}
	ch, sender, members := chans[0], f.users[0], f.users[:n]
	for i := 1; i < n; i += 100 {
		if err := c.do(ctx, "POST", "/channels/"+esc(ch)+"/memberships?operation=batch-create", sender,
			map[string]any{"MemberArns": members[i:min(i+100, n)]}, nil); err != nil {
			return err
		}
	}
	t0 := time.Now()
	conns := make([]*websocket.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	if _, err := measure("setup: connect messaging sessions", min(b.cfg.clients, 64), n, 1, func(i int) error {
		u, err := c.presign(ctx, members[i])
		if err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		conn, _, err := websocket.Dial(dctx, u, nil)
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		conn.SetReadLimit(1 << 20)
		if _, m, err := conn.Read(dctx); err != nil || !bytes.Contains(m, []byte("SESSION_ESTABLISHED")) {
			conn.CloseNow()
			return fmt.Errorf("session %d: %s %v", i, m, err)
		}
		conns[i] = conn
		return nil
	}); err != nil {
		if b.cfg.belfry == "" {
			// Past its connection cap a server queues new connections, and a
			// presigned URL expires 10 s after it was signed.
			return fmt.Errorf("%w (sessions that wait past the server's --max-connections expire: start it with BELFRY_MAX_CONNECTIONS=%d or more)", err, maxConnections(b.cfg))
		}
		return err
	}
	fmt.Fprintf(b.out, "%-44s %d sessions in %s\n", "setup: connect messaging sessions", n, time.Since(t0).Round(time.Millisecond))

	m := b.cfg.messages
	started := make([]atomic.Int64, m)
	lat := make([][]int64, m)
	for i := range lat {
		lat[i] = make([]int64, n)
	}
	var pending sync.WaitGroup
	readers, stop := context.WithCancel(ctx)
	defer stop()
	marker := []byte("bench-fanout-")
	for i, conn := range conns {
		go func() {
			for {
				_, msg, err := conn.Read(readers)
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				at := bytes.Index(msg, marker)
				if at < 0 || len(msg) < at+len(marker)+6 {
					continue
				}
				seq, err := strconv.Atoi(string(msg[at+len(marker) : at+len(marker)+6]))
				if err != nil || seq >= m || lat[seq][i] != 0 {
					continue
				}
				lat[seq][i] = max(1, now-started[seq].Load())
				pending.Done()
			}
		}()
	}
	var send time.Duration
	for seq := 0; seq < m; seq++ {
		pending.Add(n)
		t := time.Now()
		started[seq].Store(t.UnixNano())
		if err := c.do(ctx, "POST", "/channels/"+esc(ch)+"/messages", sender, map[string]any{"Content": fmt.Sprintf("bench-fanout-%06d", seq),
			"Type": "STANDARD", "Persistence": "PERSISTENT", "ClientRequestToken": token()}, nil); err != nil {
			return err
		}
		send += time.Since(t)
		done := make(chan struct{})
		go func() { pending.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			return fmt.Errorf("fan-out: message %d did not reach every session within 2 minutes", seq)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var all []time.Duration
	for _, l := range lat {
		for _, ns := range l {
			all = append(all, time.Duration(ns))
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	fmt.Fprintf(b.out, "%-44s %d sessions %d messages  delivery p50 %s  p99 %s  max %s  SendChannelMessage mean %s\n", "SendChannelMessage fan-out",
		n, m, ms(percentile(all, 0.50)), ms(percentile(all, 0.99)), ms(all[len(all)-1]), ms(send/time.Duration(m)))
	return nil
}

// lists measures one page of ListChannelMemberships and of
// ListChannelMembershipsForAppInstanceUser on a data set of each size: a
// channel of that many members, and a user member of that many channels.
func (b *bench) lists(ctx context.Context) error {
	type pages struct{ channel, user result }
	var got []pages
	for _, size := range b.cfg.listSizes {
		ds, err := b.dataset(ctx, size)
		if err != nil {
			return err
		}
		srv, err := b.start(ctx, ds.dir)
		if err != nil {
			return err
		}
		b.describe(srv)
		fmt.Fprintf(b.out, "%-44s %s\n", fmt.Sprintf("start to ready (%d memberships each)", size), ms(srv.ready))
		c := newClient(b.cfg, srv.endpoint)
		c.pid = srv.pid
		var p pages
		for _, l := range []struct {
			name, path string
			dst        *result
			field      string
		}{
			{"ListChannelMemberships", "/channels/" + esc(ds.channel) + "/memberships?max-results=50", &p.channel, "ChannelMemberships"},
			{"ListChannelMembershipsForAppInstanceUser", "/channels?scope=app-instance-user-memberships&max-results=50", &p.user, "ChannelMemberships"},
		} {
			page := func(i int) error {
				var out map[string]json.RawMessage
				if err := c.do(ctx, "GET", l.path, ds.bearer, nil, &out); err != nil {
					return err
				}
				var items []json.RawMessage
				if err := json.Unmarshal(out[l.field], &items); err != nil || len(items) != 50 || out["NextToken"] == nil {
					return fmt.Errorf("%s: want a full page of 50 and a NextToken, got %d items (%v)", l.name, len(items), err)
				}
				return nil
			}
			// One client: the cost of one page; then the configured clients: throughput.
			r, err := measureOn(c.pid, fmt.Sprintf("%s page @%d, 1 client", l.name, size), 1, b.cfg.listPages, 1, page)
			if err != nil {
				return err
			}
			b.report(r)
			*l.dst = r
			r, err = measureOn(c.pid, fmt.Sprintf("%s page @%d", l.name, size), b.cfg.clients, b.cfg.listPages, 1, page)
			if err != nil {
				return err
			}
			b.report(r)
		}
		b.reportRSS(srv, fmt.Sprintf("%d memberships each, after the lists", size))
		srv.stop()
		got = append(got, p)
	}
	if len(got) > 1 {
		first, last := got[0], got[len(got)-1]
		small, big := b.cfg.listSizes[0], b.cfg.listSizes[len(got)-1]
		fmt.Fprintf(b.out, "%-44s ListChannelMemberships %.2f, ListChannelMembershipsForAppInstanceUser %.2f (p50, 1 client)\n",
			fmt.Sprintf("page @%d / page @%d", big, small), ratio(last.channel.p50, first.channel.p50), ratio(last.user.p50, first.user.p50))
	}
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// starts measures start to ready on the largest list data set: from exec
// to the first 200 from /readyz, cfg.starts times.
func (b *bench) starts(ctx context.Context) error {
	size := b.cfg.listSizes[len(b.cfg.listSizes)-1]
	ds, err := b.dataset(ctx, size)
	if err != nil {
		return err
	}
	var times []time.Duration
	var last *server
	for i := 0; i < b.cfg.starts; i++ {
		srv, err := b.start(ctx, ds.dir)
		if err != nil {
			return err
		}
		times = append(times, srv.ready)
		if i < b.cfg.starts-1 {
			srv.stop()
		}
		last = srv
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Fprintf(b.out, "%-44s median %s  min %s  max %s  (%d starts, data in %s)\n", fmt.Sprintf("start to ready (%d memberships each)", size),
		ms(times[len(times)/2]), ms(times[0]), ms(times[len(times)-1]), len(times), filepath.Base(ds.dir))
	b.reportRSS(last, fmt.Sprintf("idle after start, %d memberships each", size))
	last.stop()
	return nil
}
