package store

import (
	"context"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store/storetest"
)

// TestMembershipPreferences, on SQLite and (with BELFRY_TEST_POSTGRES) on
// PostgreSQL: a membership has no preferences until they are put; they
// survive a reopen of the store; putting replaces them whole; they go with
// the membership, whether it is deleted alone, with its user or with its
// channel, so a member who joins again starts without any.
func TestMembershipPreferences(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMembershipPreferences(t, t.TempDir()) })
	t.Run("postgres", func(t *testing.T) {
		testMembershipPreferences(t, storetest.Schema(t))
	})
}

func testMembershipPreferences(t *testing.T, target string) {
	ctx := context.Background()
	open := func() *Store {
		t.Helper()
		st, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	defer func() { st.Close() }()
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	ch, ch2 := ai+"/channel/c", ai+"/channel/d"
	u, v := ai+"/user/u", ai+"/user/v"
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := st.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	join := func(c, m string) func(tx *Tx) error {
		return func(tx *Tx) error {
			_, err := tx.InsertMembership(chime.Membership{ChannelArn: c, Member: chime.Identity{Arn: m}, Type: "DEFAULT",
				InvitedBy: chime.Identity{Arn: m}, Created: now, Updated: now})
			return err
		}
	}
	write(func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		for _, arn := range []string{u, v} {
			if err := tx.InsertIdentity(chime.AppInstanceUser{Arn: arn, AppInstanceArn: ai, Kind: chime.KindUser, Name: "n", Created: now, Updated: now}); err != nil {
				return err
			}
		}
		for _, c := range []string{ch, ch2} {
			if err := tx.InsertChannel(chime.Channel{Arn: c, AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED", Privacy: "PUBLIC",
				CreatedBy: chime.Identity{Arn: u}, Created: now, Updated: now}); err != nil {
				return err
			}
		}
		for _, f := range []func(tx *Tx) error{join(ch, u), join(ch, v), join(ch2, u)} {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(c, m string) (*chime.MembershipPreferences, error) {
		t.Helper()
		var p *chime.MembershipPreferences
		err := st.Read(ctx, func(tx *Tx) error {
			var err error
			p, err = tx.GetMembershipPreferences(c, m)
			return err
		})
		return p, err
	}
	put := func(c, m string, p chime.MembershipPreferences) bool {
		t.Helper()
		var ok bool
		write(func(tx *Tx) error {
			var err error
			ok, err = tx.PutMembershipPreferences(c, m, p, now)
			return err
		})
		return ok
	}
	want := func(step, c, m string, w *chime.MembershipPreferences) {
		t.Helper()
		p, err := get(c, m)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		switch {
		case (p == nil) != (w == nil):
			t.Fatalf("%s: preferences %+v, want %+v", step, p, w)
		case p == nil:
		case (p.PushNotifications == nil) != (w.PushNotifications == nil) || (p.PushNotifications != nil && *p.PushNotifications != *w.PushNotifications):
			t.Fatalf("%s: push notifications %+v, want %+v", step, p.PushNotifications, w.PushNotifications)
		}
	}

	want("never put", ch, u, nil)
	filtered := &chime.MembershipPreferences{PushNotifications: &chime.PushNotificationPreferences{AllowNotifications: "FILTERED",
		FilterRule: `{"mention":["u"]}`}}
	if !put(ch, u, *filtered) {
		t.Fatal("put on a membership reported no membership")
	}
	want("put", ch, u, filtered)
	want("another member", ch, v, nil)
	want("another channel", ch2, u, nil)
	st.Close()
	st = open()
	want("after a reopen", ch, u, filtered)
	none := &chime.MembershipPreferences{PushNotifications: &chime.PushNotificationPreferences{AllowNotifications: "NONE"}}
	put(ch, u, *none)
	want("replaced", ch, u, none)
	put(ch, u, chime.MembershipPreferences{})
	want("replaced by empty preferences", ch, u, &chime.MembershipPreferences{})

	if put(ch, ai+"/user/nobody", *none) {
		t.Error("put on no membership reported one")
	}
	if _, err := get(ch, ai+"/user/nobody"); err != ErrNotFound {
		t.Errorf("get on no membership: %v, want ErrNotFound", err)
	}

	// Deleted with the membership: leave and join again.
	put(ch, u, *none)
	write(func(tx *Tx) error { _, err := tx.DeleteMembershipIn(ch, u, ""); return err })
	if _, err := get(ch, u); err != ErrNotFound {
		t.Errorf("after the membership was deleted: %v, want ErrNotFound", err)
	}
	write(join(ch, u))
	want("joined again", ch, u, nil)
	// With the channel, and with the user.
	put(ch, v, *none)
	put(ch2, u, *none)
	write(func(tx *Tx) error { return tx.DeleteChannel(ch) })
	if _, err := get(ch, v); err != ErrNotFound {
		t.Errorf("after the channel was deleted: %v, want ErrNotFound", err)
	}
	write(func(tx *Tx) error { return tx.DeleteIdentity(u) })
	if _, err := get(ch2, u); err != ErrNotFound {
		t.Errorf("after the user was deleted: %v, want ErrNotFound", err)
	}
}
