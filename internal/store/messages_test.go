package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// TestListMessagesIsAPageSizedIndexWalk (issue 3, "Storage": one page of a
// channel holding a million messages costs the same as one page of a channel
// holding ten). Every form of the history query, newest or oldest first,
// with and without NotBefore/NotAfter, first page or after a NextToken
// cursor, must walk messages_history in the order it returns rows, and a
// page after a cursor must start the walk at the cursor: the index range
// is bounded on the cursor's side, so the pages before it are not read
// again. BenchmarkListChannelMessagesPage (internal/service) measures it.
// The same cases are then run on a small history with ties in time to
// check the pages themselves.
func TestListMessagesIsAPageSizedIndexWalk(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	var lastQuery string
	var lastPlan []string
	st.explain = func(q string, plan []string) { lastQuery, lastPlan = q, plan }

	ch := "arn:aws:chime:us-east-1:123456789012:app-instance/ai/channel/c"
	viewer := "arn:aws:chime:us-east-1:123456789012:app-instance/ai/user/u"
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// 30 messages, three per millisecond: creation order is (created, seq).
	var all []string
	err := st.Write(ctx, func(tx *Tx) error {
		all = nil
		for i := range 30 {
			at := t0.Add(time.Duration(i/3) * time.Millisecond)
			id := fmt.Sprintf("m%02d", i)
			all = append(all, id)
			if err := tx.InsertMessage(chime.Message{ChannelArn: ch, MessageID: id, Sender: chime.Identity{Arn: viewer}, Type: chime.MessageStandard,
				Content: id, Created: at, Updated: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(i int) *time.Time { at := t0.Add(time.Duration(i) * time.Millisecond); return &at }

	for _, asc := range []bool{false, true} {
		for _, bounds := range []struct {
			name                string
			notBefore, notAfter *time.Time
			from, to            int // the messages all[from:to] inside the bounds
		}{
			{"no bounds", nil, nil, 0, 30},
			{"NotBefore", ms(2), nil, 6, 30},
			{"NotAfter", nil, ms(7), 0, 24},
			{"both bounds", ms(2), ms(7), 6, 24},
		} {
			name := fmt.Sprintf("ascending=%v/%s", asc, bounds.name)
			want := slices.Clone(all[bounds.from:bounds.to])
			if !asc {
				slices.Reverse(want)
			}
			var got []string
			q := MessageQuery{Channel: ch, Viewer: viewer, Ascending: asc, NotBefore: bounds.notBefore, NotAfter: bounds.notAfter, Limit: 4}
			for page := 0; ; page++ {
				var p Page[chime.Message]
				var next *MessageCursor
				err := st.Read(ctx, func(tx *Tx) (err error) {
					p, next, err = tx.ListMessages(q)
					return err
				})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkHistoryPlan(t, fmt.Sprintf("%s/page %d", name, page), asc, q.After != nil, lastQuery, lastPlan)
				for _, m := range p.Items {
					got = append(got, m.MessageID)
				}
				if next == nil {
					break
				}
				if page > 10 {
					t.Fatalf("%s: too many pages", name)
				}
				q.After = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: pages gave %v, want %v", name, got, want)
			}
		}
	}
}

// checkHistoryPlan fails unless plan walks messages_history without a sort
// and, after a cursor, starts the walk at it.
func checkHistoryPlan(t *testing.T, name string, asc, cursor bool, query string, plan []string) {
	t.Helper()
	joined := strings.Join(plan, " | ")
	var walk string
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "INDEX") || strings.Contains(step, "TEMP B-TREE") {
			t.Fatalf("%s: not a page-sized index walk: %s\n%s", name, joined, query)
		}
		if strings.Contains(step, "USING INDEX messages_history") {
			walk = step
		}
	}
	if walk == "" {
		t.Fatalf("%s: messages_history is not used: %s", name, joined)
	}
	if !cursor {
		return
	}
	// The range on (created_ms, seq) must be bounded by the cursor on the
	// side the walk comes from, not by a time bound nor by nothing.
	side, bound := "created_ms<", "m.created_ms <= ?"
	if asc {
		side, bound = "created_ms>", "m.created_ms >= ?"
	}
	if !strings.Contains(walk, side) || strings.Contains(query, bound) {
		t.Fatalf("%s: the walk does not start at the cursor: %s\n%s", name, walk, query)
	}
}
