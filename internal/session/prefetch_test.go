package session

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/store"
)

type anyone struct{}

func (anyone) Authenticate(*http.Request, []byte) (chime.Principal, error) {
	return chime.Principal{Region: "us-east-1", Account: "123456789012", Scope: chime.Scope{Kind: chime.ScopeAccount}}, nil
}

// TestPrefetchQueueSeesTheEnd: a session waiting for a prefetch slot is
// ended at once when its user is deleted (4401), not once a slot comes
// free: every slot is held here, as slow prefetches of others would.
func TestPrefetchQueueSeesTheEnd(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := service.New(ctx, st, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/p"
	user := ai + "/user/u"
	now := time.Now()
	if err := st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "p", Created: now, Updated: now}); err != nil {
			return err
		}
		return tx.InsertIdentity(chime.AppInstanceUser{Arn: user, AppInstanceArn: ai, Kind: chime.KindUser, Name: "u", Created: now, Updated: now})
	}); err != nil {
		t.Fatal(err)
	}
	b := bus.NewLocal()
	s, err := New(svc, anyone{}, b, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{Prefetches: 1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	s.prefetching <- struct{}{} // the only slot, held by someone else's prefetch
	defer func() { <-s.prefetching }()

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/connect?sessionId=s&prefetch-on=connect&userArn="+user, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, frame, err := ws.Read(dctx); err != nil || !strings.Contains(string(frame), "SESSION_ESTABLISHED") {
		t.Fatalf("first frame %s, %v", frame, err)
	}
	if err := b.Publish(ctx, []chime.Event{{Type: chime.EventEndSessions, Reason: "user deleted", Recipients: []string{user}}}); err != nil {
		t.Fatal(err)
	}
	// The slot stays held: the close must come without it.
	_, frame, err := ws.Read(dctx)
	if code := websocket.CloseStatus(err); code != CloseUnauthorized {
		t.Fatalf("after the end: frame %s, %v (close code %d), want close code %d while the prefetch still waited", frame, err, code, CloseUnauthorized)
	}
}
