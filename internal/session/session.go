// Package session is the messaging session of SEMANTICS.md section 10: the
// WebSocket endpoint /connect that amazon-chime-sdk-js's MessagingSession
// connects to. It accepts the upgrade, authorises the presigned URL through
// the API's Authenticator, then sends SESSION_ESTABLISHED (and the prefetch)
// and every bus event whose recipients include the connected user. Each
// connection has a bounded send queue: a client that cannot keep up is
// dropped and never slows anyone else.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
)

// Close codes. amazon-chime-sdk-js reconnects on 1001, 1006, 1011-1014 and
// on every 4xxx code except 4002, 4003 and 4401 (SEMANTICS.md §10).
const (
	// CloseUnauthorized: a presigned URL outside its validity window, a bad
	// signature or unknown key, a key whose scope does not cover userArn,
	// or a userArn that is not an existing user or bot. Also the code that
	// ends an open session whose user or bot is deleted (DeleteAppInstanceUser,
	// DeleteAppInstanceBot, DeleteAppInstance, expiry; chime.EventEndSessions):
	// the session's userArn is no longer valid, and a reconnect would be
	// refused with the same code. The SDK does not reconnect.
	CloseUnauthorized websocket.StatusCode = 4401
	// CloseTooManySessions: the user already has the maximum number of
	// sessions, or connects faster than the connect rate limit. The SDK
	// reconnects with backoff, so it gets in once another session of the
	// user ends.
	CloseTooManySessions websocket.StatusCode = 4429
	// CloseSlowConsumer: the connection's send queue overflowed or it missed
	// a pong. 1013 is "try again later"; the SDK reconnects and can catch up
	// with a prefetch.
	CloseSlowConsumer = websocket.StatusTryAgainLater
	// CloseGoingAway: the server is shutting down. The SDK reconnects.
	CloseGoingAway = websocket.StatusGoingAway
	// CloseInternal: the server failed to set up the session. The SDK reconnects.
	CloseInternal = websocket.StatusInternalError
)

// Config tunes the sessions; zero fields take the defaults.
type Config struct {
	MaxSessionsPerUser int           // concurrent sessions per user; 10, AWS's quota (SEMANTICS.md §9)
	SendQueue          int           // frames waiting per connection before it is dropped; 256
	Prefetches         int           // sessions reading their prefetch at once; 3 (the embedded store has 4 readers)
	PingInterval       time.Duration // how often each connection is pinged; 30s
	WriteTimeout       time.Duration // how long one frame, ping or pong may take; 10s
	// AllowConnect, when set, rate-limits connections per user (AWS: 1 per
	// second); a refused one is closed with CloseTooManySessions, which the
	// SDK retries with backoff.
	AllowConnect func(region, userArn string) bool
}

func (c Config) withDefaults() Config {
	if c.MaxSessionsPerUser <= 0 {
		c.MaxSessionsPerUser = 10
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 256
	}
	if c.Prefetches <= 0 {
		c.Prefetches = 3
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	return c
}

// Subscriber is the bus as the sessions see it (bus.Bus implements it).
type Subscriber interface {
	Subscribe(fn func(chime.Event)) (unsubscribe func(), err error)
}

// Interested is implemented by a bus that delivers to a node only the
// events of the recipients it declares (bus.NATS with filtering).
type Interested interface {
	Want(recipient string) (release func())
}

// Server serves /connect and delivers bus events to the connected sessions.
type Server struct {
	svc  *service.Service
	auth api.Authenticator
	log  *slog.Logger
	cfg  Config

	unsubscribe func()
	want        func(string) func() // nil unless the bus filters by recipient
	mu          sync.RWMutex
	users       map[string]map[*conn]struct{}
	closing     bool
	wg          sync.WaitGroup // one per accepted connection
	frames      atomic.Int64   // event frames queued to connections
	prefetching chan struct{}  // one token per prefetch reading the store (cfg.Prefetches)
}

// New returns a Server subscribed to bus. auth is the same Authenticator
// the REST API uses, so that signatures are verified in one place.
func New(svc *service.Service, auth api.Authenticator, bus Subscriber, log *slog.Logger, cfg Config) (*Server, error) {
	s := &Server{svc: svc, auth: auth, log: log, cfg: cfg.withDefaults(), users: map[string]map[*conn]struct{}{}}
	s.prefetching = make(chan struct{}, s.cfg.Prefetches)
	if in, ok := bus.(Interested); ok {
		s.want = in.Want
	}
	unsub, err := bus.Subscribe(s.deliver)
	if err != nil {
		return nil, fmt.Errorf("subscribe to the bus: %w", err)
	}
	s.unsubscribe = unsub
	return s, nil
}

// Handler routes /connect to the sessions and everything else to rest.
func (s *Server) Handler(rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/connect" {
			s.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// Connected returns how many sessions are open.
func (s *Server) Connected() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, conns := range s.users {
		n += len(conns)
	}
	return n
}

// Frames returns how many event frames have been queued to sessions.
func (s *Server) Frames() int64 { return s.frames.Load() }

// Sessions returns how many sessions user has open.
func (s *Server) Sessions(user string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.users[user])
}

// Close ends every session with 1001 (going away), refuses new ones, waits
// for the connections to close or ctx to end, and leaves the bus.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, conns := range s.users {
		for c := range conns {
			c.drop(CloseGoingAway, "server shutting down", false)
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("sessions still closing: %w", ctx.Err())
	}
	s.unsubscribe()
	return err
}

// frame is one WebSocket text message (SEMANTICS.md §10): Payload is the
// event's payload as a JSON string, absent for SESSION_ESTABLISHED.
type frame struct {
	Headers map[string]string `json:"Headers"`
	Payload *string           `json:"Payload,omitempty"`
}

func encode(ev chime.Event) ([]byte, error) {
	f := frame{Headers: map[string]string{"x-amz-chime-event-type": ev.Type, "x-amz-chime-message-type": ev.MessageType}}
	if ev.Reason != "" {
		f.Headers["x-amz-chime-event-reason"] = ev.Reason
	}
	if ev.Payload != nil {
		p, err := json.Marshal(ev.Payload)
		if err != nil {
			return nil, fmt.Errorf("encode %s payload: %w", ev.Type, err)
		}
		ps := string(p)
		f.Payload = &ps
	}
	return json.Marshal(f)
}

var establishedFrame, _ = encode(chime.Event{Type: chime.EventSessionEstablished, MessageType: "SYSTEM"})

// deliver is the bus subscription: it puts the event's frame on the send
// queue of every session of its recipients, without ever waiting. An
// EventEndSessions is not sent: it ends its recipients' sessions once they
// have been sent what was queued before it.
func (s *Server) deliver(ev chime.Event) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.users) == 0 {
		return // nobody connected: no recipient to look up
	}
	if ev.Type == chime.EventEndSessions {
		ev.EachRecipient(func(user string) {
			for c := range s.users[user] {
				c.end(CloseUnauthorized, ev.Reason)
			}
		})
		return
	}
	var b []byte // encoded once, when a recipient is connected
	var bad error
	n := 0
	ev.EachRecipient(func(user string) {
		for c := range s.users[user] {
			if b == nil && bad == nil {
				if b, bad = encode(ev); bad != nil {
					s.log.Error("drop event", "type", ev.Type, "channel", ev.ChannelArn, "err", bad)
				}
			}
			if bad != nil {
				return
			}
			c.send(b)
			n++
		}
	})
	s.frames.Add(int64(n))
}

// conn is one session.
type conn struct {
	user   string
	key    string // the access key id that authorised it (EndKeys)
	queue  queue
	ctx    context.Context // ends when the session is dropped with abort, or its client has gone
	abort  context.CancelFunc
	kicked chan struct{}
	once   sync.Once
	code   websocket.StatusCode
	reason string
	flush  bool // send what is queued before closing (set before kicked is closed)
}

// send queues a frame, or drops the session if its queue is full.
func (c *conn) send(b []byte) {
	if !c.queue.push(b) {
		c.drop(CloseSlowConsumer, "send queue full", true)
	}
}

// queue is a session's bounded send queue. Unlike a buffered channel of
// the same bound (6 KB a session at 256 frames), it holds memory only
// while frames wait: most sessions wait for nothing most of the time.
type queue struct {
	mu     sync.Mutex
	frames [][]byte // frames[head:] wait, oldest first
	head   int
	max    int
	ready  chan struct{} // holds a token while frames wait
}

func newQueue(max int) queue { return queue{max: max, ready: make(chan struct{}, 1)} }

// keepFrames is the backing array a drained queue keeps for the next frames.
const keepFrames = 8

// push adds b, or reports false when max frames wait already.
func (q *queue) push(b []byte) bool {
	q.mu.Lock()
	n := len(q.frames) - q.head
	if n >= q.max {
		q.mu.Unlock()
		return false
	}
	if len(q.frames) == cap(q.frames) {
		if q.head > 0 { // room at the front: move the waiting frames there
			copy(q.frames, q.frames[q.head:])
			clear(q.frames[n:])
			q.frames, q.head = q.frames[:n], 0
		} else { // full: double, but never past max
			grown := make([][]byte, n, min(max(2*n, 1), q.max))
			copy(grown, q.frames)
			q.frames = grown
		}
	}
	q.frames = append(q.frames, b)
	q.mu.Unlock()
	q.signal()
	return true
}

// pop takes the oldest frame; false when none waits. It leaves the token
// in ready while more wait.
func (q *queue) pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.frames) {
		return nil, false
	}
	b := q.frames[q.head]
	q.frames[q.head] = nil
	q.head++
	switch {
	case q.head < len(q.frames):
		q.signal()
	case cap(q.frames) > keepFrames:
		q.frames, q.head = nil, 0 // a burst is over: give its array back
	default:
		q.frames, q.head = q.frames[:0], 0
	}
	return b, true
}

// len is how many frames wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.frames) - q.head
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// EndKeys ends, with 4401 (which the JS SDK does not reconnect on), every
// session authorised by one of the access key ids keys: those a reload
// revoked, rotated or re-scoped. It returns how many it ended.
func (s *Server) EndKeys(keys map[string]bool) int {
	if len(keys) == 0 {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, conns := range s.users {
		for c := range conns {
			if keys[c.key] {
				c.drop(CloseUnauthorized, "credentials revoked", false)
				n++
			}
		}
	}
	return n
}

// drop ends the session with code; abort also cuts a write in progress (for
// a client that does not read, a close frame would never get through); with
// none in progress, the close frame is sent.
func (c *conn) drop(code websocket.StatusCode, reason string, abort bool) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.kicked)
		if abort {
			c.abort()
		}
	})
}

// ended reports whether the session has been dropped or ended.
func (c *conn) ended() bool {
	select {
	case <-c.kicked:
		return true
	default:
		return false
	}
}

// end closes the session with code once the frames already queued are sent.
func (c *conn) end(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.code, c.reason, c.flush = code, reason, true
		close(c.kicked)
	})
}

// ServeHTTP is /connect: upgrade first, then authorise and either close with
// a 4xxx code or establish the session (SEMANTICS.md §10).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user, sessionID := q.Get("userArn"), q.Get("sessionId")
	prefetch, sortBy := q.Get("prefetch-on") == "connect", q.Get("prefetch-sort-by")
	principal, authErr := s.auth.Authenticate(r, nil)
	if authErr == nil {
		authErr = api.AuthorizeConnect(principal, user)
	}
	// Counted before the upgrade, under the lock Close takes, so that Close
	// waits for every connection it did not refuse.
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	// What the connection must undo: when ServeHTTP returns or, once the
	// session is established, when it ends.
	var cleanup undo
	defer func() { cleanup.run() }()
	if !closing {
		cleanup.add(s.wg.Done)
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Browser apps connect from their own origin; the presigned URL,
		// not a cookie, is what authorises the session.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered with an HTTP error
	}
	log := s.log.With("user", user, "session_id", sessionID)
	ctx, cancel := context.WithCancel(context.Background())
	cleanup.add(cancel)

	if authErr != nil {
		log.Info("session refused", "err", authErr)
		ws.Close(CloseUnauthorized, "Unauthorized")
		return
	}
	// userArn must be an existing user or bot; false when the session is refused.
	exists := func() bool {
		_, err := s.svc.SessionUser(ctx, user)
		switch {
		case err == nil:
			return true
		case chime.KindOf(err) == chime.KindUnauthorized:
			log.Info("session refused", "err", err, "access_key", principal.AccessKeyID)
			ws.Close(CloseUnauthorized, "Unauthorized")
		default:
			log.Error("session setup failed", "err", err)
			ws.Close(CloseInternal, "Internal error")
		}
		return false
	}
	if !exists() {
		return
	}
	if s.cfg.AllowConnect != nil && !s.cfg.AllowConnect(principal.Region, user) {
		log.Info("session refused", "reason", "connect rate exceeded")
		ws.Close(CloseTooManySessions, "connect rate exceeded")
		return
	}
	c := &conn{user: user, key: principal.AccessKeyID, queue: newQueue(s.cfg.SendQueue), kicked: make(chan struct{})}
	c.ctx, c.abort = context.WithCancel(ctx)
	// The bus interest in user is declared by each session, before it is
	// registered and not under s.mu: with NATS, Want waits for the server to
	// confirm the subscription, and a stalled NATS must not hold up every
	// other session's registration and every delivery with it.
	if s.want != nil {
		cleanup.add(s.want(user))
	}
	if code, reason := s.add(c); code != 0 {
		log.Info("session refused", "reason", reason)
		ws.Close(code, reason)
		return
	}
	cleanup.add(func() { s.remove(c) })
	// Checked again now that c is registered: the EventEndSessions of a
	// deletion committed since the first check found no session to end,
	// while that of one committed from now on finds c (add has registered
	// it and, with NATS, subscribed to the user's bucket).
	if !exists() {
		return
	}
	log.Debug("session established")
	// The session runs on a goroutine of its own, and this one ends, with
	// the stack the signature check and the store reads above grew and the
	// request it holds: 16 KB a session (BENCHMARKS.md, session 10).
	go s.serve(c, ws, log, prefetch, sortBy, cleanup)
	cleanup = nil
}

// undo is what a connection must undo when it ends, last added first.
type undo []func()

func (u *undo) add(f func()) { *u = append(*u, f) }

func (u undo) run() {
	for i := len(u) - 1; i >= 0; i-- {
		u[i]()
	}
}

// serve runs an established session until it ends, then undoes its setup.
// A panic ends the session, not the server, as net/http would have had it.
func (s *Server) serve(c *conn, ws *websocket.Conn, log *slog.Logger, prefetch bool, sortBy string, cleanup undo) {
	defer cleanup.run()
	defer func() {
		if p := recover(); p != nil {
			log.Error("session failed", "panic", p, "stack", string(debug.Stack()))
			ws.CloseNow()
		}
	}()
	s.run(c, ws, log, prefetch, sortBy)
}

// add registers c, or returns the code to close it with.
func (s *Server) add(c *conn) (websocket.StatusCode, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return CloseGoingAway, "server shutting down"
	}
	if len(s.users[c.user]) >= s.cfg.MaxSessionsPerUser {
		return CloseTooManySessions, fmt.Sprintf("at most %d sessions per user", s.cfg.MaxSessionsPerUser)
	}
	if s.users[c.user] == nil {
		s.users[c.user] = map[*conn]struct{}{}
	}
	s.users[c.user][c] = struct{}{}
	return 0, ""
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users[c.user], c)
	if len(s.users[c.user]) == 0 {
		delete(s.users, c.user)
	}
}

// prefetch reads c's CHANNEL_DETAILS, cfg.Prefetches sessions at most at
// once, so that a burst of connects leaves store readers to the API; none
// for a client that has gone (c.ctx done) or a session ended meanwhile
// (c.kicked: its user deleted, its key revoked, the server closing), waiting
// or between channels. c.ctx itself is not cancelled for the end: the
// session's close frame must still be written.
func (s *Server) prefetch(c *conn, sortBy string) ([]chime.Event, error) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	go func() {
		select {
		case <-c.kicked:
			cancel()
		case <-ctx.Done():
		}
	}()
	select {
	case s.prefetching <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.prefetching }()
	return s.svc.Prefetch(ctx, c.user, sortBy)
}

// run writes SESSION_ESTABLISHED, the prefetch, then the queue, and pings,
// until the client goes or the session is dropped. It is the connection's
// only writer of data frames, so frames keep their order.
func (s *Server) run(c *conn, ws *websocket.Conn, log *slog.Logger, prefetch bool, sortBy string) {
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		// Clients send nothing the session uses; reading keeps pongs and the
		// close handshake flowing. Not on c.ctx: a read whose context ends
		// closes the connection, and a drop with abort (a missed pong, a
		// full queue) must cut only a write in progress, so that a client
		// still reading gets the close frame (1013) that closeWith sends.
		// Every way out of run closes ws, which ends this read.
		ws.SetReadLimit(64 << 10)
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				// The client has gone (or run is closing ws): what the
				// session still does for it, a prefetch first, stops.
				c.abort()
				return
			}
		}
	}()
	closeWith := func() {
		select {
		case <-c.kicked:
			s.remove(c) // free the slot at once; the close handshake may take a while
			ws.Close(c.code, c.reason)
			log.Debug("session dropped", "code", int(c.code), "reason", c.reason)
		default:
			ws.CloseNow()
		}
		<-readerDone
	}
	write := func(b []byte) bool {
		ctx, cancel := context.WithTimeout(c.ctx, s.cfg.WriteTimeout)
		defer cancel()
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			c.drop(CloseSlowConsumer, "write failed", true)
			return false
		}
		return true
	}
	if !write(establishedFrame) {
		closeWith()
		return
	}
	if prefetch {
		events, err := s.prefetch(c, sortBy)
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Error("prefetch failed", "err", err)
		}
		for _, ev := range events {
			if c.ended() {
				break // what was read before the end is not sent after it
			}
			b, err := encode(ev)
			if err != nil {
				log.Error("prefetch encode", "err", err)
				continue
			}
			if !write(b) {
				closeWith()
				return
			}
		}
	}
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	var pinging atomic.Bool
	for {
		select {
		case <-c.queue.ready:
			if b, ok := c.queue.pop(); ok && !write(b) {
				closeWith()
				return
			}
		case <-ping.C:
			if !pinging.CompareAndSwap(false, true) {
				continue // the last ping is still waiting for its pong
			}
			go func() {
				defer pinging.Store(false)
				ctx, cancel := context.WithTimeout(c.ctx, s.cfg.WriteTimeout)
				defer cancel()
				if err := ws.Ping(ctx); err != nil {
					c.drop(CloseSlowConsumer, "no pong", true)
				}
			}()
		case <-c.kicked:
			// After end, what is queued now (all that was queued before end,
			// perhaps a few frames more), then the close.
			for n := c.queue.len(); c.flush && n > 0; n-- {
				if b, ok := c.queue.pop(); !ok || !write(b) {
					break
				}
			}
			closeWith()
			return
		case <-readerDone:
			closeWith()
			return
		}
	}
}
