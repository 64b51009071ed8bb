package service

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// TestPrefetchStopsForAGoneClient: the prefetch of a session whose client
// has gone (its context done) reads nothing more. Store reads are not cut
// by a context, so before, a burst of connects whose clients left at once
// still read 1 + 50 transactions each, holding the store's readers (and
// the API's reads behind them), memory and the users' session slots.
func TestPrefetchStopsForAGoneClient(t *testing.T) {
	ctx := context.Background()
	svc, st := newTestService(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/prefetch"
	user := chime.Caller{Bearer: ai + "/user/u"}
	seedUser(t, st, ai, user.Bearer, t0)
	for i := range 5 {
		if _, err := svc.CreateChannel(ctx, user, CreateChannelInput{AppInstanceArn: ai, Name: fmt.Sprint(i), ClientRequestToken: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if events, err := svc.Prefetch(ctx, user.Bearer, ""); err != nil || len(events) != 5 {
		t.Fatalf("prefetch of a live client: %d events, %v; want 5", len(events), err)
	}

	gone, cancel := context.WithCancel(ctx)
	cancel()
	before := st.Stats().Reads
	events, err := svc.Prefetch(gone, user.Bearer, "")
	if !errors.Is(err, context.Canceled) || len(events) != 0 {
		t.Errorf("prefetch of a gone client: %d events, %v; want none and context.Canceled", len(events), err)
	}
	if reads := st.Stats().Reads - before; reads != 0 {
		t.Errorf("prefetch of a gone client read %d transactions, want none", reads)
	}
}
