package service

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// BenchmarkListChannelMessagesPage measures one page of history, as
// ListChannelMessages serves it (role checks, the index walk, the NextToken),
// without HTTP: MaxResults 50, newest first, in a channel holding 10 and
// 1,000,000 messages (issue 3, "Storage": one page of a channel holding a
// million messages costs the same as one page of a channel holding ten).
// A channel of 100 gives the cost of a full page of 50 in a small channel
// (the channel of 10 returns only 10).
//
//   - first-page: the newest 50 (or all 10), no NextToken in the request.
//   - deep-page (1,000,000 only): the page after a NextToken that points at
//     the middle of the history, 500,000 messages from either end. The token
//     was issued when the channel held its first 500,000 messages; 500,000
//     newer ones were added after it, so the page starts half a million
//     index entries below the top. It continues the walk from the token's
//     (created, seq) cursor, so it costs the same as the first page.
//   - deep-page-bounded (1,000,000 only): the same with NotBefore and
//     NotAfter covering the whole history; the cursor, not NotAfter, is where
//     the walk starts.
//
// It is a benchmark, not a test: it runs only with -bench. Loading a million
// messages (direct store inserts, 100,000 per transaction) takes a while; the
// stores are built once per process and shared by -count repetitions. See
// BENCHMARKS.md for the command and the figures.
func BenchmarkListChannelMessagesPage(b *testing.B) {
	for _, size := range []int{10, 100, 1_000_000} {
		h := historyFixture(b, size)
		b.Run(fmt.Sprintf("messages=%d/first-page", size), func(b *testing.B) {
			in := ListChannelMessagesInput{ChannelArn: h.channel, PageRequest: PageRequest{MaxResults: 50}}
			for b.Loop() {
				items, _, _, err := h.svc.ListChannelMessages(h.ctx, h.caller, in)
				if err != nil || len(items) != min(50, size) {
					b.Fatalf("page of %d, err %v", len(items), err)
				}
			}
		})
		if h.middle == "" {
			continue
		}
		b.Run(fmt.Sprintf("messages=%d/deep-page", size), func(b *testing.B) {
			in := ListChannelMessagesInput{ChannelArn: h.channel, PageRequest: PageRequest{MaxResults: 50, NextToken: h.middle}}
			for b.Loop() {
				items, _, _, err := h.svc.ListChannelMessages(h.ctx, h.caller, in)
				if err != nil || len(items) != 50 {
					b.Fatalf("page of %d, err %v", len(items), err)
				}
			}
		})
		b.Run(fmt.Sprintf("messages=%d/deep-page-bounded", size), func(b *testing.B) {
			in := ListChannelMessagesInput{ChannelArn: h.channel, NotBefore: &h.from, NotAfter: &h.to,
				PageRequest: PageRequest{MaxResults: 50, NextToken: h.middleBounded}}
			for b.Loop() {
				items, _, _, err := h.svc.ListChannelMessages(h.ctx, h.caller, in)
				if err != nil || len(items) != 50 {
					b.Fatalf("page of %d, err %v", len(items), err)
				}
			}
		})
	}
}

// history is a channel of a known size on its own store.
type history struct {
	ctx     context.Context
	svc     *Service
	caller  chime.Caller
	channel string
	middle  string // for sizes of at least 1,000: a NextToken half way down the history
	// middleBounded is the same for a request bounded by [from, to], which
	// covers the whole history.
	middleBounded string
	from, to      time.Time
}

var (
	historiesMu sync.Mutex
	histories   = map[int]*history{}
	historyDirs []string
)

// TestMain removes the benchmark stores when the process ends.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range historyDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// historyFixture returns the channel of size messages, building it on the
// first call: an app instance, three users who are members, one channel, and
// size messages one millisecond apart, sent in turn by the three users.
func historyFixture(b *testing.B, size int) *history {
	b.Helper()
	historiesMu.Lock()
	defer historiesMu.Unlock()
	if h := histories[size]; h != nil {
		return h
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "belfry-bench-")
	if err != nil {
		b.Fatal(err)
	}
	historyDirs = append(historyDirs, dir)
	st, err := store.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(ctx, st, Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/bench"
	ch := ai + "/channel/history"
	users := []string{ai + "/user/ann", ai + "/user/bob", ai + "/user/cat"}
	err = st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "bench", Created: t0, Updated: t0}); err != nil {
			return err
		}
		for _, u := range users {
			if err := tx.InsertIdentity(chime.AppInstanceUser{Arn: u, AppInstanceArn: ai, Kind: chime.KindUser, Name: u[len(u)-3:], Created: t0, Updated: t0}); err != nil {
				return err
			}
		}
		if err := tx.InsertChannel(chime.Channel{Arn: ch, AppInstanceArn: ai, Name: "history", Mode: chime.ModeUnrestricted, Privacy: chime.PrivacyPrivate,
			CreatedBy: chime.Identity{Arn: users[0]}, Created: t0, Updated: t0}); err != nil {
			return err
		}
		for _, u := range users {
			if _, err := tx.InsertMembership(chime.Membership{ChannelArn: ch, Member: chime.Identity{Arn: u}, Type: chime.MembershipDefault,
				InvitedBy: chime.Identity{Arn: users[0]}, Created: t0, Updated: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	h := &history{ctx: ctx, svc: svc, caller: chime.Caller{Bearer: users[1]}, channel: ch, from: t0, to: t0.Add(time.Duration(size+1) * time.Millisecond)}
	insert := func(from, to int) {
		const batch = 100_000
		for lo := from; lo < to; lo += batch {
			err := st.Write(ctx, func(tx *store.Tx) error {
				for i := lo; i < min(lo+batch, to); i++ {
					at := t0.Add(time.Duration(i+1) * time.Millisecond)
					m := chime.Message{ChannelArn: ch, MessageID: fmt.Sprintf("m%07d", i), Sender: chime.Identity{Arn: users[i%len(users)]},
						Type: chime.MessageStandard, Persistence: chime.PersistencePersist, Content: fmt.Sprintf("message number %d of the history", i),
						Created: at, Updated: at}
					if err := tx.InsertMessage(m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	half := size / 2
	insert(0, half)
	if size >= 1000 {
		_, _, next, err := svc.ListChannelMessages(ctx, h.caller, ListChannelMessagesInput{ChannelArn: ch, PageRequest: PageRequest{MaxResults: 1}})
		if err != nil || next == nil {
			b.Fatalf("middle token: %v", err)
		}
		h.middle = *next
		_, _, next, err = svc.ListChannelMessages(ctx, h.caller, ListChannelMessagesInput{ChannelArn: ch, NotBefore: &h.from, NotAfter: &h.to,
			PageRequest: PageRequest{MaxResults: 1}})
		if err != nil || next == nil {
			b.Fatalf("middle token: %v", err)
		}
		h.middleBounded = *next
	}
	insert(half, size)
	b.Logf("history of %d messages loaded in %s", size, time.Since(start).Round(time.Millisecond))
	histories[size] = h
	return h
}
