package e2e

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/coder/websocket"
)

// BenchmarkMessageDelivery measures how long one message takes to reach
// every member of a channel, each connected with a messaging session: from
// the SendChannelMessage call (REST, through the real SDK) to the
// CREATE_CHANNEL_MESSAGE frame read by each member's WebSocket client. The
// server is the built binary on one node (embedded store, in-process bus);
// the clients run in the benchmark process, on the same machine. It reports
// the p50, p99 and max of the per-member latencies over all messages,
// send-ms (the mean time SendChannelMessage takes to answer: the commit and
// the recipients' lookup), and ns/op, the time until the last member has
// the message.
//
//	go test ./e2e -run '^$' -bench MessageDelivery -benchtime 20x
//
// Setup (10,000 users, memberships and connections) takes a while and is
// done once per size. Results are in BENCHMARKS.md.
func BenchmarkMessageDelivery(outer *testing.B) {
	b := outer
	for _, members := range []int{1_000, 10_000} {
		var f *deliveryFixture
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			if f == nil {
				// Go calls this function again for each b.N: the server and
				// its sessions live until the size is done, not one call.
				f = newDeliveryFixture(outliving{b, outer}, members)
			}
			f.run(b)
		})
		if f != nil {
			f.close()
		}
	}
}

// outliving is a TB whose cleanups and temporary directories belong to a
// longer-lived test (life); failures go to the TB itself.
type outliving struct {
	testing.TB
	life testing.TB
}

func (o outliving) Cleanup(f func()) { o.life.Cleanup(f) }
func (o outliving) TempDir() string  { return o.life.TempDir() }

type deliveryFixture struct {
	proc    *belfryProc
	msg     *chimesdkmessaging.Client
	channel string
	sender  string
	clients []*websocket.Conn

	seq     atomic.Int64   // the message being delivered
	started []atomic.Int64 // per message seq: UnixNano when SendChannelMessage was called
	lat     [][]int64      // per message seq, per client: latency in ns
	pending sync.WaitGroup // clients yet to receive the current message
	stop    context.CancelFunc
}

const benchMaxMessages = 100_000

// newDeliveryFixture starts the binary and a channel of exactly members
// members (the sender included; AWS's quota is 10,000 per channel), each
// with one connected session.
func newDeliveryFixture(b testing.TB, members int) *deliveryFixture {
	b.Helper()
	start := time.Now()
	p := startBelfry(b, b.TempDir(), "--log-level", "error")
	id, msg := p.clients()
	ctx := context.Background()
	ai, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("bench"), ClientRequestToken: aws.String(token())})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]string, members)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < members; i += 16 {
				out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: ai.AppInstanceArn,
					AppInstanceUserId: aws.String(fmt.Sprintf("u%05d", i)), Name: aws.String("u"), ClientRequestToken: aws.String(fmt.Sprintf("tok-bench-%d", i))})
				if err != nil {
					errs <- err
					return
				}
				users[i] = aws.ToString(out.AppInstanceUserArn)
			}
		}(w)
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	f := &deliveryFixture{proc: p, msg: msg, sender: users[0], started: make([]atomic.Int64, benchMaxMessages)}
	ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: ai.AppInstanceArn, Name: aws.String("bench"),
		ChimeBearer: aws.String(f.sender), ClientRequestToken: aws.String(token()), Mode: types.ChannelModeRestricted})
	if err != nil {
		b.Fatal(err)
	}
	f.channel = aws.ToString(ch.ChannelArn)
	for i := 1; i < members; i += 100 {
		_, err := msg.BatchCreateChannelMembership(ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: ch.ChannelArn,
			MemberArns: users[i:min(i+100, members)], ChimeBearer: aws.String(f.sender)})
		if err != nil {
			b.Fatal(err)
		}
	}
	setupUsers := time.Since(start)

	// One session per member, dialled 64 at a time.
	var readers context.Context
	readers, f.stop = context.WithCancel(context.Background())
	f.clients = make([]*websocket.Conn, members)
	sem := make(chan struct{}, 64)
	base := "ws://" + p.Addr + "/connect?userArn="
	for i := range users {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			dctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			c, _, err := websocket.Dial(dctx, base+users[i], nil)
			if err != nil {
				errs <- err
				return
			}
			c.SetReadLimit(1 << 20)
			if _, m, err := c.Read(dctx); err != nil || !bytes.Contains(m, []byte("SESSION_ESTABLISHED")) {
				errs <- fmt.Errorf("session %d: %s %v", i, m, err)
				return
			}
			f.clients[i] = c
		}(i)
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	for i, c := range f.clients {
		go f.read(readers, i, c)
	}
	b.Logf("%d members: users and memberships in %v, sessions in %v", members, setupUsers.Round(time.Millisecond), (time.Since(start) - setupUsers).Round(time.Millisecond))
	return f
}

var benchMarker = []byte("bench-")

// read records, for each message frame, the time since its send started.
func (f *deliveryFixture) read(ctx context.Context, i int, c *websocket.Conn) {
	for {
		_, m, err := c.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		at := bytes.Index(m, benchMarker)
		if at < 0 || len(m) < at+len(benchMarker)+6 {
			continue
		}
		seq, err := strconv.Atoi(string(m[at+len(benchMarker) : at+len(benchMarker)+6]))
		if err != nil || seq >= len(f.lat) {
			continue
		}
		f.lat[seq][i] = now - f.started[seq].Load()
		f.pending.Done()
	}
}

func (f *deliveryFixture) run(b *testing.B) {
	ctx := context.Background()
	first := len(f.lat)
	if first+b.N > benchMaxMessages {
		b.Fatalf("more than %d messages", benchMaxMessages)
	}
	for i := 0; i < b.N; i++ {
		f.lat = append(f.lat, make([]int64, len(f.clients)))
	}
	var sendTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq := first + i
		f.pending.Add(len(f.clients))
		t0 := time.Now()
		f.started[seq].Store(t0.UnixNano())
		_, err := f.msg.SendChannelMessage(ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.channel),
			Content: aws.String(fmt.Sprintf("bench-%06d", seq)), Type: types.ChannelMessageTypeStandard,
			Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(f.sender), ClientRequestToken: aws.String(token())})
		if err != nil {
			b.Fatal(err)
		}
		sendTime += time.Since(t0)
		done := make(chan struct{})
		go func() { f.pending.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("message %d did not reach every member within 2 minutes", seq)
		}
	}
	b.StopTimer()
	var all []int64
	for _, l := range f.lat[first:] {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(sendTime.Microseconds())/1e3/float64(b.N), "send-ms")
}

// close ends the sessions and the server.
func (f *deliveryFixture) close() {
	f.stop()
	for _, c := range f.clients {
		if c != nil {
			c.CloseNow()
		}
	}
	f.proc.cmd.Process.Kill()
	<-f.proc.exited
}
