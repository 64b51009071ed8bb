package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/belfry/belfry/internal/bus"
)

// cutProxy is a TCP proxy whose link can be cut (listener closed, every
// connection reset) and restored on the same address: a database or broker
// that goes away and comes back. It can also stall: hold what the target
// sends, the connections staying open, as a broker that hangs.
type cutProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	held   chan struct{}   // while stalled: closed by resume
	sent   strings.Builder // what clients sent while stalled
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	p := &cutProxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go p.pipe(up, c, false)
			go p.pipe(c, up, true)
		}
	}()
}

// pipe copies src to dst until either ends; what the target sends
// (fromTarget) waits while the proxy is stalled, and what clients send
// then is recorded.
func (p *cutProxy) pipe(dst, src net.Conn, fromTarget bool) {
	defer func() { dst.Close(); src.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			held := p.held
			if held != nil && !fromTarget {
				p.sent.Write(buf[:n])
			}
			p.mu.Unlock()
			if held != nil && fromTarget {
				<-held
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// stall holds what the target sends until resume (or cut).
func (p *cutProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = make(chan struct{})
	p.sent.Reset()
}

func (p *cutProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
}

// sentWhileStalled is what clients have sent since stall.
func (p *cutProxy) sentWhileStalled() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent.String()
}

// cut closes the listener and resets every open connection.
func (p *cutProxy) cut() {
	p.resume()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// restore listens again on the same address.
func (p *cutProxy) restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port may linger briefly after the cut
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("restore proxy: %v", err)
	}
	p.serve(ln)
}

// outageWriters creates users through e until stop is closed and records the
// acknowledged ones; every failure must be a 503 (issue 5: never a hang or a 500).
func outageWriters(t *testing.T, e *env, ai string, stop <-chan struct{}) (acked *sync.Map, failures *atomic.Int64) {
	acked, failures = &sync.Map{}, &atomic.Int64{}
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d", seq.Add(1))
				ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
				out, err := e.ID.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
					AppInstanceUserId: aws.String(id), Name: aws.String(id), ClientRequestToken: aws.String(token())})
				cancel()
				if err == nil {
					acked.Store(*out.AppInstanceUserArn, true)
					continue
				}
				failures.Add(1)
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("a request hung during the outage: %v", err)
					return
				}
				if code := errStatus(err); code != 503 {
					t.Errorf("during the outage: status %d (%v), want 503", code, err)
					return
				}
				// The cause (the database's address and user) is for the log, not the caller.
				if msg := errMessage(err); !strings.HasPrefix(msg, "The service is unavailable for a moment") {
					t.Errorf("during the outage: 503 message %q tells the caller more than to retry", msg)
					return
				}
			}
		}()
	}
	t.Cleanup(wg.Wait)
	return acked, failures
}

// TestPostgresOutage cuts the link to PostgreSQL while writes run and
// restores it: the errors are 503s, every acknowledged write is there
// afterwards and service resumes by itself (issue 5).
func TestPostgresOutage(t *testing.T) {
	dsn := os.Getenv(onPostgresEnv)
	if dsn == "" {
		t.Skip("needs PostgreSQL: this test runs in TestSuiteOnPostgres")
	}
	target := storeTarget(t)
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	e := &env{t: t, ctx: context.Background(), Dir: u.String()}
	e.start()
	ai := e.appInstance("outage")

	stop := make(chan struct{})
	acked, failures := outageWriters(t, e, ai, stop)
	waitAcked := func(n int) {
		t.Helper()
		deadline := time.Now().Add(patience)
		for count(acked) < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d writes acknowledged, waiting for %d", count(acked), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitAcked(20)
	proxy.cut()
	deadline := time.Now().Add(patience)
	for failures.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if failures.Load() == 0 {
		t.Fatal("no request failed while PostgreSQL was cut off")
	}
	proxy.restore()
	before := count(acked)
	waitAcked(before + 20) // service resumed by itself
	close(stop)
	time.Sleep(100 * time.Millisecond)

	acked.Range(func(k, _ any) bool {
		_, err := e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(k.(string))})
		if err != nil {
			t.Errorf("acknowledged user %s lost: %v", k, err)
		}
		return true
	})
	t.Logf("%d writes acknowledged, %d refused with 503 during the outage", count(acked), failures.Load())
}

// natsFlushTimeout is how long nats.go's Flush waits for the server's
// answer before it gives up: the longest a stalled NATS can hold a Want.
const natsFlushTimeout = 10 * time.Second

// TestNATSStallHoldsOnlyItsBucket: while NATS hangs (its link open, nothing
// answered), a session whose user's bucket this node has not subscribed to
// yet waits for NATS to confirm the subscription, so that it misses no
// event. That wait must hold up no other session: a second session of a
// user whose bucket is subscribed is established at once (before, the
// first held the session registry's lock through its flush, and with it
// every registration, removal and delivery of the node for up to 10 s).
func TestNATSStallHoldsOnlyItsBucket(t *testing.T) {
	u, err := url.Parse(startNATS(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.addr
	e := &env{t: t, ctx: context.Background(), Dir: storeTarget(t)}
	e.natsURL = u.String()
	e.start()
	ai := e.appInstance("stall")
	first := e.user(ai, "first")
	other := ""
	for i := 0; other == ""; i++ {
		if arn := e.user(ai, fmt.Sprintf("other-%d", i)); bus.BucketOf(arn) != bus.BucketOf(first) {
			other = arn
		}
	}
	e.connect(first)

	start := time.Now()
	proxy.stall()
	pending := e.dial(e.presignedURL(other, time.Now().UTC(), nil))
	pending.user = other
	sub := fmt.Sprintf("SUB %s%d ", bus.SubjectPrefix, bus.BucketOf(other))
	eventually(t, patience, func() error {
		if !strings.Contains(proxy.sentWhileStalled(), sub) {
			return errors.New("the node has not subscribed to the other user's bucket yet")
		}
		return nil
	})
	e.connect(first) // its bucket is subscribed: nothing to wait for
	if took := time.Since(start); took >= natsFlushTimeout {
		t.Fatalf("a session of a subscribed bucket was established %v into the stall: it waited for another bucket's flush to time out", took)
	}
	select {
	case f := <-pending.frames:
		t.Fatalf("a session was established (%s) before NATS confirmed its bucket's subscription", f.Raw)
	default:
	}

	proxy.resume()
	if f := pending.next(); f.Type() != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame for the other user is %s, want SESSION_ESTABLISHED", f.Raw)
	}
}

// TestNATSOutage stops the NATS server while writes run and starts it again:
// changes are refused with 503 while events cannot travel, accepted again
// afterwards, and sessions receive events again (issue 5).
func TestNATSOutage(t *testing.T) {
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats did not start")
	}
	addr := ns.Addr().(*net.TCPAddr)
	e := &env{t: t, ctx: context.Background(), Dir: storeTarget(t)}
	e.natsURL = ns.ClientURL()
	e.start()
	ai := e.appInstance("outage")
	owner := e.user(ai, "owner")
	ch := e.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	sess := e.connect(owner)

	ns.Shutdown()
	ns.WaitForShutdown()
	// Once the node sees NATS gone, a change is a 503 and is not applied;
	// sends accepted before it noticed are ordinary acknowledged messages.
	accepted := 0
	eventually(t, patience, func() error {
		_, err := e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner),
			Content: aws.String("during"), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
			ClientRequestToken: aws.String(token())})
		if err == nil {
			accepted++
			return errors.New("accepted: NATS not noticed yet")
		}
		if errStatus(err) != 503 {
			t.Fatalf("send while NATS is down: %v, want a 503", err)
		}
		return nil
	})
	list, err := e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
	noErr(t, err) // reads go on
	if len(list.ChannelMessages) != accepted {
		t.Fatalf("%d messages stored, %d acknowledged: a refused message was stored", len(list.ChannelMessages), accepted)
	}

	opts2 := &natsserver.Options{Host: "127.0.0.1", Port: addr.Port, NoLog: true, NoSigs: true}
	ns2, err := natsserver.NewServer(opts2)
	if err != nil {
		t.Fatal(err)
	}
	go ns2.Start()
	if !ns2.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats did not restart")
	}
	t.Cleanup(ns2.Shutdown)
	var sent *chimesdkmessaging.SendChannelMessageOutput
	eventually(t, patience, func() error {
		sent, err = e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner),
			Content: aws.String("back"), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
			ClientRequestToken: aws.String(token())})
		return err
	})
	for {
		f := sess.next()
		var m struct{ MessageId string }
		if f.Type() == "CREATE_CHANNEL_MESSAGE" {
			f.payload(t, &m)
			if m.MessageId == *sent.MessageId {
				return
			}
		}
	}
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}
