package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// inOneGroup runs fns as write transactions that the SQLite writer takes
// as one group, in order: a first transaction holds the writer until all of
// them are queued. It returns each one's result and checks that they shared a commit.
func inOneGroup(t *testing.T, st *Store, fns ...func(*Tx) error) []error {
	t.Helper()
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	go st.Write(ctx, func(*Tx) error { close(held); <-hold; return nil })
	<-held
	before := st.Stats().Commits
	errs := make([]chan error, len(fns))
	for i, fn := range fns { // queued in order
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- st.Write(ctx, fn) }()
		for deadline := time.Now().Add(10 * time.Second); len(st.writes) <= i; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d transactions queued", len(st.writes), len(fns))
			}
		}
	}
	close(hold)
	out := make([]error, len(fns))
	for i := range errs {
		out[i] = <-errs[i]
	}
	// The holder's commit and the group's (a group that failed whole has none).
	if n := st.Stats().Commits - before; n > 2 {
		t.Fatalf("%d commits: the transactions did not share one", n)
	}
	return out
}

func keysOf(t *testing.T, st *Store) string {
	t.Helper()
	var keys []string
	if err := st.Read(context.Background(), func(tx *Tx) error {
		rows, err := tx.query(`SELECT k FROM t_group`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func insertKey(k string) func(*Tx) error {
	return func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO t_group (k) VALUES (?)`, k)
		return err
	}
}

// TestGroupCommitFailedTransactionsLeaveNoChange: in a group commit, a
// transaction that fails, before or after it wrote, by an error of its own,
// a failed statement or a panic, leaves no change, and every other one of
// the group keeps all of its changes (issue 6: no half-applied change; the
// writer runs transactions without savepoints until one fails after it
// wrote, then runs the group again with them).
func TestGroupCommitFailedTransactionsLeaveNoChange(t *testing.T) {
	st := openTemp(t)
	if err := st.Write(context.Background(), func(tx *Tx) error {
		if _, err := tx.exec(`CREATE TABLE t_group (k TEXT PRIMARY KEY)`); err != nil {
			return err
		}
		return insertKey("z")(tx)
	}); err != nil {
		t.Fatal(err)
	}
	errOwn := errors.New("fails on purpose")
	runs := 0
	cases := []struct {
		name    string
		fn      func(*Tx) error
		wantErr bool
	}{
		{"one insert", func(tx *Tx) error { runs++; return insertKey("a")(tx) }, false},
		{"fails before it writes", func(tx *Tx) error {
			var n int
			if err := tx.queryRow(`SELECT COUNT(*) FROM t_group`).Scan(&n); err != nil {
				return err
			}
			return errOwn
		}, true},
		{"two inserts", func(tx *Tx) error {
			if err := insertKey("c")(tx); err != nil {
				return err
			}
			return insertKey("d")(tx)
		}, false},
		{"fails after it wrote", func(tx *Tx) error {
			if err := insertKey("b")(tx); err != nil {
				return err
			}
			return errOwn
		}, true},
		{"a failed statement after a write", func(tx *Tx) error {
			if err := insertKey("y")(tx); err != nil {
				return err
			}
			return insertKey("z")(tx) // exists
		}, true},
		{"panics after it wrote", func(tx *Tx) error {
			if err := insertKey("e")(tx); err != nil {
				return err
			}
			panic("on purpose")
		}, true},
		{"another insert", insertKey("f"), false},
	}
	fns := make([]func(*Tx) error, len(cases))
	for i, c := range cases {
		fns[i] = c.fn
	}
	errs := inOneGroup(t, st, fns...)
	for i, c := range cases {
		if (errs[i] != nil) != c.wantErr {
			t.Errorf("%s: error %v, want an error: %v", c.name, errs[i], c.wantErr)
		}
	}
	if got, want := keysOf(t, st), "a,c,d,f,z"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
	if runs != 2 {
		t.Errorf("the first transaction ran %d times; the group was to run again after a failure past a write", runs)
	}

	// A group whose failures all come before any change runs once: a
	// statement that changed no row changed nothing.
	runs = 0
	errs = inOneGroup(t, st,
		func(tx *Tx) error { runs++; return insertKey("g")(tx) },
		func(tx *Tx) error { return errOwn },
		func(tx *Tx) error {
			if _, err := tx.exec(`INSERT INTO t_group (k) VALUES ('z') ON CONFLICT DO NOTHING`); err != nil {
				return err
			}
			return errOwn
		},
		insertKey("h"))
	if errs[0] != nil || errs[1] != errOwn || errs[2] != errOwn || errs[3] != nil {
		t.Fatalf("errors %v", errs)
	}
	if got, want := keysOf(t, st), "a,c,d,f,g,h,z"; got != want || runs != 1 {
		t.Fatalf("rows %s, want %s; first transaction ran %d times, want 1", got, want, runs)
	}
}

// TestGroupCommitStopsWhenTheDatabaseRollsBack: when SQLite ends the
// writer's transaction of its own accord (as an I/O error or a full disk
// may; here a trigger's RAISE(ROLLBACK)), no statement runs after it, where
// it would commit on its own, and the whole group fails with a 503: none of
// its changes stays, even from a transaction that ignored the error.
func TestGroupCommitStopsWhenTheDatabaseRollsBack(t *testing.T) {
	st := openTemp(t)
	if err := st.Write(context.Background(), func(tx *Tx) error {
		for _, q := range []string{
			`CREATE TABLE t_group (k TEXT PRIMARY KEY)`,
			`CREATE TABLE t_boom (x)`,
			`CREATE TRIGGER t_boom_rollback BEFORE INSERT ON t_boom BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`,
		} {
			if _, err := tx.exec(q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var afterErr error
	errs := inOneGroup(t, st,
		insertKey("a"),
		func(tx *Tx) error {
			tx.exec(`INSERT INTO t_boom VALUES (1)`) // rolls the transaction back; ignored
			afterErr = insertKey("marker")(tx)
			return nil
		},
		insertKey("b"))
	for i, err := range errs {
		if !strings.Contains(errorText(err), "rolled the write transaction back") {
			t.Errorf("transaction %d: %v, want a 503 saying the database rolled back", i, err)
		}
	}
	if afterErr == nil {
		t.Error("a statement ran after the rollback")
	}
	if got := keysOf(t, st); got != "" {
		t.Fatalf("rows %q stayed", got)
	}
	// The writer goes on.
	if err := st.Write(context.Background(), insertKey("c")); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, st); got != "c" {
		t.Fatalf("rows %q, want c", got)
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// channelWithUsers opens a store with a public channel ch and n users, user(0)
// its creator; member(i) is the membership of user(i) that user(0) makes.
func channelWithUsers(t *testing.T, n int) (st *Store, ch string, user func(int) string, member func(int) chime.Membership) {
	t.Helper()
	st = openTemp(t)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	ch = ai + "/channel/c"
	user = func(i int) string { return fmt.Sprintf("%s/user/u%03d", ai, i) }
	now := time.Now()
	member = func(i int) chime.Membership {
		return chime.Membership{ChannelArn: ch, Member: chime.Identity{Arn: user(i)}, Type: "DEFAULT", InvitedBy: chime.Identity{Arn: user(0)}, Created: now, Updated: now}
	}
	if err := st.Write(context.Background(), func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		if err := tx.InsertChannel(chime.Channel{Arn: ch, AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED", Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: user(0)}, Created: now, Updated: now}); err != nil {
			return err
		}
		for i := range n {
			if err := insertUser(tx, ai, user(i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return st, ch, user, member
}

// TestGroupMemberCountsAndQuota: a group's adds write their channels'
// member counts once, at its commit; until then every read of the count in
// the group (the quota of InsertMembershipIfAllowed, CountMemberships,
// AddStateOf) adds what the group has added, and a failed transaction's adds
// count for nothing. SEMANTICS.md quotas: memberships per channel.
func TestGroupMemberCountsAndQuota(t *testing.T) {
	st, ch, user, member := channelWithUsers(t, 20)
	const quota = 5
	errOwn := errors.New("fails on purpose")
	var mu sync.Mutex
	var seen []int // CountMemberships after each successful add, in the group
	add := func(i int, fail bool) func(*Tx) error {
		return func(tx *Tx) error {
			ok, err := tx.InsertMembershipIfAllowed(member(i), quota, 1000)
			if err != nil || !ok {
				return fmt.Errorf("member %d not added (%v)", i, err)
			}
			if fail {
				return errOwn
			}
			n, err := tx.CountMemberships(ch)
			if err != nil {
				return err
			}
			as, err := tx.AddStateOf(ch, user(19), "")
			if err == nil && as.ChannelMembers != n {
				err = fmt.Errorf("AddStateOf counts %d members, CountMemberships %d", as.ChannelMembers, n)
			}
			mu.Lock()
			seen = append(seen, n)
			mu.Unlock()
			return err
		}
	}
	// Member 2's add fails after it wrote (the group runs again, in
	// savepoints); members 1, 3, 4, 5 and 6 fill the quota; 7 and 8 find it full.
	errs := inOneGroup(t, st, add(1, false), add(2, true), add(3, false), add(4, false), add(5, false), add(6, false), add(7, false), add(8, false))
	for i, want := range []bool{true, false, true, true, true, true, false, false} {
		if (errs[i] == nil) != want {
			t.Errorf("member %d: %v", i+1, errs[i])
		}
	}
	if got := fmt.Sprint(seen[len(seen)-5:]); got != "[1 2 3 4 5]" {
		t.Errorf("counts read in the group %v, want [1 2 3 4 5] last", seen)
	}
	wantMemberCount(t, st, ch, quota)
}

// wantMemberCount fails t unless the channel ch, the only one of st with
// members, counts want members and holds as many memberships.
func wantMemberCount(t *testing.T, st *Store, ch string, want int) {
	t.Helper()
	var kept, counted int
	var members string
	if err := st.Read(context.Background(), func(tx *Tx) error {
		if err := tx.queryRow(`SELECT member_count FROM channels WHERE arn = ?`, ch).Scan(&kept); err != nil {
			return err
		}
		return tx.queryRow(`SELECT COUNT(*), COALESCE(group_concat(member_id), '') FROM memberships`).Scan(&counted, &members)
	}); err != nil {
		t.Fatal(err)
	}
	if kept != want || counted != want {
		t.Fatalf("member_count %d, memberships %d (%s), want %d", kept, counted, members, want)
	}
}

// TestMembershipInsertThatFailsAConstraintLeavesNoChange: the membership
// inserts run as INSERT OR FAIL on SQLite, without a statement journal
// (insertOne). One that fails a constraint (here NOT NULL: the member does
// not exist, so its key is NULL) must leave nothing of itself, before or
// after other adds in its group, which keep theirs, and count for nothing.
func TestMembershipInsertThatFailsAConstraintLeavesNoChange(t *testing.T) {
	st, ch, _, member := channelWithUsers(t, 4)
	ifAllowed := func(i int) func(*Tx) error {
		return func(tx *Tx) error {
			ok, err := tx.InsertMembershipIfAllowed(member(i), 100, 100)
			if err == nil && !ok {
				err = fmt.Errorf("member %d not added", i)
			}
			return err
		}
	}
	plain := func(i int) func(*Tx) error {
		return func(tx *Tx) error {
			ok, err := tx.InsertMembership(member(i))
			if err == nil && !ok {
				err = fmt.Errorf("member %d not added", i)
			}
			return err
		}
	}
	// Users 1 to 3 exist; 90 and 91 do not.
	errs := inOneGroup(t, st, ifAllowed(1), ifAllowed(90), plain(2), plain(91), ifAllowed(3))
	for i, want := range []bool{true, false, true, false, true} {
		if (errs[i] == nil) != want {
			t.Errorf("transaction %d: %v", i, errs[i])
		}
	}
	wantMemberCount(t, st, ch, 3)
}

// TestGroupMemberCountOfAChannelCreatedAgain: a channel deleted and created
// again under the same ARN (a ChannelId reused) in one group starts its
// member count from its own memberships: the count changes the group held
// for the deleted row are not written to the new one (they were, and the
// new channel's quota then counted members it never had).
func TestGroupMemberCountOfAChannelCreatedAgain(t *testing.T) {
	ctx := context.Background()
	st, ch, _, member := channelWithUsers(t, 10)
	var c chime.Channel
	if err := st.Read(ctx, func(tx *Tx) error {
		var err error
		c, err = tx.GetChannel(ch)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	add := func(i int) func(*Tx) error {
		return func(tx *Tx) error {
			ok, err := tx.InsertMembershipIfAllowed(member(i), 100, 100)
			if err == nil && !ok {
				err = fmt.Errorf("member %d not added", i)
			}
			return err
		}
	}
	recreate := func(tx *Tx) error {
		if err := tx.DeleteChannel(ch); err != nil {
			return err
		}
		return tx.InsertChannel(c)
	}
	// In one transaction too: adds, the delete, the insert and an add.
	addRecreateAdd := func(tx *Tx) error {
		for _, f := range []func(*Tx) error{add(5), add(6), recreate, add(7)} {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	}
	want := map[string]int{"apart": 2, "within one": 1}
	for name, fns := range map[string][]func(*Tx) error{
		"apart":      {add(1), add(2), add(3), recreate, add(4), add(8)},
		"within one": {add(1), add(2), addRecreateAdd},
	} {
		t.Run(name, func(t *testing.T) {
			if err := st.Write(ctx, recreate); err != nil { // empty again
				t.Fatal(err)
			}
			for i, err := range inOneGroup(t, st, fns...) {
				if err != nil {
					t.Fatalf("transaction %d: %v", i, err)
				}
			}
			wantMemberCount(t, st, ch, want[name])
		})
	}
}
