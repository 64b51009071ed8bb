package store

import (
	"context"
	"strings"
	"testing"
)

// TestLastMessagesSeenIsIndexProbes: what a caller sees as a channel's last
// message (lastSeenSQL) costs index probes per channel, however many
// messages, memberships or targeted messages the channel has: no step of
// the page's one read, nor of the prefetch's sort, scans a table.
func TestLastMessagesSeenIsIndexProbes(t *testing.T) {
	st, plans := explainedStore(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	err := st.Read(context.Background(), func(tx *Tx) error {
		if _, err := tx.LastMessagesSeen(ai+"/user/u", []string{ai + "/channel/a", ai + "/channel/b"}); err != nil {
			return err
		}
		_, err := tx.PrefetchChannels(ai+"/user/u", true, 50)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 {
		t.Fatalf("%d queries explained, want 2", len(plans))
	}
	for q, plan := range plans {
		for _, step := range plan {
			if strings.Contains(step, "SCAN ") {
				t.Errorf("a step scans (%s):\n%s", step, q)
			}
		}
	}
}

// TestLastTargetedIsIndexProbes: a deleted targeted message's sender and
// target find their previous targeted message by index (migration 0011),
// however many untargeted messages the channel holds.
func TestLastTargetedIsIndexProbes(t *testing.T) {
	st, plans := explainedStore(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	err := st.Read(context.Background(), func(tx *Tx) error {
		tx.explainQuery(tx.lastTargetedSQL(), []any{ai + "/channel/c", ai + "/user/u", ai + "/channel/c", ai + "/user/u"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for q, plan := range plans {
		if len(plan) == 0 {
			t.Fatalf("no plan for %s", q)
		}
		for _, step := range plan {
			if (strings.Contains(step, "SCAN ") && step != "SCAN CONSTANT ROW") || strings.Contains(step, "failed") {
				t.Errorf("a step scans (%s):\n%s", step, q)
			}
		}
		// Not the history index, which would read every message of the channel.
		if all := strings.Join(plan, "\n"); !strings.Contains(all, "messages_targeted_to") || !strings.Contains(all, "messages_targeted_from") {
			t.Errorf("the targeted message indexes are not used:\n%s", all)
		}
	}
}
