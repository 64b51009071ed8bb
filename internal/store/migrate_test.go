package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/belfry/belfry/internal/store/storetest"
)

// TestMembershipKeysMigration: a database written before memberships were
// keyed by integers (migration 0007) keeps every membership through the
// migration, each found again by channel and by member, and loses only
// those whose channel or member was gone (unreachable before too).
func TestMembershipKeysMigration(t *testing.T) { onBothStores(t, testMembershipKeysMigration) }

// onBothStores runs test on a new SQLite store and, when the test
// PostgreSQL is configured, on a fresh PostgreSQL schema.
func onBothStores(t *testing.T, test func(t *testing.T, target string)) {
	targets := map[string]string{"sqlite": t.TempDir()}
	if dsn := os.Getenv(storetest.PostgresEnv); dsn != "" {
		targets["postgres"] = storetest.FreshSchema(t, dsn)
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) { test(t, target) })
	}
}

func testMembershipKeysMigration(t *testing.T, target string) {
	ctx := context.Background()
	pg := IsPostgres(target)
	driver, dsn, dir := "sqlite", "file:"+filepath.Join(target, "belfry.db"), "migrations/sqlite"
	if pg {
		driver, dsn, dir = "pgx", target, "migrations/postgres"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	mark := "?"
	if pg {
		mark = "$1"
	}
	// The schema as it was: every migration before 0007, recorded as applied.
	if _, err := db.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	entries, err := migrations.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() >= "0007" {
			continue
		}
		body, _ := migrations.ReadFile(dir + "/" + e.Name())
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (name) VALUES (`+mark+`)`, e.Name()); err != nil {
			t.Fatal(err)
		}
	}
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	rows := []string{
		`INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms) VALUES ('` + ai + `', 'us-east-1:123456789012', 'n', '', 1, 1)`,
	}
	for _, u := range []string{"a", "b"} {
		rows = append(rows, `INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES ('`+ai+`/user/`+u+`', '`+ai+`', 'user', '`+u+`', '', 1, 1)`)
	}
	for _, c := range []string{"x", "y"} {
		rows = append(rows, `INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count)
			VALUES ('`+ai+`/channel/`+c+`', '`+ai+`', '`+c+`', 'UNRESTRICTED', 'PUBLIC', '', '`+ai+`/user/a', 1, 1, 2)`)
	}
	// a and b in x and y; one membership of a member that is gone, one of a channel that is gone.
	for _, m := range [][2]string{{"x", "a"}, {"x", "b"}, {"y", "b"}, {"y", "a"}, {"x", "gone"}, {"gone", "a"}} {
		rows = append(rows, `INSERT INTO memberships (channel_arn, member_arn, type, invited_by, created_ms, updated_ms, read_marker_ms)
			VALUES ('`+ai+`/channel/`+m[0]+`', '`+ai+`/user/`+m[1]+`', 'DEFAULT', '`+ai+`/user/a', 1, 1, 7)`)
	}
	st := execThenOpen(t, db, rows, target)
	err = st.Read(ctx, func(tx *Tx) error {
		for _, c := range []string{"x", "y"} {
			page, err := tx.ListMemberships(ai+"/channel/"+c, "", "DEFAULT", 0, 50)
			if err != nil {
				return err
			}
			var got []string
			for _, m := range page.Items {
				got = append(got, strings.TrimPrefix(m.Member.Arn, ai+"/user/")+":"+m.Member.Name)
				if m.ReadMarker.IsZero() {
					t.Errorf("%s in %s lost its read marker", m.Member.Arn, c)
				}
			}
			want := map[string]string{"x": "a:a,b:b", "y": "b:b,a:a"}[c]
			if strings.Join(got, ",") != want {
				t.Errorf("members of %s after the migration: %v, want %s", c, got, want)
			}
		}
		page, err := tx.ListUserMemberships(ai+"/user/a", 0, 50)
		if err != nil {
			return err
		}
		var got []string
		for _, um := range page.Items {
			got = append(got, strings.TrimPrefix(um.Channel.Arn, ai+"/channel/"))
		}
		if strings.Join(got, ",") != "x,y" {
			t.Errorf("channels of a after the migration: %v, want x,y", got)
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM memberships`).Scan(&n); err != nil {
			return err
		}
		if n != 4 {
			t.Errorf("%d memberships after the migration, want 4 (the two unreachable ones dropped)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// New memberships go in beside the migrated ones, and the unique key holds.
	err = st.Write(ctx, func(tx *Tx) error {
		m, err := tx.GetMembership(ai+"/channel/x", ai+"/user/a")
		if err != nil {
			return err
		}
		inserted, err := tx.InsertMembership(m)
		if err != nil || inserted {
			t.Errorf("a migrated membership inserted again: %v, %v", inserted, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// schemaBefore applies every migration before the one named first to the
// empty store at target, recording each as applied, and returns the
// database with a placeholder maker for its dialect.
func schemaBefore(t *testing.T, target, first string) (*sql.DB, func(n int) string) {
	t.Helper()
	pg := IsPostgres(target)
	driver, dsn, dir := "sqlite", "file:"+filepath.Join(target, "belfry.db"), "migrations/sqlite"
	if pg {
		driver, dsn, dir = "pgx", target, "migrations/postgres"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	mark := func(n int) string {
		if pg {
			return "$" + strconv.Itoa(n)
		}
		return "?"
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	entries, err := migrations.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() >= first {
			continue
		}
		body, _ := migrations.ReadFile(dir + "/" + e.Name())
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (name) VALUES (`+mark(1)+`)`, e.Name()); err != nil {
			t.Fatal(err)
		}
	}
	return db, mark
}

// TestLastMessageSeenMigration: migration 0008 fills the last-message times
// it adds from the messages already stored: each subchannel's last
// untargeted message, each user's last targeted one by channel, and each
// channel's last message of any kind (expiration).
func TestLastMessageSeenMigration(t *testing.T) { onBothStores(t, testLastMessageSeenMigration) }

func testLastMessageSeenMigration(t *testing.T, target string) {
	ctx := context.Background()
	db, _ := schemaBefore(t, target, "0008")
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	user := func(u string) string { return ai + "/user/" + u }
	x, el := ai+"/channel/x", ai+"/channel/e"
	rows := []string{
		`INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms) VALUES ('` + ai + `', 'us-east-1:123456789012', 'n', '', 1, 1)`,
	}
	for _, u := range []string{"a", "b", "c"} {
		rows = append(rows, `INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES ('`+user(u)+`', '`+ai+`', 'user', '`+u+`', '', 1, 1)`)
	}
	// x is a plain channel; e an elastic one with subchannels s1 (a, b) and s2 (c).
	rows = append(rows,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, last_message_ms, expiration)
			VALUES ('`+x+`', '`+ai+`', 'x', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 10, '{"ExpirationDays":1,"ExpirationCriterion":"LAST_MESSAGE_TIMESTAMP"}')`,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, last_message_ms, max_sub_channels, target_per_sub_channel, min_membership_pct)
			VALUES ('`+el+`', '`+ai+`', 'e', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 30, 4, 2, 50)`,
		`INSERT INTO sub_channels (channel_arn, sub_channel_id, member_count, created_ms) VALUES ('`+el+`', 's1', 2, 1), ('`+el+`', 's2', 1, 1)`)
	for _, m := range [][3]string{{x, "a", ""}, {x, "b", ""}, {x, "c", ""}, {el, "a", "s1"}, {el, "b", "s1"}, {el, "c", "s2"}} {
		rows = append(rows, `INSERT INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
			VALUES ((SELECT seq FROM channels WHERE arn = '`+m[0]+`'), (SELECT seq FROM identities WHERE arn = '`+user(m[1])+`'), '`+m[2]+`', 'DEFAULT', '`+user("a")+`', 1, 1)`)
	}
	// x: untargeted at 10, a→b at 20. e: untargeted in s1 at 30, c→c in s2 at 40.
	for i, m := range []struct {
		ch, sub, sender, target string
		at                      int
	}{{x, "", "a", "", 10}, {x, "", "a", "b", 20}, {el, "s1", "b", "", 30}, {el, "s2", "c", "c", 40}} {
		tgt := ""
		if m.target != "" {
			tgt = user(m.target)
		}
		rows = append(rows, `INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, target_arn, redacted, created_ms, updated_ms, sub_channel_id)
			VALUES ('`+m.ch+`', 'm`+strconv.Itoa(i)+`', '`+user(m.sender)+`', 'STANDARD', 'hi', '', '', '`+tgt+`', false, `+strconv.Itoa(m.at)+`, `+strconv.Itoa(m.at)+`, '`+m.sub+`')`)
	}
	st := execThenOpen(t, db, rows, target)
	err := st.Read(ctx, func(tx *Tx) error {
		want := map[string]string{"a": "x=20 e=30", "b": "x=20 e=30", "c": "x=10 e=40"}
		for u, w := range want {
			seen, err := tx.LastMessagesSeen(user(u), []string{x, el})
			if err != nil {
				return err
			}
			got := fmt.Sprintf("x=%d e=%d", seen[x].UnixMilli(), seen[el].UnixMilli())
			if got != w {
				t.Errorf("%s sees %s after the migration, want %s", u, got, w)
			}
		}
		exp, err := tx.ExpiringChannels()
		if err != nil {
			return err
		}
		if len(exp) != 1 || exp[0].Arn != x || exp[0].LastActivity == nil || exp[0].LastActivity.UnixMilli() != 20 {
			t.Errorf("expiring channels after the migration: %+v, want x active at 20", exp)
		}
		var eActivity int64
		if err := tx.queryRow(`SELECT last_activity_ms FROM channels WHERE arn = ?`, el).Scan(&eActivity); err != nil {
			return err
		}
		if eActivity != 40 {
			t.Errorf("e's last activity %d after the migration, want 40", eActivity)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLastMessageAgainMigration: migration 0013 computes the last message
// times again from the messages that remain, which builds before 4138d82
// left at a deleted message's time.
func TestLastMessageAgainMigration(t *testing.T) { onBothStores(t, testLastMessageAgainMigration) }

func testLastMessageAgainMigration(t *testing.T, target string) {
	ctx := context.Background()
	db, _ := schemaBefore(t, target, "0013")
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	user := func(u string) string { return ai + "/user/" + u }
	x, el := ai+"/channel/x", ai+"/channel/e"
	rows := []string{
		`INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms) VALUES ('` + ai + `', 'us-east-1:123456789012', 'n', '', 1, 1)`,
	}
	for _, u := range []string{"a", "b", "c"} {
		rows = append(rows, `INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES ('`+user(u)+`', '`+ai+`', 'user', '`+u+`', '', 1, 1)`)
	}
	// x is a plain channel; e an elastic one with subchannels s1 (a, b) and
	// s2 (c). Their stored times are those of messages deleted since: 50,
	// 60 (s1) and 70 (a's and c's targeted ones in x).
	rows = append(rows,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, last_message_ms, last_activity_ms)
			VALUES ('`+x+`', '`+ai+`', 'x', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 50, 70)`,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, last_message_ms, last_activity_ms, max_sub_channels, target_per_sub_channel, min_membership_pct)
			VALUES ('`+el+`', '`+ai+`', 'e', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 60, 60, 4, 2, 50)`,
		`INSERT INTO sub_channels (channel_arn, sub_channel_id, member_count, created_ms, last_message_ms) VALUES ('`+el+`', 's1', 2, 1, 60), ('`+el+`', 's2', 1, 1, NULL)`)
	for _, m := range [][3]string{{x, "a", ""}, {x, "b", ""}, {x, "c", ""}, {el, "a", "s1"}, {el, "b", "s1"}, {el, "c", "s2"}} {
		rows = append(rows, `INSERT INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
			VALUES ((SELECT seq FROM channels WHERE arn = '`+m[0]+`'), (SELECT seq FROM identities WHERE arn = '`+user(m[1])+`'), '`+m[2]+`', 'DEFAULT', '`+user("a")+`', 1, 1)`)
	}
	for _, u := range []string{"a", "c"} {
		rows = append(rows, `INSERT INTO last_targeted (channel_id, member_id, last_ms)
			VALUES ((SELECT seq FROM channels WHERE arn = '`+x+`'), (SELECT seq FROM identities WHERE arn = '`+user(u)+`'), 70)`)
	}
	// What remains. x: untargeted at 10, a→b at 20. e: untargeted in s1 at 30.
	for i, m := range []struct {
		ch, sub, sender, target string
		at                      int
	}{{x, "", "a", "", 10}, {x, "", "a", "b", 20}, {el, "s1", "b", "", 30}} {
		tgt := ""
		if m.target != "" {
			tgt = user(m.target)
		}
		rows = append(rows, `INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, target_arn, redacted, created_ms, updated_ms, sub_channel_id)
			VALUES ('`+m.ch+`', 'm`+strconv.Itoa(i)+`', '`+user(m.sender)+`', 'STANDARD', 'hi', '', '', '`+tgt+`', false, `+strconv.Itoa(m.at)+`, `+strconv.Itoa(m.at)+`, '`+m.sub+`')`)
	}
	st := execThenOpen(t, db, rows, target)
	err := st.Read(ctx, func(tx *Tx) error {
		// c is in s2, which has no message left.
		want := map[string]string{"a": "x=20 e=30", "b": "x=20 e=30", "c": "x=10 e=0"}
		for u, w := range want {
			seen, err := tx.LastMessagesSeen(user(u), []string{x, el})
			if err != nil {
				return err
			}
			got := fmt.Sprintf("x=%d e=%d", seen[x].UnixMilli(), seen[el].UnixMilli())
			if seen[el].IsZero() {
				got = fmt.Sprintf("x=%d e=0", seen[x].UnixMilli())
			}
			if got != w {
				t.Errorf("%s sees %s after the migration, want %s", u, got, w)
			}
		}
		for ch, w := range map[string]int64{x: 10, el: 30} {
			c, err := tx.GetChannel(ch)
			if err != nil {
				return err
			}
			if c.LastMessage == nil || c.LastMessage.UnixMilli() != w {
				t.Errorf("%s's last message after the migration: %v, want %d", ch, c.LastMessage, w)
			}
		}
		var activity int64
		if err := tx.queryRow(`SELECT last_activity_ms FROM channels WHERE arn = ?`, x).Scan(&activity); err != nil {
			return err
		}
		if activity != 70 {
			t.Errorf("x's last activity %d after the migration, want 70 (kept)", activity)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// execThenOpen runs rows on db (a store as an older schema left it), closes
// it, and opens the store at target, which migrates it; the test closes it.
func execThenOpen(t *testing.T, db *sql.DB, rows []string, target string) *Store {
	t.Helper()
	for _, q := range rows {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v: %s", err, q)
		}
	}
	db.Close()
	st, err := Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRecountMembersMigration: migration 0009 sets every channel's member
// count to its memberships, repairing those the group writer left wrong
// (TestGroupMemberCountOfAChannelCreatedAgain).
func TestRecountMembersMigration(t *testing.T) { onBothStores(t, testRecountMembersMigration) }

func testRecountMembersMigration(t *testing.T, target string) {
	ctx := context.Background()
	db, _ := schemaBefore(t, target, "0009")
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	user := func(u string) string { return ai + "/user/" + u }
	rows := []string{
		`INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms) VALUES ('` + ai + `', 'us-east-1:123456789012', 'n', '', 1, 1)`,
	}
	for _, u := range []string{"a", "b", "c"} {
		rows = append(rows, `INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES ('`+user(u)+`', '`+ai+`', 'user', '`+u+`', '', 1, 1)`)
	}
	// x counts 5 for its 2 members, y 0 for its 1, z 3 for its 3.
	want := map[string]int{"x": 2, "y": 1, "z": 3, "empty": 0}
	for c, kept := range map[string]int{"x": 5, "y": 0, "z": 3, "empty": 4} {
		rows = append(rows, `INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count)
			VALUES ('`+ai+`/channel/`+c+`', '`+ai+`', '`+c+`', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, `+strconv.Itoa(kept)+`)`)
	}
	for _, m := range [][2]string{{"x", "a"}, {"x", "b"}, {"y", "c"}, {"z", "a"}, {"z", "b"}, {"z", "c"}} {
		rows = append(rows, `INSERT INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
			VALUES ((SELECT seq FROM channels WHERE arn = '`+ai+`/channel/`+m[0]+`'), (SELECT seq FROM identities WHERE arn = '`+user(m[1])+`'), '', 'DEFAULT', '`+user("a")+`', 1, 1)`)
	}
	st := execThenOpen(t, db, rows, target)
	err := st.Read(ctx, func(tx *Tx) error {
		for c, w := range want {
			n, err := tx.CountMemberships(ai + "/channel/" + c)
			if err != nil {
				return err
			}
			if n != w {
				t.Errorf("channel %s counts %d members after the migration, want %d", c, n, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOrphanRepairMigration: migration 0010 deletes what PostgreSQL races
// (fixed with it) left of deleted users and channels, those inherited by a
// user or channel created again under the same ARN included, and counts
// again what followed them; what is whole stays as it was.
func TestOrphanRepairMigration(t *testing.T) { onBothStores(t, testOrphanRepairMigration) }

func testOrphanRepairMigration(t *testing.T, target string) {
	ctx := context.Background()
	db, _ := schemaBefore(t, target, "0010")
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	user := func(u string) string { return ai + "/user/" + u }
	x, el, gone := ai+"/channel/x", ai+"/channel/e", ai+"/channel/gone"
	rows := []string{
		`INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms) VALUES ('` + ai + `', 'us-east-1:123456789012', 'n', '', 1, 1)`,
	}
	for _, u := range []string{"a", "b", "ghost"} {
		rows = append(rows, `INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES ('`+user(u)+`', '`+ai+`', 'user', '`+u+`', '', 1, 1)`)
	}
	// reborn and again were created anew (at 5 s) under the ARN of a deleted
	// user and channel, whose moderator role and message (at 1 ms) were left.
	again := ai + "/channel/again"
	rows = append(rows,
		`INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES ('`+user("reborn")+`', '`+ai+`', 'user', 'r', '', 5000, 5000)`,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count)
			VALUES ('`+again+`', '`+ai+`', 'again', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 5000, 5000, 0)`,
		`INSERT INTO moderators (channel_arn, moderator_arn, created_by, created_ms) VALUES ('`+x+`', '`+user("reborn")+`', '`+user("a")+`', 1)`,
		`INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, target_arn, redacted, created_ms, updated_ms, sub_channel_id)
			VALUES ('`+again+`', 'm3', '`+user("a")+`', 'STANDARD', 'old', '', '', '', false, 1, 1, '')`,
		`INSERT INTO sub_channels (channel_arn, sub_channel_id, member_count, created_ms) VALUES ('`+ai+`/channel/gone', 's9', 0, 1)`)
	rows = append(rows,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count)
			VALUES ('`+x+`', '`+ai+`', 'x', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 3)`,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count, max_sub_channels, target_per_sub_channel, min_membership_pct)
			VALUES ('`+el+`', '`+ai+`', 'e', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 3, 4, 2, 50)`,
		`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count)
			VALUES ('`+gone+`', '`+ai+`', 'gone', 'UNRESTRICTED', 'PUBLIC', '', '`+user("a")+`', 1, 1, 1)`,
		`INSERT INTO sub_channels (channel_arn, sub_channel_id, member_count, created_ms) VALUES ('`+el+`', 's1', 2, 1)`,
		`INSERT INTO moderators (channel_arn, moderator_arn, created_by, created_ms) VALUES ('`+el+`', '`+user("b")+`', '`+user("a")+`', 1), ('`+x+`', '`+user("ghost")+`', '`+user("a")+`', 1)`,
		`INSERT INTO tags (resource_arn, key, value) VALUES ('`+x+`', 'k', 'v'), ('`+gone+`', 'k', 'v'), ('`+user("ghost")+`', 'k', 'v')`,
		`INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, target_arn, redacted, created_ms, updated_ms, sub_channel_id)
			VALUES ('`+gone+`', 'm1', '`+user("a")+`', 'STANDARD', 'hi', '', '', '', false, 1, 1, ''), ('`+x+`', 'm2', '`+user("a")+`', 'STANDARD', 'hi', '', '', '', false, 1, 1, ''),
			('`+x+`', 'm3', '`+user("a")+`', 'STANDARD', 'hi', '', '', '`+user("a")+`', false, 5, 5, '')`)
	// x: a, b and the ghost; e's s1: a (regular) and b (a moderator); gone: a.
	for _, m := range [][3]string{{x, "a", ""}, {x, "b", ""}, {x, "ghost", ""}, {el, "a", "s1"}, {el, "b", "s1"}, {gone, "a", ""}} {
		rows = append(rows, `INSERT INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
			VALUES ((SELECT seq FROM channels WHERE arn = '`+m[0]+`'), (SELECT seq FROM identities WHERE arn = '`+user(m[1])+`'), '`+m[2]+`', 'DEFAULT', '`+user("a")+`', 1, 1)`)
	}
	rows = append(rows, `INSERT INTO last_targeted (channel_id, member_id, last_ms) VALUES
		((SELECT seq FROM channels WHERE arn = '`+x+`'), (SELECT seq FROM identities WHERE arn = '`+user("a")+`'), 5),
		((SELECT seq FROM channels WHERE arn = '`+x+`'), (SELECT seq FROM identities WHERE arn = '`+user("ghost")+`'), 5)`,
		// Then the ghost user and the gone channel are deleted, as the races did, leaving their rows.
		`DELETE FROM identities WHERE arn = '`+user("ghost")+`'`,
		`DELETE FROM channels WHERE arn = '`+gone+`'`)
	st := execThenOpen(t, db, rows, target)
	err := st.Read(ctx, func(tx *Tx) error {
		counts := map[string]string{
			"memberships":   `SELECT COUNT(*) FROM memberships`,
			"moderators":    `SELECT COUNT(*) FROM moderators`,
			"last_targeted": `SELECT COUNT(*) FROM last_targeted`,
			"messages":      `SELECT COUNT(*) FROM messages`,
			"tags":          `SELECT COUNT(*) FROM tags`,
			"x members":     `SELECT member_count FROM channels WHERE arn = '` + x + `'`,
			"e members":     `SELECT member_count FROM channels WHERE arn = '` + el + `'`,
			"s1 members":    `SELECT member_count FROM sub_channels WHERE sub_channel_id = 's1'`,
			"sub_channels":  `SELECT COUNT(*) FROM sub_channels`,
		}
		want := map[string]int{"memberships": 4, "moderators": 1, "last_targeted": 1, "messages": 2, "tags": 1,
			"x members": 2, "e members": 2, "s1 members": 1, "sub_channels": 1}
		for what, q := range counts {
			var n int
			if err := tx.queryRow(q).Scan(&n); err != nil {
				return err
			}
			if n != want[what] {
				t.Errorf("%s: %d after the migration, want %d", what, n, want[what])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNewerSchemaRefused: a build does not start on a database that a newer
// build migrated (a migration it does not know is recorded): it would answer
// wrongly or 500 on columns it does not know, where a rollback must stop.
func TestNewerSchemaRefused(t *testing.T) { onBothStores(t, testNewerSchemaRefused) }

func testNewerSchemaRefused(t *testing.T, target string) {
	ctx := context.Background()
	st, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, func(tx *Tx) error {
		_, err := tx.exec(`INSERT INTO schema_migrations (name) VALUES ('9999_from_the_future.sql')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Open(ctx, target)
	if err == nil {
		st.Close()
		t.Fatal("a database with an unknown migration opened")
	}
	if !strings.Contains(err.Error(), "9999_from_the_future.sql") || !strings.Contains(err.Error(), "newer Belfry") {
		t.Errorf("error %q does not name the unknown migration and say what to do", err)
	}
}
