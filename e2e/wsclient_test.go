package e2e

// The messaging session as the tests see it: the bus and session server the
// harness wires into every test server, a WebSocket client that presigns its
// /connect URL as amazon-chime-sdk-js does, and a barrier that tells when a
// client has received everything sent before it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/session"
)

// sessionRuntime is the part of a test server that carries events: the bus
// the service publishes to and the session server at /connect.
type sessionRuntime struct {
	Bus     bus.Bus
	Ses     *session.Server
	sesCfg  session.Config
	natsURL string // when set, the bus is NATS (filtering by recipient) instead of in-process
}

// startBus returns the bus for a starting server.
func (e *env) startBus() bus.Bus {
	e.Bus = bus.NewLocal()
	if e.natsURL != "" {
		nb, err := bus.NewNATS(e.natsURL, bus.NATSOptions{Filter: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			e.t.Fatal(err)
		}
		e.Bus = nb
	}
	return e.Bus
}

// apiOptions are the API server's options for the bus: with NATS, changes
// are refused with 503 while it is unreachable, as cmd/belfry does.
func (e *env) apiOptions() []api.Option {
	if nb, ok := e.Bus.(*bus.NATS); ok {
		return []api.Option{api.WithWriteHealth(nb.Healthy)}
	}
	return nil
}

// startSessions returns the server's handler: /connect to the sessions, the
// rest to the API.
func (e *env) startSessions(svc *service.Service, rest http.Handler) http.Handler {
	e.t.Helper()
	var err error
	e.Ses, err = session.New(svc, e.authenticator(), e.Bus, slog.New(slog.NewTextHandler(io.Discard, nil)), e.sesCfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.Ses.Handler(rest)
}

// stopSessions closes the sessions (1001) and the bus.
func (e *env) stopSessions() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if e.Ses != nil {
		e.Ses.Close(ctx)
	}
	if e.Bus != nil {
		e.Bus.Close()
	}
}

// newEnvWithSessions is newEnv with the given session settings.
func newEnvWithSessions(t *testing.T, cfg session.Config, opts ...envOption) *env {
	t.Helper()
	e := newEnv(t, opts...)
	e.sesCfg = cfg
	e.restart()
	return e
}

// patience bounds a wait for something that must happen; it is a deadline
// against hangs, not a performance threshold.
const patience = 30 * time.Second

// presignedURL returns the ws:// /connect URL for user, presigned the way
// amazon-chime-sdk-js does it (SigV4 query, service chime, X-Amz-Expires=10,
// SignedHeaders=host), signed at signedAt. extra adds or overrides query
// parameters (prefetch-on, prefetch-sort-by, ...).
func (e *env) presignedURL(user string, signedAt time.Time, extra url.Values) string {
	e.t.Helper()
	u, err := url.Parse(e.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	u.Path = "/connect"
	q := url.Values{}
	q.Set("X-Amz-Expires", "10")
	q.Set("X-Amzn-Version", "3.0.0")
	q.Set("X-Amzn-User-Agent", "go-test-1")
	q.Set("sessionId", "4242")
	if user != "" {
		q.Set("userArn", user)
	}
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	signed, _, err := v4.NewSigner().PresignHTTP(e.ctx, aws.Credentials{AccessKeyID: testAccount, SecretAccessKey: "secret"}, req,
		hex.EncodeToString(empty[:]), "chime", "us-east-1", signedAt)
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Replace(signed, "http", "ws", 1)
}

// wsFrame is one frame as the client received it.
type wsFrame struct {
	Headers map[string]string
	Payload *string
	Raw     string
}

func (f wsFrame) Type() string { return f.Headers["x-amz-chime-event-type"] }

// payload decodes the frame's Payload string (a JSON document inside a JSON
// string, SEMANTICS.md §10) into v.
func (f wsFrame) payload(t *testing.T, v any) {
	t.Helper()
	if f.Payload == nil {
		t.Fatalf("%s frame has no Payload: %s", f.Type(), f.Raw)
	}
	if err := json.Unmarshal([]byte(*f.Payload), v); err != nil {
		t.Fatalf("%s Payload is not a JSON document in a string: %v: %s", f.Type(), err, f.Raw)
	}
}

// wsClient is a connected messaging session read by a goroutine.
type wsClient struct {
	t      *testing.T
	user   string
	conn   *websocket.Conn
	frames chan wsFrame
	done   chan struct{} // closed when the connection has ended
	err    error         // why it ended, once done is closed
}

// dial opens a WebSocket to rawURL and starts reading it; it fails the test
// only if the upgrade itself fails.
func (e *env) dial(rawURL string) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, patience)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, rawURL, nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", rawURL, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		e.t.Fatalf("upgrade answered %s", resp.Status)
	}
	conn.SetReadLimit(16 << 20)
	c := &wsClient{t: e.t, conn: conn, frames: make(chan wsFrame, 100_000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			typ, b, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			var f wsFrame
			if typ != websocket.MessageText {
				f.Raw = fmt.Sprintf("non-text frame %v", typ)
			} else if err := json.Unmarshal(b, &f); err != nil {
				f.Raw = "not JSON: " + string(b)
			} else {
				f.Raw = string(b)
			}
			c.frames <- f
		}
	}()
	e.t.Cleanup(func() { conn.CloseNow() })
	return c
}

// connect opens a session for user with a freshly presigned URL and waits
// for SESSION_ESTABLISHED.
func (e *env) connect(user string, extra ...url.Values) *wsClient {
	e.t.Helper()
	q := url.Values{}
	for _, x := range extra {
		for k, v := range x {
			q[k] = v
		}
	}
	c := e.dial(e.presignedURL(user, time.Now().UTC(), q))
	c.user = user
	if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
		e.t.Fatalf("first frame for %s is %s, want SESSION_ESTABLISHED", user, f.Raw)
	}
	return c
}

// next returns the next frame; it fails the test if the connection ends first.
func (c *wsClient) next() wsFrame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("session of %s ended: %v", c.user, c.err)
	case <-time.After(patience):
		c.t.Fatalf("session of %s: no frame within %v", c.user, patience)
	}
	return wsFrame{}
}

// closed waits for the connection to end and returns its close code (-1
// when it ended without a close frame), skipping any frames before it.
func (c *wsClient) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
		return websocket.CloseStatus(c.err)
	case <-time.After(patience):
		c.t.Fatalf("session of %s still open after %v", c.user, patience)
	}
	return 0
}

// wantClose fails unless the connection is closed with code and no frame
// came before the close.
func (c *wsClient) wantClose(code websocket.StatusCode) {
	c.t.Helper()
	got := c.closed()
	select {
	case f := <-c.frames:
		c.t.Fatalf("got frame %s before the close", f.Raw)
	default:
	}
	if got != code {
		c.t.Fatalf("close code %d (%v), want %d", got, c.err, code)
	}
}

// barrier tells when clients have received every event sent before it. All
// its users are members of one channel; sync updates that channel and reads
// each client up to the UPDATE_CHANNEL it causes. A session receives its
// events in the order they are published, so an event a client has not
// received by then is never coming.
type barrier struct {
	e       *env
	channel string
	bearer  string
	seq     int
}

// newBarrier creates the barrier channel with users as members, and drains
// the setup's events from clients.
func (e *env) newBarrier(ai string, users []string, clients ...*wsClient) *barrier {
	e.t.Helper()
	b := &barrier{e: e, bearer: e.user(ai, fmt.Sprintf("barrier-%d", time.Now().UnixNano())), channel: ""}
	b.channel = e.channel(ai, b.bearer, "RESTRICTED", "PRIVATE")
	for i := 0; i < len(users); i += 100 {
		end := min(i+100, len(users))
		_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{
			ChannelArn: aws.String(b.channel), MemberArns: users[i:end], ChimeBearer: aws.String(b.bearer), Type: types.ChannelMembershipTypeDefault})
		noErr(e.t, err)
	}
	b.sync(clients...)
	return b
}

// sync returns, for each client, the frames it received before the barrier.
func (b *barrier) sync(clients ...*wsClient) map[*wsClient][]wsFrame {
	b.e.t.Helper()
	b.seq++
	mark := fmt.Sprintf("barrier-%d", b.seq)
	_, err := b.e.Msg.UpdateChannel(b.e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(b.channel),
		Name: aws.String("barrier"), Metadata: aws.String(mark), ChimeBearer: aws.String(b.bearer)})
	noErr(b.e.t, err)
	out := map[*wsClient][]wsFrame{}
	for _, c := range clients {
		out[c] = []wsFrame{} // a client that got nothing is in the map with no frames
		for {
			f := c.next()
			if f.Type() == "UPDATE_CHANNEL" && f.Payload != nil && strings.Contains(*f.Payload, `"Metadata":"`+mark+`"`) {
				break
			}
			if f.Type() == "UPDATE_CHANNEL" && f.Payload != nil && strings.Contains(*f.Payload, `"barrier-`) &&
				strings.Contains(*f.Payload, b.channel) {
				continue // an earlier barrier's update
			}
			out[c] = append(out[c], f)
		}
	}
	return out
}
