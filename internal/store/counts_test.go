package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store/storetest"
)

// TestAppInstanceCounts, on SQLite and (with BELFRY_TEST_POSTGRES) on
// PostgreSQL: the counts of channels, elastic channels, users and bots kept
// on each app instance's row are what COUNT(*) finds, after inserts, after
// deletes (of rows that exist and of rows that do not), after transactions
// that inserted and then failed (several at once, so that on SQLite they
// share a commit group), after the expired users and channels are deleted
// as the reaper does it, after an app instance is deleted, and after
// migration 0006 fills them in from the rows of an existing database.
func TestAppInstanceCounts(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testAppInstanceCounts(t, t.TempDir()) })
	t.Run("postgres", func(t *testing.T) {
		testAppInstanceCounts(t, storetest.Schema(t))
	})
}

// appCounts are an app instance's counts: as kept on its row, or as counted.
type appCounts struct{ channels, elastic, users, bots int }

func (c appCounts) String() string {
	return fmt.Sprintf("%d channels (%d elastic), %d users, %d bots", c.channels, c.elastic, c.users, c.bots)
}

func testAppInstanceCounts(t *testing.T, target string) {
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
	const owner = "us-east-1:123456789012"
	a, b := "arn:aws:chime:us-east-1:123456789012:app-instance/a", "arn:aws:chime:us-east-1:123456789012:app-instance/b"
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := st.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	identity := func(ai, kind, id string) chime.AppInstanceUser {
		return chime.AppInstanceUser{Arn: ai + "/" + kind + "/" + id, AppInstanceArn: ai, Kind: kind, Name: id, Created: now, Updated: now}
	}
	channel := func(ai, id string, elastic bool) chime.Channel {
		c := chime.Channel{Arn: ai + "/channel/" + id, AppInstanceArn: ai, Name: id, Mode: "RESTRICTED", Privacy: "PUBLIC",
			CreatedBy: chime.Identity{Arn: ai + "/user/u0"}, Created: now, Updated: now}
		if elastic {
			c.Elastic = &chime.ElasticConfig{MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 2, MinimumMembershipPercentage: 10}
		}
		return c
	}
	// populate inserts n users, bots and channels (the first channel elastic)
	// into ai, with ids that start with prefix; the first user joins every channel.
	populate := func(tx *Tx, ai, prefix string, users, bots, channels int) error {
		for i := 0; i < users; i++ {
			if err := tx.InsertIdentity(identity(ai, chime.KindUser, fmt.Sprintf("%s%d", prefix, i))); err != nil {
				return err
			}
		}
		for i := 0; i < bots; i++ {
			if err := tx.InsertIdentity(identity(ai, chime.KindBot, fmt.Sprintf("%s%d", prefix, i))); err != nil {
				return err
			}
		}
		for i := 0; i < channels; i++ {
			c := channel(ai, fmt.Sprintf("%s%d", prefix, i), i == 0)
			if err := tx.InsertChannel(c); err != nil {
				return err
			}
			first := ai + "/user/" + prefix + "0"
			if _, err := tx.InsertMembership(chime.Membership{ChannelArn: c.Arn, Member: chime.Identity{Arn: first}, Type: "DEFAULT",
				InvitedBy: chime.Identity{Arn: first}, Created: now, Updated: now}); err != nil {
				return err
			}
		}
		return nil
	}
	// kept reads the counts through the store's Count methods (the quota checks).
	kept := func(tx *Tx, ai string) (appCounts, error) {
		var c appCounts
		var err error
		if c.channels, err = tx.CountChannels(ai); err != nil {
			return c, err
		}
		if c.elastic, err = tx.CountElasticChannels(ai); err != nil {
			return c, err
		}
		if c.users, err = tx.CountIdentities(ai, chime.KindUser); err != nil {
			return c, err
		}
		c.bots, err = tx.CountIdentities(ai, chime.KindBot)
		return c, err
	}
	// check compares, for both app instances, the counts kept with COUNT(*)
	// over the rows, and with what the test expects; it returns what it found.
	check := func(step string, want map[string]appCounts) {
		t.Helper()
		err := st.Read(ctx, func(tx *Tx) error {
			for _, ai := range []string{a, b} {
				var counted appCounts
				for _, q := range []struct {
					dest *int
					sql  string
				}{
					{&counted.channels, `SELECT COUNT(*) FROM channels WHERE app_instance_arn = ?`},
					{&counted.elastic, `SELECT COUNT(*) FROM channels WHERE app_instance_arn = ? AND max_sub_channels IS NOT NULL`},
					{&counted.users, `SELECT COUNT(*) FROM identities WHERE app_instance_arn = ? AND kind = 'user'`},
					{&counted.bots, `SELECT COUNT(*) FROM identities WHERE app_instance_arn = ? AND kind = 'bot'`},
				} {
					if err := tx.queryRow(q.sql, ai).Scan(q.dest); err != nil {
						return err
					}
				}
				got, err := kept(tx, ai)
				if err != nil {
					return err
				}
				if got != counted {
					t.Errorf("%s: %s keeps %v, its rows are %v", step, ai, got, counted)
				}
				if got != want[ai] {
					t.Errorf("%s: %s keeps %v, want %v", step, ai, got, want[ai])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}

	write(func(tx *Tx) error {
		for _, ai := range []string{a, b} {
			if err := tx.InsertAppInstance(owner, chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
				return err
			}
		}
		if err := populate(tx, a, "u", 5, 3, 4); err != nil {
			return err
		}
		return populate(tx, b, "u", 2, 1, 2)
	})
	want := map[string]appCounts{a: {4, 1, 5, 3}, b: {2, 1, 2, 1}}
	check("inserted", want)

	// Concurrent write transactions, every other one failing after its
	// inserts: only the ones that commit count. Each sees its own inserts
	// and no one else's.
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.Write(ctx, func(tx *Tx) error {
				// As the service's creates do: on PostgreSQL, the lock on the
				// app instance holds the count still until the commit.
				if _, err := tx.GetAppInstance(a); err != nil {
					return err
				}
				before, err := kept(tx, a)
				if err != nil {
					return err
				}
				if err := populate(tx, a, fmt.Sprintf("g%d-", i), 1, 1, 1); err != nil {
					return err
				}
				after, err := kept(tx, a)
				if err != nil {
					return err
				}
				if inc := (appCounts{before.channels + 1, before.elastic + 1, before.users + 1, before.bots + 1}); after != inc {
					return fmt.Errorf("inside the transaction: %v after inserting into %v", after, before)
				}
				if i%2 == 1 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 && !errors.Is(err, boom) || i%2 == 0 && err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	want[a] = appCounts{4 + 8, 1 + 8, 5 + 8, 3 + 8}
	check("after 8 commits and 8 rollbacks", want)

	// A duplicate is refused and counts nothing.
	for _, insert := range []func(tx *Tx) error{
		func(tx *Tx) error { return tx.InsertChannel(channel(a, "u1", false)) },
		func(tx *Tx) error { return tx.InsertIdentity(identity(a, chime.KindUser, "u1")) },
		func(tx *Tx) error { return tx.InsertIdentity(identity(a, chime.KindBot, "u1")) },
	} {
		if err := st.Write(ctx, insert); chime.KindOf(err) != chime.KindConflict {
			t.Fatalf("inserting a duplicate: %v, want a conflict", err)
		}
	}
	check("after duplicates", want)

	// Deletes: a standard and an elastic channel, one deleted twice; a user
	// with memberships, a bot; a channel and a user that do not exist.
	write(func(tx *Tx) error {
		for _, c := range []string{a + "/channel/u1", a + "/channel/u0", a + "/channel/u1", a + "/channel/none"} {
			if err := tx.DeleteChannel(c); err != nil {
				return err
			}
		}
		for _, u := range []string{a + "/user/u0", a + "/bot/u0", a + "/user/none", a + "/bot/u0"} {
			if err := tx.DeleteIdentity(u); err != nil {
				return err
			}
		}
		return nil
	})
	want[a] = appCounts{12 - 2, 9 - 1, 13 - 1, 11 - 1}
	check("deleted", want)

	// A failed transaction's deletes count nothing either.
	if err := st.Write(ctx, func(tx *Tx) error {
		if err := tx.DeleteChannel(a + "/channel/u2"); err != nil {
			return err
		}
		if err := tx.DeleteIdentity(a + "/user/u1"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed delete: %v", err)
	}
	check("after a rolled-back delete", want)

	// The expired users, bots and channels, deleted as the reaper deletes
	// them (service.Reap: ExpiringChannels, ExpiringIdentities, then
	// DeleteChannel and DeleteIdentity).
	expire := &chime.ExpirationSettings{ExpirationDays: 1, ExpirationCriterion: "CREATED_TIMESTAMP"}
	write(func(tx *Tx) error {
		for _, u := range []string{a + "/user/u1", a + "/user/u2", b + "/bot/u0"} {
			if err := tx.SetIdentityExpiration(u, expire); err != nil {
				return err
			}
		}
		for _, c := range []string{a + "/channel/g0-0", b + "/channel/u1"} {
			if err := tx.SetChannelExpiration(c, expire); err != nil {
				return err
			}
		}
		return nil
	})
	write(func(tx *Tx) error {
		channels, err := tx.ExpiringChannels()
		if err != nil {
			return err
		}
		for _, c := range channels {
			if err := tx.DeleteChannel(c.Arn); err != nil {
				return err
			}
		}
		users, err := tx.ExpiringIdentities()
		if err != nil {
			return err
		}
		if len(channels) != 2 || len(users) != 3 {
			return fmt.Errorf("%d channels and %d users expiring, want 2 and 3", len(channels), len(users))
		}
		for _, u := range users {
			if err := tx.DeleteIdentity(u.Arn); err != nil {
				return err
			}
		}
		return nil
	})
	want[a] = appCounts{10 - 1, 8 - 1, 12 - 2, 10}
	want[b] = appCounts{2 - 1, 1, 2, 1 - 1}
	check("expired deleted", want)

	// A deleted app instance counts nothing, and one created again with the
	// same ARN starts from nothing.
	write(func(tx *Tx) error { return tx.DeleteAppInstance(a) })
	want[a] = appCounts{}
	check("app instance deleted", want)
	write(func(tx *Tx) error {
		return tx.InsertAppInstance(owner, chime.AppInstance{Arn: a, Name: "again", Created: now, Updated: now})
	})
	check("app instance created again", want)
	write(func(tx *Tx) error { return populate(tx, a, "v", 3, 2, 2) })
	want[a] = appCounts{2, 1, 3, 2}
	check("app instance filled again", want)

	// Migration 0006 on a database that had the rows and not the counts:
	// the columns are dropped and the migration forgotten, then the store is
	// opened again.
	write(func(tx *Tx) error {
		for _, col := range []string{"channel_count", "elastic_channel_count", "user_count", "bot_count"} {
			if _, err := tx.exec(`ALTER TABLE app_instances DROP COLUMN ` + col); err != nil {
				return err
			}
		}
		_, err := tx.exec(`DELETE FROM schema_migrations WHERE name = ?`, "0006_app_instance_counts.sql")
		return err
	})
	st.Close()
	st = open()
	check("migrated", want)
}

// TestAppInstanceCountsAreOneRowRead: the per-app-instance quota checks
// (CountChannels, CountElasticChannels, CountIdentities) read the count on
// the app instance's row, found through its ARN's unique index, and count no
// rows: on SQLite each query's plan is one search of app_instances by arn,
// and on both engines what they return is the count on the row, even when it
// is set apart from the rows (which only this test ever does).
func TestAppInstanceCountsAreOneRowRead(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testAppInstanceCountsAreOneRowRead(t, t.TempDir()) })
	t.Run("postgres", func(t *testing.T) {
		testAppInstanceCountsAreOneRowRead(t, storetest.Schema(t))
	})
}

func testAppInstanceCountsAreOneRowRead(t *testing.T, target string) {
	ctx := context.Background()
	st, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/ai"
	now := time.Now()
	err = st.Write(ctx, func(tx *Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "n", Created: now, Updated: now}); err != nil {
			return err
		}
		for i := 0; i < 20; i++ {
			if err := tx.InsertIdentity(chime.AppInstanceUser{Arn: fmt.Sprintf("%s/user/u%d", ai, i), AppInstanceArn: ai, Kind: chime.KindUser,
				Name: "n", Created: now, Updated: now}); err != nil {
				return err
			}
			if err := tx.InsertChannel(chime.Channel{Arn: fmt.Sprintf("%s/channel/c%d", ai, i), AppInstanceArn: ai, Name: "c", Mode: "UNRESTRICTED",
				Privacy: "PUBLIC", CreatedBy: chime.Identity{Arn: ai + "/user/u0"}, Created: now, Updated: now}); err != nil {
				return err
			}
		}
		// Set apart from the rows: a count that reads rows would not see these.
		_, err := tx.exec(`UPDATE app_instances SET channel_count = 7001, elastic_channel_count = 7002, user_count = 7003, bot_count = 7004 WHERE arn = ?`, ai)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	queries := []string{countChannelsSQL, countElasticChannelsSQL, countUsersSQL, countBotsSQL}
	plans := map[string][]string{}
	st.explain = func(q string, plan []string) { plans[q] = plan }
	err = st.Write(ctx, func(tx *Tx) error {
		if !tx.pg {
			for _, q := range queries {
				tx.explainQuery(q, []any{ai})
			}
		}
		got := make([]int, 4)
		var err error
		if got[0], err = tx.CountChannels(ai); err != nil {
			return err
		}
		if got[1], err = tx.CountElasticChannels(ai); err != nil {
			return err
		}
		if got[2], err = tx.CountIdentities(ai, chime.KindUser); err != nil {
			return err
		}
		if got[3], err = tx.CountIdentities(ai, chime.KindBot); err != nil {
			return err
		}
		for i, w := range []int{7001, 7002, 7003, 7004} {
			if got[i] != w {
				t.Errorf("%s returned %d, the count on the row is %d", queries[i], got[i], w)
			}
		}
		// An app instance that does not exist has none.
		for _, q := range queries {
			if n, err := tx.appInstanceCount(q, ai+"-none"); n != 0 || err != nil {
				t.Errorf("%s of no app instance: %d, %v", q, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.pg {
		return
	}
	if len(plans) != len(queries) {
		t.Fatalf("explained %d queries, want %d", len(plans), len(queries))
	}
	for q, plan := range plans {
		joined := strings.Join(plan, " | ")
		if len(plan) != 1 || !strings.HasPrefix(plan[0], "SEARCH app_instances USING INDEX ") || !strings.HasSuffix(plan[0], "(arn=?)") {
			t.Errorf("not one search of app_instances by arn (%s):\n%s", joined, q)
		}
	}
}
