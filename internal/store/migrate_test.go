package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belfry/belfry/internal/store/storetest"
)

// TestMembershipKeysMigration: a database written before memberships were
// keyed by integers (migration 0007) keeps every membership through the
// migration, each found again by channel and by member, and loses only
// those whose channel or member was gone (unreachable before too).
func TestMembershipKeysMigration(t *testing.T) {
	targets := map[string]string{"sqlite": t.TempDir()}
	if dsn := os.Getenv(storetest.PostgresEnv); dsn != "" {
		targets["postgres"] = storetest.FreshSchema(t, dsn)
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) { testMembershipKeysMigration(t, target) })
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
	for _, q := range rows {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%v: %s", err, q)
		}
	}
	db.Close()

	st, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
