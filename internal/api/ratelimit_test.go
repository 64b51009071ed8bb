package api

import (
	"context"
	"fmt"
	"strings"
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

	// An elastic channel (ChannelScope): twice the membership writes in
	// us-east-1, messages counted per subchannel; the channel is looked up
	// only for the operations whose rates it changes.
	us := chime.Principal{Account: "1", Region: "us-east-1"}
	looked, subsLooked := 0, 0
	scope := func(_ context.Context, channel, b string, wantSub bool) (bool, string) {
		looked++
		if !wantSub {
			return true, ""
		}
		subsLooked++
		return true, "s1"
	}
	channelLimit := func(op string, in map[string]any) limit {
		t.Helper()
		for _, l := range limitsFor(context.Background(), us, spec[op], in, scope) {
			if strings.Contains(l.what, "per channel") {
				return l
			}
		}
		t.Fatalf("%s: no per-channel rate", op)
		return limit{}
	}
	if l := channelLimit("CreateChannelMembership", map[string]any{"ChannelArn": ch, "ChimeBearer": bearer, "MemberArn": bearer}); l.rate != 30 {
		t.Errorf("elastic CreateChannelMembership: %g a second, want 30", l.rate)
	}
	if subsLooked != 0 {
		t.Errorf("CreateChannelMembership looked the bearer's subchannel up; its rates are per channel")
	}
	own := channelLimit("SendChannelMessage", map[string]any{"ChannelArn": ch, "ChimeBearer": bearer, "Content": "x"})
	named := channelLimit("SendChannelMessage", map[string]any{"ChannelArn": ch, "ChimeBearer": bearer, "Content": "x", "SubChannelId": "s2"})
	if own.key == named.key || !strings.HasSuffix(own.key, "s1") || !strings.HasSuffix(named.key, "s2") {
		t.Errorf("per-subchannel keys: %q and %q", own.key, named.key)
	}
	if subsLooked != 1 {
		t.Errorf("SendChannelMessage looked the bearer's subchannel up %d times, want once (not when SubChannelId is given)", subsLooked)
	}
	looked = 0
	channelLimit("ListChannelMemberships", map[string]any{"ChannelArn": ch, "ChimeBearer": bearer})
	if looked != 0 {
		t.Errorf("ListChannelMemberships looked the channel up %d times; its rate is the same in an elastic channel", looked)
	}
}
