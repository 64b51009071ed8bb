package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// TestMemberListCache: the member lists kept for event recipients always
// equal what the database holds, through inserts (single and batched),
// rolled-back transactions, deletes, changes no method accounts for, and
// reads inside the transaction that changed them.
func TestMemberListCache(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	ch, other := ai+"/channel/c", ai+"/channel/d"
	user := func(i int) string { return fmt.Sprintf("%s/user/u%03d", ai, i) }
	now := time.Now()
	member := func(c string, i int) chime.Membership {
		return chime.Membership{ChannelArn: c, Member: chime.Identity{Arn: user(i)}, Type: "DEFAULT", InvitedBy: chime.Identity{Arn: user(0)}, Created: now, Updated: now}
	}
	write := func(fn func(tx *Tx) error) error { return st.Write(ctx, fn) }
	// check compares the cached answer, in a write and in a read transaction, with the rows.
	check := func(step string, c string, want int) {
		t.Helper()
		var inWrite, rows []string
		if err := write(func(tx *Tx) error {
			var err error
			if inWrite, err = allMembers(tx, c); err != nil {
				return err
			}
			rows, err = tx.memberArns(c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var inRead []string
		if err := st.Read(ctx, func(tx *Tx) error {
			var err error
			inRead, err = allMembers(tx, c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, l := range [][]string{inWrite, rows, inRead} {
			sort.Strings(l)
		}
		if len(rows) != want || strings.Join(inWrite, ",") != strings.Join(rows, ",") || strings.Join(inRead, ",") != strings.Join(rows, ",") {
			t.Fatalf("%s: %d rows (want %d); cached in a write %d, in a read %d", step, len(rows), want, len(inWrite), len(inRead))
		}
	}
	if err := write(func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		for _, c := range []string{ch, other} {
			if err := tx.InsertChannel(chime.Channel{Arn: c, AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: user(0)}, Created: now, Updated: now}); err != nil {
				return err
			}
		}
		for i := 0; i < 270; i++ {
			if err := insertUser(tx, ai, user(i)); err != nil {
				return err
			}
		}
		for i := 0; i < 100; i++ {
			if _, err := tx.InsertMembership(member(ch, i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check("100 members", ch, 100) // cached from here on
	if lists, _ := st.members.size(); lists != 1 {
		t.Fatalf("%d lists cached, want 1", lists)
	}

	// An insert is seen by the transaction that made it, then by everyone.
	if err := write(func(tx *Tx) error {
		if _, err := tx.InsertMembership(member(ch, 100)); err != nil {
			return err
		}
		l, err := allMembers(tx, ch)
		if err == nil && len(l) != 101 {
			err = fmt.Errorf("inside the inserting transaction: %d members, want 101", len(l))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("one insert", ch, 101)

	// A failed transaction leaves no trace, and its group's others are kept.
	errBoom := errors.New("boom")
	done := make(chan error, 2)
	go func() {
		done <- write(func(tx *Tx) error {
			if _, err := tx.InsertMembership(member(ch, 101)); err != nil {
				return err
			}
			return errBoom
		})
	}()
	go func() {
		done <- write(func(tx *Tx) error {
			_, err := tx.InsertMemberships(ch, []chime.Membership{member(ch, 102), member(ch, 103), member(ch, 1)})
			return err
		})
	}()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil && !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
	}
	check("a rolled-back insert and a batch with an existing member", ch, 103)

	// Deletes drop the list; so does a change no method accounts for.
	if err := write(func(tx *Tx) error { _, err := tx.DeleteMembership(ch, user(5)); return err }); err != nil {
		t.Fatal(err)
	}
	check("a delete", ch, 102)
	if err := write(func(tx *Tx) error {
		_, err := tx.exec(`DELETE FROM memberships WHERE channel_id = `+channelKey+`
			AND member_id IN (SELECT seq FROM identities WHERE arn IN (?, ?))`, ch, user(6), user(7))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("an unaccounted delete", ch, 100)
	// Deleting a user drops the lists of its channels, and only those.
	third := ai + "/channel/e"
	if err := write(func(tx *Tx) error {
		if err := tx.InsertChannel(chime.Channel{Arn: third, AppInstanceArn: ai, Name: "e", Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: user(0)}, Created: now, Updated: now}); err != nil {
			return err
		}
		for i := 200; i < 270; i++ {
			if _, err := tx.InsertMembership(member(third, i)); err != nil {
				return err
			}
		}
		_, err := tx.InsertMembership(member(other, 8))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check("a channel the user is not in", third, 70)
	check("the user's small channel", other, 1)
	if lists, _ := st.members.size(); lists != 3 { // lists of every size are cached
		t.Fatalf("%d lists cached, want 3", lists)
	}
	if err := write(func(tx *Tx) error { return tx.DeleteIdentity(user(8)) }); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.members.get(ch); ok {
		t.Fatal("the list of a channel the deleted user was in is still cached")
	}
	if _, ok := st.members.get(third); !ok {
		t.Fatal("deleting a user dropped the list of a channel it was not in")
	}
	check("a user deleted", ch, 99)
	check("another channel", other, 0)
	check("a channel the user was not in", third, 70)
}

// TestReadersNeverWaitForAPrepare: every reader connection busy in a
// transaction, each with a statement never seen before, must not deadlock
// the pool (preparing on the pool takes a connection of its own).
func TestReadersNeverWaitForAPrepare(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	const readers = 4 // the reader pool's size
	var inside sync.WaitGroup
	inside.Add(readers)
	done := make(chan error, readers)
	for i := 0; i < readers; i++ {
		go func() {
			done <- st.Read(ctx, func(tx *Tx) error {
				inside.Done()
				inside.Wait() // every connection is held now
				var n int
				return tx.queryRow(fmt.Sprintf(`SELECT %d + ?`, i), 1).Scan(&n)
			})
		}()
	}
	for i := 0; i < readers; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the reader pool deadlocked")
		}
	}
}

// allMembers joins the two parts of MemberArns into a list of the caller's
// own, and checks that they share no ARN.
func allMembers(tx *Tx, channel string) ([]string, error) {
	list, also, err := tx.MemberArns(channel)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, a := range list {
		in[a] = true
	}
	for _, a := range also {
		if in[a] {
			return nil, fmt.Errorf("%s is in both parts of the member list", a)
		}
	}
	return append(append([]string(nil), list...), also...), nil
}

// TestIdentityCache: the users the writer keeps in memory (GetIdentity)
// are always what the database holds: after an update, an expiration set,
// a delete, inside the transaction that changed them, and after a
// transaction that changed one and failed.
func TestIdentityCache(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	arn := ai + "/user/u"
	now := time.Now()
	write := func(fn func(tx *Tx) error) error { return st.Write(ctx, fn) }
	// name reads the user in a write transaction (the cache's reader) and in a read one.
	name := func(step string) string {
		t.Helper()
		var inWrite, inRead string
		for _, run := range []func(func(*Tx) error) error{write, func(fn func(*Tx) error) error { return st.Read(ctx, fn) }} {
			var got string
			if err := run(func(tx *Tx) error {
				// GetIdentities (batches) reads through the same cache.
				batch, err := tx.GetIdentities([]string{arn})
				if err != nil {
					return err
				}
				u, err := tx.GetIdentity(arn)
				if _, ok := batch[arn]; ok != (err == nil) || batch[arn].Name != u.Name {
					return fmt.Errorf("GetIdentities found %v (%q), GetIdentity %v", ok, batch[arn].Name, err)
				}
				if errors.Is(err, ErrNotFound) {
					got = "(none)"
					return nil
				}
				got = u.Name
				if u.Expiration != nil {
					got += fmt.Sprintf(" expires after %d days", u.Expiration.ExpirationDays)
				}
				return err
			}); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if inWrite == "" {
				inWrite = got
			} else {
				inRead = got
			}
		}
		if inWrite != inRead {
			t.Fatalf("%s: the writer reads %q, a reader %q", step, inWrite, inRead)
		}
		return inWrite
	}
	if err := write(func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		return tx.InsertIdentity(chime.AppInstanceUser{Arn: arn, AppInstanceArn: ai, Kind: chime.KindUser, Name: "one", Created: now, Updated: now})
	}); err != nil {
		t.Fatal(err)
	}
	want := func(step, got, w string) {
		t.Helper()
		if got != w {
			t.Fatalf("%s: %q, want %q", step, got, w)
		}
	}
	want("created", name("created"), "one")
	want("read again (from the cache)", name("again"), "one")
	if n := st.members.identityCount(); n != 1 {
		t.Fatalf("%d identities cached, want 1", n)
	}

	// A change is seen by the transaction that made it, then by everyone.
	if err := write(func(tx *Tx) error {
		if err := tx.UpdateIdentity(chime.AppInstanceUser{Arn: arn, Name: "two", Updated: now}); err != nil {
			return err
		}
		u, err := tx.GetIdentity(arn)
		if err == nil && u.Name != "two" {
			err = fmt.Errorf("inside the updating transaction: %q", u.Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want("updated", name("updated"), "two")

	// A transaction that changes the user and fails leaves what was committed.
	boom := errors.New("boom")
	if err := write(func(tx *Tx) error {
		if err := tx.UpdateIdentity(chime.AppInstanceUser{Arn: arn, Name: "lost", Updated: now}); err != nil {
			return err
		}
		if _, err := tx.GetIdentity(arn); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed transaction: %v", err)
	}
	want("after a failed change", name("failed"), "two")

	if err := write(func(tx *Tx) error {
		return tx.SetIdentityExpiration(arn, &chime.ExpirationSettings{ExpirationDays: 3, ExpirationCriterion: "CREATED_TIMESTAMP"})
	}); err != nil {
		t.Fatal(err)
	}
	want("expiration set", name("expiration"), "two expires after 3 days")

	if err := write(func(tx *Tx) error { return tx.DeleteIdentity(arn) }); err != nil {
		t.Fatal(err)
	}
	want("deleted", name("deleted"), "(none)")
}

// TestChannelCache: the channels the writer keeps in memory (GetChannel)
// are always what the database holds: after an update, a message, an
// expiration set, a change of the creator's name, a membership insert (the
// one change that leaves them), and a delete.
func TestChannelCache(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	ch, creator := ai+"/channel/c", ai+"/user/creator"
	now := time.Now().Truncate(time.Millisecond)
	write := func(fn func(tx *Tx) error) error { return st.Write(ctx, fn) }
	// describe reads the channel in a write transaction (the cache's reader) and in a read one.
	describe := func(step string) string {
		t.Helper()
		var got []string
		for _, run := range []func(func(*Tx) error) error{write, func(fn func(*Tx) error) error { return st.Read(ctx, fn) }} {
			if err := run(func(tx *Tx) error {
				c, err := tx.GetChannel(ch)
				if errors.Is(err, ErrNotFound) {
					got = append(got, "(none)")
					return nil
				}
				d := fmt.Sprintf("%s %s by %s", c.Name, c.Mode, c.CreatedBy.Name)
				if c.LastMessage != nil {
					d += fmt.Sprintf(", last message %d", c.LastMessage.UnixMilli()-now.UnixMilli())
				}
				if c.Expiration != nil {
					d += fmt.Sprintf(", expires after %d days", c.Expiration.ExpirationDays)
				}
				got = append(got, d)
				return err
			}); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		if got[0] != got[1] {
			t.Fatalf("%s: the writer reads %q, a reader %q", step, got[0], got[1])
		}
		return got[0]
	}
	want := func(step, w string) {
		t.Helper()
		if got := describe(step); got != w {
			t.Fatalf("%s: %q, want %q", step, got, w)
		}
	}
	do := func(step string, fn func(tx *Tx) error) {
		t.Helper()
		if err := write(fn); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	do("create", func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		if err := tx.InsertIdentity(chime.AppInstanceUser{Arn: creator, AppInstanceArn: ai, Kind: chime.KindUser, Name: "ann", Created: now, Updated: now}); err != nil {
			return err
		}
		return tx.InsertChannel(chime.Channel{Arn: ch, AppInstanceArn: ai, Name: "one", Mode: "UNRESTRICTED", Privacy: "PUBLIC",
			CreatedBy: chime.Identity{Arn: creator}, Created: now, Updated: now})
	})
	want("created", "one UNRESTRICTED by ann")
	want("read again (from the cache)", "one UNRESTRICTED by ann")
	do("a member", func(tx *Tx) error {
		_, err := tx.InsertMembership(chime.Membership{ChannelArn: ch, Member: chime.Identity{Arn: creator}, Type: "DEFAULT",
			InvitedBy: chime.Identity{Arn: creator}, Created: now, Updated: now})
		return err
	})
	want("after a membership", "one UNRESTRICTED by ann")
	do("update", func(tx *Tx) error {
		if err := tx.UpdateChannel(chime.Channel{Arn: ch, Name: "two", Mode: "RESTRICTED", Updated: now}); err != nil {
			return err
		}
		c, err := tx.GetChannel(ch)
		if err == nil && c.Name != "two" {
			err = fmt.Errorf("inside the updating transaction: %q", c.Name)
		}
		return err
	})
	want("updated", "two RESTRICTED by ann")
	do("message", func(tx *Tx) error { return tx.SetLastMessage(ch, "", now.Add(5*time.Millisecond)) })
	want("message", "two RESTRICTED by ann, last message 5")
	do("expiration", func(tx *Tx) error {
		return tx.SetChannelExpiration(ch, &chime.ExpirationSettings{ExpirationDays: 2, ExpirationCriterion: "CREATED_TIMESTAMP"})
	})
	want("expiration", "two RESTRICTED by ann, last message 5, expires after 2 days")
	do("creator renamed", func(tx *Tx) error {
		return tx.UpdateIdentity(chime.AppInstanceUser{Arn: creator, Name: "bob", Updated: now})
	})
	want("creator renamed", "two RESTRICTED by bob, last message 5, expires after 2 days")
	do("delete", func(tx *Tx) error { return tx.DeleteChannel(ch) })
	want("deleted", "(none)")
}

// TestMemberCacheEvictsLeastRecentlyUsed: over its budget, the cache drops
// the lists used longest ago, not the list of a channel still being written.
func TestMemberCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newMemberCache()
	list := make([]string, maxCachedMembers/3-1)
	for _, ch := range []string{"a", "b", "c"} {
		c.put(ch, list)
	}
	c.get("a")
	c.put("d", list)
	for ch, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := c.get(ch); ok != want {
			t.Errorf("list %s cached: %v, want %v", ch, ok, want)
		}
	}
	if _, total := c.size(); total > maxCachedMembers {
		t.Errorf("%d members cached, over the budget of %d", total, maxCachedMembers)
	}
}

// TestUserCountCache: the writer's per-user membership counts (the batch's
// per-user quota) follow inserts, inserts earlier in the same group,
// removals and channel deletions, as the rows do.
func TestUserCountCache(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	u := ai + "/user/u"
	chans := []string{ai + "/channel/a", ai + "/channel/b", ai + "/channel/c"}
	now := time.Now()
	member := func(c string) chime.Membership {
		return chime.Membership{ChannelArn: c, Member: chime.Identity{Arn: u}, Type: "DEFAULT", InvitedBy: chime.Identity{Arn: u}, Created: now, Updated: now}
	}
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := st.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	// count reads the count in the writer (cached from the second read) and checks it against the rows.
	count := func(tx *Tx, step string, want int) error {
		for range 2 {
			got, err := tx.CountUserMembershipsOf([]string{u})
			if err != nil {
				return err
			}
			rows, err := tx.CountUserMemberships(u)
			if err != nil {
				return err
			}
			if got[u] != want || rows != want {
				return fmt.Errorf("%s: counted %d, the rows %d, want %d", step, got[u], rows, want)
			}
		}
		return nil
	}
	write(func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		for _, c := range chans {
			if err := tx.InsertChannel(chime.Channel{Arn: c, AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: u}, Created: now, Updated: now}); err != nil {
				return err
			}
		}
		return insertUser(tx, ai, u)
	})
	write(func(tx *Tx) error { return count(tx, "none", 0) })
	write(func(tx *Tx) error {
		_, err := tx.InsertMembership(member(chans[0]))
		if err == nil {
			err = count(tx, "one insert, in its transaction", 1)
		}
		return err
	})
	write(func(tx *Tx) error { return count(tx, "one insert", 1) })
	// Two transactions of one group: the second sees the first's insert.
	errs := make(chan error, 2)
	for i, c := range chans[1:] {
		go func() {
			errs <- st.Write(ctx, func(tx *Tx) error {
				_, err := tx.InsertMemberships(c, []chime.Membership{member(c)})
				if err != nil {
					return err
				}
				got, err := tx.CountUserMembershipsOf([]string{u})
				rows, err2 := tx.CountUserMemberships(u)
				if err == nil && err2 == nil && got[u] != rows {
					err = fmt.Errorf("batch %d: counted %d, the rows %d", i, got[u], rows)
				}
				return errors.Join(err, err2)
			})
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) error { return count(tx, "three inserts", 3) })
	write(func(tx *Tx) error {
		_, err := tx.DeleteMembership(chans[0], u)
		if err == nil {
			err = count(tx, "a removal, in its transaction", 2)
		}
		return err
	})
	write(func(tx *Tx) error { return count(tx, "a removal", 2) })
	write(func(tx *Tx) error { return tx.DeleteChannel(chans[1]) })
	write(func(tx *Tx) error { return count(tx, "a channel deleted", 1) })
	// A failed transaction's insert is not counted.
	if err := st.Write(ctx, func(tx *Tx) error {
		if _, err := tx.InsertMembership(member(chans[0])); err != nil {
			return err
		}
		if err := count(tx, "an insert rolled back, in its transaction", 2); err != nil {
			return err
		}
		return errors.New("roll back")
	}); err == nil || err.Error() != "roll back" {
		t.Fatalf("the failing transaction returned %v", err)
	}
	write(func(tx *Tx) error { return count(tx, "an insert rolled back", 1) })
}

// openTemp opens a store in a temporary directory, closed when the test ends.
// insertUser stores a user: memberships need their member's row (its key).
func insertUser(tx *Tx, appInstance, arn string) error {
	now := time.Now()
	return tx.InsertIdentity(chime.AppInstanceUser{Arn: arn, AppInstanceArn: appInstance, Kind: chime.KindUser, Name: "n", Created: now, Updated: now})
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRoleCache: the roles the writer caches (RoleOf, read for the bearer of
// every channel call) agree with the rows after every change that decides
// a role, made at random by transactions that share commit groups and
// sometimes fail: memberships inserted and removed, moderators, bans and
// admins added and removed, a user deleted. Each transaction also checks
// the roles it sees after its own change.
func TestRoleCache(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	users := []string{ai + "/user/a", ai + "/user/b", ai + "/user/c"}
	chans := []string{ai + "/channel/x", ai + "/channel/y"}
	now := time.Now()
	if err := st.Write(ctx, func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		for _, c := range chans {
			if err := tx.InsertChannel(chime.Channel{Arn: c, AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: users[0]}, Created: now, Updated: now}); err != nil {
				return err
			}
		}
		for _, u := range users {
			if err := insertUser(tx, ai, u); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// agree compares every cached role with the rows, twice (the second from the cache).
	agree := func(tx *Tx, step string) error {
		for range 2 {
			for _, u := range users {
				for _, c := range chans {
					got, err := tx.RoleOf(ai, c, u)
					if err != nil {
						return err
					}
					want, err := tx.readRole(ai, c, u)
					if err != nil {
						return err
					}
					if got != want {
						return fmt.Errorf("%s: role of %s in %s: cached %+v, rows %+v", step, u, c, got, want)
					}
				}
			}
		}
		return nil
	}
	changes := []func(tx *Tx, u, c string) error{
		func(tx *Tx, u, c string) error {
			_, err := tx.InsertMembership(chime.Membership{ChannelArn: c, Member: chime.Identity{Arn: u}, Type: "DEFAULT", InvitedBy: chime.Identity{Arn: u}, Created: now, Updated: now})
			return err
		},
		func(tx *Tx, u, c string) error {
			_, err := tx.InsertMemberships(c, []chime.Membership{{ChannelArn: c, Member: chime.Identity{Arn: u}, Type: "HIDDEN", InvitedBy: chime.Identity{Arn: u}, Created: now, Updated: now}})
			return err
		},
		func(tx *Tx, u, c string) error { _, err := tx.DeleteMembership(c, u); return err },
		func(tx *Tx, u, c string) error {
			if _, err := tx.DeleteModerator(c, u); err != nil {
				return err
			}
			return tx.InsertModerator(chime.Moderator{ChannelArn: c, Moderator: chime.Identity{Arn: u}, CreatedBy: chime.Identity{Arn: u}, Created: now})
		},
		func(tx *Tx, u, c string) error { _, err := tx.DeleteModerator(c, u); return err },
		func(tx *Tx, u, c string) error {
			if _, err := tx.DeleteBan(c, u); err != nil {
				return err
			}
			return tx.InsertBan(chime.Ban{ChannelArn: c, Member: chime.Identity{Arn: u}, CreatedBy: chime.Identity{Arn: u}, Created: now})
		},
		func(tx *Tx, u, c string) error { _, err := tx.DeleteBan(c, u); return err },
		func(tx *Tx, u, _ string) error {
			if _, err := tx.DeleteAdmin(ai, u); err != nil {
				return err
			}
			return tx.InsertAdmin(chime.AppInstanceAdmin{AppInstanceArn: ai, Admin: chime.Identity{Arn: u}, Created: now})
		},
		func(tx *Tx, u, _ string) error { _, err := tx.DeleteAdmin(ai, u); return err },
		func(tx *Tx, u, _ string) error { // deleted, and created again
			if err := tx.DeleteIdentity(u); err != nil {
				return err
			}
			return insertUser(tx, ai, u)
		},
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 60 {
		// Four transactions at once share commit groups; one in four fails after its change.
		errs := make(chan error, 4)
		for i := range 4 {
			change, u, c, fail := changes[rng.IntN(len(changes))], users[rng.IntN(len(users))], chans[rng.IntN(len(chans))], rng.IntN(4) == 0
			go func() {
				errs <- st.Write(ctx, func(tx *Tx) error {
					if err := agree(tx, fmt.Sprintf("round %d, transaction %d, before its change", round, i)); err != nil {
						return err
					}
					if err := change(tx, u, c); err != nil {
						return err
					}
					if err := agree(tx, fmt.Sprintf("round %d, transaction %d, after its change", round, i)); err != nil {
						return err
					}
					if fail {
						return errRollBackOnPurpose
					}
					return nil
				})
			}()
		}
		for range 4 {
			if err := <-errs; err != nil && !errors.Is(err, errRollBackOnPurpose) {
				t.Fatal(err)
			}
		}
		if err := st.Write(ctx, func(tx *Tx) error { return agree(tx, fmt.Sprintf("after round %d", round)) }); err != nil {
			t.Fatal(err)
		}
	}
}

var errRollBackOnPurpose = errors.New("rolled back on purpose")

// TestCachedKeysAgreeWithArnLookups: the writer's statements that take the
// channel's and members' keys from its cache (InsertMembership,
// InsertMemberships, MembersAmong, AddStateOf) find and write the same rows
// as those that look the keys up by ARN, in a read transaction; also for a
// user deleted and created again, whose key changes.
func TestCachedKeysAgreeWithArnLookups(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	ch := ai + "/channel/c"
	user := func(i int) string { return fmt.Sprintf("%s/user/u%d", ai, i) }
	users := []string{user(0), user(1), user(2), user(3)}
	now := time.Now()
	member := func(u string) chime.Membership {
		return chime.Membership{ChannelArn: ch, Member: chime.Identity{Arn: u}, Type: "DEFAULT", InvitedBy: chime.Identity{Arn: u}, Created: now, Updated: now}
	}
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := st.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		for _, u := range users {
			if err := insertUser(tx, ai, u); err != nil {
				return err
			}
		}
		return tx.InsertChannel(chime.Channel{Arn: ch, AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: users[0]}, Created: now, Updated: now})
	})
	// warm reads the rows into the writer's cache, and checks that it holds their keys.
	warm := func(tx *Tx) error {
		if _, err := tx.GetChannel(ch); err != nil {
			return err
		}
		if _, err := tx.GetIdentities(users); err != nil {
			return err
		}
		if _, ok := cachedKey(tx.channelKeyArg(ch)); !ok {
			return fmt.Errorf("the channel's key is not cached")
		}
		for _, u := range users {
			if _, ok := cachedKey(tx.memberKeyArg(u)); !ok {
				return fmt.Errorf("the key of %s is not cached", u)
			}
		}
		return nil
	}
	// agree compares what the writer finds through its cache with a read transaction's.
	agree := func(step string) {
		t.Helper()
		var cached map[string]bool
		var states []AddState
		write(func(tx *Tx) error {
			if err := warm(tx); err != nil {
				return err
			}
			var err error
			if cached, err = tx.MembersAmong(ch, users); err != nil {
				return err
			}
			for _, u := range users {
				s, err := tx.AddStateOf(ch, u, "")
				if err != nil {
					return err
				}
				states = append(states, s)
			}
			return nil
		})
		err := st.Read(ctx, func(tx *Tx) error {
			rows, err := tx.MembersAmong(ch, users)
			if err != nil {
				return err
			}
			if fmt.Sprint(rows) != fmt.Sprint(cached) {
				return fmt.Errorf("%s: members through the cache %v, by ARN %v", step, cached, rows)
			}
			for i, u := range users {
				s, err := tx.AddStateOf(ch, u, "")
				if err != nil {
					return err
				}
				if s != states[i] {
					return fmt.Errorf("%s: state of %s through the cache %+v, by ARN %+v", step, u, states[i], s)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	agree("no members")
	write(func(tx *Tx) error {
		if err := warm(tx); err != nil {
			return err
		}
		if _, err := tx.InsertMembership(member(users[0])); err != nil {
			return err
		}
		_, err := tx.InsertMemberships(ch, []chime.Membership{member(users[1]), member(users[2])})
		return err
	})
	agree("three members")
	// u1 deleted and created again (a new key): it is no member until added again.
	write(func(tx *Tx) error {
		if err := tx.DeleteIdentity(users[1]); err != nil {
			return err
		}
		return insertUser(tx, ai, users[1])
	})
	agree("a member deleted and created again")
	write(func(tx *Tx) error {
		if err := warm(tx); err != nil {
			return err
		}
		_, err := tx.InsertMemberships(ch, []chime.Membership{member(users[1]), member(users[3])})
		return err
	})
	agree("four members")
	err := st.Read(ctx, func(tx *Tx) error {
		page, err := tx.ListMemberships(ch, "", "DEFAULT", 0, 50)
		if err != nil {
			return err
		}
		var got []string
		for _, m := range page.Items {
			got = append(got, strings.TrimPrefix(m.Member.Arn, ai+"/user/")+"="+m.Member.Name)
		}
		if strings.Join(got, ",") != "u0=n,u2=n,u1=n,u3=n" {
			t.Errorf("members listed: %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
