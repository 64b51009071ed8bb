package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// TestRateLimitsBuckets: a request takes a token from every bucket that
// applies or from none (a refusal by one rate costs the others nothing),
// tokens come back at the rate, and refilled buckets are forgotten, so the
// limiter holds buckets for the recent requests only (issue 6: memory
// bounded past saturation).
func TestRateLimitsBuckets(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewAWSRateLimits(func() time.Time { return now })
	a := limit{key: "a", rate: 2, what: "a"}
	b := limit{key: "b", rate: 1, what: "b"}
	if err := l.check([]limit{a, b}); err != nil {
		t.Fatal(err)
	}
	// b is empty: refused, and a keeps its last token.
	if err := l.check([]limit{a, b}); chime.KindOf(err) != chime.KindThrottled {
		t.Fatalf("want Throttled, got %v", err)
	}
	if err := l.check([]limit{a}); err != nil {
		t.Fatalf("a lost a token to a refused request: %v", err)
	}
	if err := l.check([]limit{a}); chime.KindOf(err) != chime.KindThrottled {
		t.Fatalf("a allows more than its burst: %v", err)
	}
	now = now.Add(500 * time.Millisecond) // a: +1 token, b: +0.5
	if err := l.check([]limit{a}); err != nil {
		t.Fatal(err)
	}
	if err := l.check([]limit{b}); chime.KindOf(err) != chime.KindThrottled {
		t.Fatalf("b refilled too fast: %v", err)
	}
	// Many resources named once: after a second they are all full again and dropped.
	for i := range 10000 {
		l.check([]limit{{key: fmt.Sprint("channel-", i), rate: 15}})
	}
	if n := l.Buckets(); n < 10000 {
		t.Fatalf("%d buckets, want every recent one", n)
	}
	now = now.Add(2 * time.Second)
	l.check([]limit{a})
	if n := l.Buckets(); n != 1 {
		t.Fatalf("%d buckets after they refilled, want 1 (the one just used)", n)
	}
}

// TestRateLimitsFor: which rates apply to a request (SEMANTICS.md §9).
func TestRateLimitsFor(t *testing.T) {
	ops, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]*opSpec{}
	for _, op := range ops {
		spec[op.name] = op
	}
	ch := "arn:aws:chime:eu-central-1:1:app-instance/a/channel/c"
	bearer := "arn:aws:chime:eu-central-1:1:app-instance/a/user/u"
	p := chime.Principal{Account: "1", Region: "eu-central-1"}
	ls := limitsFor(context.Background(), p, spec["SendChannelMessage"], map[string]any{"ChannelArn": ch, "ChimeBearer": bearer, "Content": "x"}, nil)
	got := map[string]float64{}
	for _, l := range ls {
		got[l.what] = l.rate
	}
	want := map[string]float64{
		"SendChannelMessage allows 10 requests per second per channel": 10,
		"Chime SDK Messaging allows 5 requests per second per bearer":  5,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("SendChannelMessage in eu-central-1: %v, want %v", got, want)
	}
	ls = limitsFor(context.Background(), chime.Principal{Account: "1", Region: "us-east-1"}, spec["CreateAppInstance"], map[string]any{"Name": "x"}, nil)
	if len(ls) != 2 || ls[0].rate != 5 || ls[1].rate != 50 {
		t.Fatalf("CreateAppInstance: %+v", ls)
	}
	ls = limitsFor(context.Background(), p, spec["GetMessagingSessionEndpoint"], map[string]any{}, nil)
	if len(ls) != 0 {
		t.Fatalf("GetMessagingSessionEndpoint is not rate limited at AWS: %+v", ls)
	}
}
