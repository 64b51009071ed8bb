package session

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/store"
)

// The WebSocket fuzz targets of issue 6: what a client may send on
// /connect (FuzzClientFrames) and what the server encodes (FuzzEncodeFrame).
// Their seeds run in every `go test`; `go test -fuzz FuzzX ./internal/session`
// explores further.

// frameBytes builds one raw WebSocket frame as a client sends it.
func frameBytes(fin bool, opcode byte, payload []byte, masked bool, declared int) []byte {
	b0 := opcode & 0x0f
	if fin {
		b0 |= 0x80
	}
	var b []byte
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	n := declared
	if n < 0 {
		n = len(payload)
	}
	switch {
	case n < 126:
		b = []byte{b0, mask | byte(n)}
	case n < 1<<16:
		b = []byte{b0, mask | 126, 0, 0}
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = []byte{b0, mask | 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	if masked {
		key := []byte{1, 2, 3, 4}
		b = append(b, key...)
		for i, c := range payload {
			b = append(b, c^key[i%4])
		}
		return b
	}
	return append(b, payload...)
}

// sessionFixture is a real session server (open mode) with one user.
type sessionFixture struct {
	srv  *Server
	http *httptest.Server
	user string
}

func newSessionFixture(tb testing.TB) *sessionFixture {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	events := bus.NewLocal()
	svc, err := service.New(ctx, st, service.Options{Bus: events})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := api.New(svc, api.OpenAuth{}, log)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(svc, api.OpenAuth{}, events, log, Config{})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler(h))
	tb.Cleanup(func() {
		s.Close(context.Background())
		hs.Close()
	})
	post := func(path, body string) map[string]any {
		resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			tb.Fatalf("setup %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	ai := post("/app-instances", `{"Name":"fuzz","ClientRequestToken":"fuzz-ai"}`)["AppInstanceArn"].(string)
	user := post("/app-instance-users", `{"AppInstanceArn":"`+ai+`","AppInstanceUserId":"u","Name":"u","ClientRequestToken":"fuzz-u"}`)["AppInstanceUserArn"].(string)
	return &sessionFixture{srv: s, http: hs, user: user}
}

// handshake opens /connect by hand and returns the connection after the 101.
func (fx *sessionFixture) handshake(tb testing.TB) (net.Conn, *bufio.Reader) {
	tb.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(fx.http.URL, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET /connect?sessionId=1&userArn=" + url.QueryEscape(fx.user) + " HTTP/1.1\r\nHost: belfry\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		tb.Fatalf("handshake: %v %v", resp, err)
	}
	return c, br
}

// established connects a real client and waits for SESSION_ESTABLISHED.
func (fx *sessionFixture) established(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(fx.http.URL, "http", "ws", 1)+"/connect?userArn="+url.QueryEscape(fx.user), nil)
	if err != nil {
		tb.Fatalf("a well-behaved client cannot connect: %v", err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(b), "SESSION_ESTABLISHED") {
		tb.Fatalf("a well-behaved client: %q %v", b, err)
	}
}

// FuzzClientFrames: whatever bytes a client sends after the upgrade (valid,
// fragmented, unmasked, oversized, reserved opcodes, garbage), the server
// neither panics nor keeps the session: it ends it, and a well-behaved
// client still connects and is served (issue 6, WebSocket frames).
func FuzzClientFrames(f *testing.F) {
	f.Add(frameBytes(true, 1, []byte(`{"hello":"server"}`), true, -1))
	f.Add(frameBytes(true, 9, []byte("ping"), true, -1))
	f.Add(frameBytes(true, 10, []byte("pong"), true, -1))
	f.Add(frameBytes(true, 8, []byte{0x03, 0xe8, 'b', 'y', 'e'}, true, -1))
	f.Add(frameBytes(true, 8, []byte{0x03}, true, -1))                             // close with a 1-byte code
	f.Add(frameBytes(true, 1, []byte("unmasked"), false, -1))                      // a protocol error
	f.Add(frameBytes(true, 2, []byte{0, 1, 2, 0xff}, true, -1))                    // binary
	f.Add(frameBytes(true, 1, []byte{0xff, 0xfe}, true, -1))                       // text that is not UTF-8
	f.Add(frameBytes(true, 3, nil, true, -1))                                      // reserved opcode
	f.Add(append([]byte{0xf1}, frameBytes(true, 1, []byte("x"), true, -1)[1:]...)) // RSV bits
	f.Add(frameBytes(true, 1, []byte("short"), true, 1<<62))                       // declared 2^62 bytes
	f.Add(frameBytes(true, 1, []byte("over the read limit"), true, 100_000))       // over the 64 KiB limit
	f.Add(append(frameBytes(false, 1, []byte("frag"), true, -1), frameBytes(true, 0, []byte("ment"), true, -1)...))
	f.Add(append(frameBytes(false, 1, []byte("frag"), true, -1), frameBytes(true, 9, []byte("ping inside"), true, -1)...))
	f.Add(frameBytes(true, 0, []byte("continuation first"), true, -1))
	f.Add(frameBytes(true, 9, make([]byte, 126), true, -1)) // a control frame over 125 bytes
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	fx := newSessionFixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, br := fx.handshake(t)
		c.Write(data)
		if tcp, ok := c.(*net.TCPConn); ok {
			tcp.CloseWrite() // the client is done; the server must end the session
		}
		io.Copy(io.Discard, br) // until the server closes its side
		c.Close()
		deadline := time.Now().Add(30 * time.Second)
		for fx.srv.Sessions(fx.user) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the session outlived its connection by 30 s after %x", data)
			}
			time.Sleep(time.Millisecond)
		}
		fx.established(t)
	})
}

// FuzzEncodeFrame: every event the server sends is one JSON text frame
// whose Headers carry the event and message types and whose Payload is a
// JSON document inside a string (SEMANTICS.md §10), whatever the strings
// inside it hold.
func FuzzEncodeFrame(f *testing.F) {
	f.Add("CREATE_CHANNEL_MESSAGE", "STANDARD", "", `hello "world" </script> \u2028`, "arn:aws:chime:us-east-1:1:app-instance/a/channel/c")
	f.Add("DELETE_CHANNEL_MEMBERSHIP", "SYSTEM", "subchannel_DELETED", "\xff\xfe invalid UTF-8", "")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, typ, msgType, reason, content, arn string) {
		ev := chime.Event{Type: typ, MessageType: msgType, Reason: reason, Payload: map[string]any{"Content": content, "ChannelArn": arn}}
		b, err := encode(ev)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var fr struct {
			Headers map[string]string
			Payload *string
		}
		if err := json.Unmarshal(b, &fr); err != nil {
			t.Fatalf("frame is not JSON: %v: %q", err, b)
		}
		if fr.Payload == nil || !json.Valid([]byte(*fr.Payload)) {
			t.Fatalf("Payload is not a JSON document in a string: %q", b)
		}
		if _, ok := fr.Headers["x-amz-chime-event-type"]; !ok {
			t.Fatalf("no event type header: %q", b)
		}
		if (reason != "") != (fr.Headers["x-amz-chime-event-reason"] != "") {
			t.Fatalf("reason %q lost or invented: %q", reason, b)
		}
	})
}
