package service

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
	"github.com/belfry/belfry/internal/store/storetest"
)

// TestReapersOfOneStoreNeverDeadlock: two nodes of one PostgreSQL store reap
// at the same moment, over several app instances whose messages, channels
// and users have expired. Each reaper takes its locks in one order (app
// instances, then users, then channels, each sorted; retention.go), so
// neither ever waits for the other in a cycle: no transaction is retried as
// a deadlock, and what expired is gone while the rest stays. SQLite has one
// writer, so this concerns PostgreSQL only.
func TestReapersOfOneStoreNeverDeadlock(t *testing.T) {
	dsn := storetest.Schema(t)
	ctx := context.Background()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var stores [2]*store.Store
	var svcs [2]*Service
	for i := range stores {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if svcs[i], err = New(ctx, st, Options{Now: clock}); err != nil {
			t.Fatal(err)
		}
		stores[i] = st
	}
	svc := svcs[0]
	admin := chime.Principal{Region: "us-east-1", Account: "123456789012", Scope: chime.Scope{Kind: chime.ScopeAccount}}
	day := &chime.ExpirationSettings{ExpirationDays: 1, ExpirationCriterion: "CREATED_TIMESTAMP"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const apps, users, messages = 6, 3, 4
	for round := range 4 {
		type kept struct{ user, channel string }
		var expiredUsers, expiredChannels []string
		var keep []kept
		for a := range apps {
			ai, err := svc.CreateAppInstance(ctx, admin, CreateAppInstanceInput{Name: fmt.Sprintf("r%d-a%d", round, a), ClientRequestToken: fmt.Sprintf("r%d-a%d", round, a)})
			must(err)
			_, err = svc.PutAppInstanceRetentionSettings(ctx, ai, 1)
			must(err)
			owner, err := svc.CreateAppInstanceUser(ctx, CreateIdentityInput{AppInstanceArn: ai, ID: "owner", Name: "owner", ClientRequestToken: ai + "owner"})
			must(err)
			var members []string
			for u := range users {
				arn, err := svc.CreateAppInstanceUser(ctx, CreateIdentityInput{AppInstanceArn: ai, ID: fmt.Sprintf("u%d", u), Name: "u", Expiration: day, ClientRequestToken: fmt.Sprintf("%s-u%d", ai, u)})
				must(err)
				members = append(members, arn)
				expiredUsers = append(expiredUsers, arn)
			}
			caller := chime.Caller{Principal: admin, Bearer: owner}
			expiring, err := svc.CreateChannel(ctx, caller, CreateChannelInput{AppInstanceArn: ai, Name: "expiring", MemberArns: members, Expiration: day, ClientRequestToken: ai + "expiring"})
			must(err)
			expiredChannels = append(expiredChannels, expiring)
			lasting, err := svc.CreateChannel(ctx, caller, CreateChannelInput{AppInstanceArn: ai, Name: "lasting", MemberArns: members, ClientRequestToken: ai + "lasting"})
			must(err)
			keep = append(keep, kept{owner, lasting})
			for m := range messages {
				_, err := svc.SendChannelMessage(ctx, caller, SendChannelMessageInput{ChannelArn: lasting, Content: fmt.Sprint(m), Type: "STANDARD", Persistence: "PERSISTENT",
					ClientRequestToken: fmt.Sprintf("%s-m%d", lasting, m)})
				must(err)
			}
		}
		mu.Lock()
		now = now.Add(2 * 24 * time.Hour)
		mu.Unlock()
		failed := stores[0].Stats().FailedTxs + stores[1].Stats().FailedTxs
		var wg sync.WaitGroup
		errs := make([]error, len(svcs))
		for i, s := range svcs {
			wg.Go(func() { _, errs[i] = s.Reap(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: reaper %d: %v", round, i, err)
			}
		}
		if n := stores[0].Stats().FailedTxs + stores[1].Stats().FailedTxs - failed; n != 0 {
			t.Errorf("round %d: %d reaper transactions failed and were run again (a deadlock between the reapers)", round, n)
		}
		must(stores[0].Read(ctx, func(tx *store.Tx) error {
			for _, u := range expiredUsers {
				if _, err := tx.GetIdentity(u); err != store.ErrNotFound {
					return fmt.Errorf("round %d: expired user %s: %v, want it gone", round, u, err)
				}
			}
			for _, ch := range expiredChannels {
				if _, err := tx.GetChannel(ch); err != store.ErrNotFound {
					return fmt.Errorf("round %d: expired channel %s: %v, want it gone", round, ch, err)
				}
			}
			for _, k := range keep {
				if _, err := tx.GetIdentity(k.user); err != nil {
					return fmt.Errorf("round %d: user %s without expiration: %v", round, k.user, err)
				}
				if _, err := tx.GetChannel(k.channel); err != nil {
					return fmt.Errorf("round %d: channel %s without expiration: %v", round, k.channel, err)
				}
			}
			return nil
		}))
	}
}

// TestReapInBatches: one pass (one call of Reap) reaps every expired user and
// channel and every message past retention however many there are, in
// transactions of reapBatch users and reapBatch channels, then of
// retentionBatch messages. The short form, in the suite, makes the batches
// small.
// The long form reaps more users than a statement may have parameters
// (SQLite's SQLITE_MAX_VARIABLE_NUMBER is 32,766 in modernc.org/sqlite,
// PostgreSQL takes 65,535) in batches of the real size: on PostgreSQL a pass
// that deleted them all in one transaction ran past the 30 s a transaction
// has (about 20,000 users), every pass. It takes about 2 minutes there:
//
//	BELFRY_REAP_MANY=66000,2500,1000000 go test -count=1 -run TestReapInBatches -v ./internal/service   # users,channels,messages
//
// The users, channels and messages are inserted in bulk, copies of one the
// API created.
func TestReapInBatches(t *testing.T) {
	n, channels, msgs := 40, 25, 20
	const keptCopies = 9 // channels kept besides "kept", each with as many old messages (one also in a subchannel)
	if v := os.Getenv("BELFRY_REAP_MANY"); v != "" {
		if _, err := fmt.Sscanf(v, "%d,%d,%d", &n, &channels, &msgs); err != nil || n < 1 || channels < 1 || msgs < 1 {
			t.Fatalf("BELFRY_REAP_MANY=%q is not users,channels,messages", v)
		}
	} else {
		defer func(b, m int) { reapBatch, retentionBatch = b, m }(reapBatch, retentionBatch)
		reapBatch, retentionBatch = 7, 6
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			target, driver, dsn := t.TempDir(), "sqlite", ""
			if db == "postgres" {
				target = storetest.Schema(t)
				driver, dsn = "pgx", target
			} else {
				dsn = "file:" + target + "/belfry.db?_pragma=busy_timeout(10000)"
			}
			t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			now := t0
			open := func() (*store.Store, *Service) {
				st, err := store.Open(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				svc, err := New(ctx, st, Options{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				return st, svc
			}
			st, svc := open()
			admin := chime.Principal{Region: "us-east-1", Account: "123456789012", Scope: chime.Scope{Kind: chime.ScopeAccount}}
			ai, err := svc.CreateAppInstance(ctx, admin, CreateAppInstanceInput{Name: "many", ClientRequestToken: "many"})
			if err != nil {
				t.Fatal(err)
			}
			day := &chime.ExpirationSettings{ExpirationDays: 1, ExpirationCriterion: "CREATED_TIMESTAMP"}
			tmpl, err := svc.CreateAppInstanceUser(ctx, CreateIdentityInput{AppInstanceArn: ai, ID: "u", Name: "u", Expiration: day, ClientRequestToken: "u"})
			if err != nil {
				t.Fatal(err)
			}
			keep, err := svc.CreateAppInstanceUser(ctx, CreateIdentityInput{AppInstanceArn: ai, ID: "keep", Name: "keep", ClientRequestToken: "keep"})
			if err != nil {
				t.Fatal(err)
			}
			caller := chime.Caller{Principal: admin, Bearer: keep}
			ch, err := svc.CreateChannel(ctx, caller, CreateChannelInput{AppInstanceArn: ai, Name: "c", Expiration: day, ClientRequestToken: "c"})
			if err != nil {
				t.Fatal(err)
			}
			kept, err := svc.CreateChannel(ctx, caller, CreateChannelInput{AppInstanceArn: ai, Name: "kept", ClientRequestToken: "kept"})
			if err != nil {
				t.Fatal(err)
			}
			send := func(content string) chime.Message {
				t.Helper()
				m, err := svc.SendChannelMessage(ctx, caller, SendChannelMessageInput{ChannelArn: kept, Content: content, Type: "STANDARD", Persistence: "PERSISTENT", ClientRequestToken: content})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			old := send("old")
			if _, err := svc.PutAppInstanceRetentionSettings(ctx, ai, 1); err != nil {
				t.Fatal(err)
			}
			st.Close()
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(n) + `)
				INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, expiration, created_ms, updated_ms)
				SELECT u.arn || '-' || n.i, u.app_instance_arn, u.kind, u.name, u.metadata, u.expiration, u.created_ms, u.updated_ms
				FROM n, identities u WHERE u.arn = '` + tmpl + `'`,
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(channels) + `)
				INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, expiration, created_ms, updated_ms)
				SELECT c.arn || '-' || n.i, c.app_instance_arn, c.name, c.mode, c.privacy, c.metadata, c.created_by, c.expiration, c.created_ms, c.updated_ms
				FROM n, channels c WHERE c.arn = '` + ch + `'`,
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(msgs) + `)
				INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, attributes, push, target_arn, redacted, created_ms, updated_ms, edited_ms, sub_channel_id)
				SELECT m.channel_arn, m.message_id || '-' || n.i, m.sender_arn, m.type, m.content, m.metadata, m.content_type, m.attributes, m.push, m.target_arn, m.redacted, m.created_ms + n.i, m.updated_ms, m.edited_ms, m.sub_channel_id
				FROM n, messages m WHERE m.message_id = '` + old.MessageID + `'`,
				// More channels kept than a retention batch deletes messages,
				// with keptCopies old messages each: the batches go from
				// channel to channel.
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(keptCopies) + `)
				INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, expiration, created_ms, updated_ms)
				SELECT c.arn || '-' || n.i, c.app_instance_arn, c.name, c.mode, c.privacy, c.metadata, c.created_by, c.expiration, c.created_ms, c.updated_ms
				FROM n, channels c WHERE c.arn = '` + kept + `'`,
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(keptCopies) + `)
				INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, attributes, push, target_arn, redacted, created_ms, updated_ms, edited_ms, sub_channel_id)
				SELECT m.channel_arn || '-' || n.i, m.message_id || '-' || n.i || '-' || k.i, m.sender_arn, m.type, m.content, m.metadata, m.content_type, m.attributes, m.push, m.target_arn, m.redacted, m.created_ms, m.updated_ms, m.edited_ms, m.sub_channel_id
				FROM n, n k, messages m WHERE m.message_id = '` + old.MessageID + `'`,
				// And one of them a subchannel, with as many old messages again.
				`INSERT INTO sub_channels (channel_arn, sub_channel_id, member_count, created_ms) VALUES ('` + kept + `-1', 's1', 0, 1)`,
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(keptCopies) + `)
				INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, attributes, push, target_arn, redacted, created_ms, updated_ms, edited_ms, sub_channel_id)
				SELECT m.channel_arn || '-1', m.message_id || '-s1-' || n.i, m.sender_arn, m.type, m.content, m.metadata, m.content_type, m.attributes, m.push, m.target_arn, m.redacted, m.created_ms, m.updated_ms, m.edited_ms, 's1'
				FROM n, messages m WHERE m.message_id = '` + old.MessageID + `'`,
				`UPDATE app_instances SET user_count = user_count + ` + fmt.Sprint(n) + `, channel_count = channel_count + ` + fmt.Sprint(channels+keptCopies) + ` WHERE arn = '` + ai + `'`,
			} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			st, svc = open()
			defer st.Close()
			now = t0.Add(2 * 24 * time.Hour)
			recent := send("recent")
			start := time.Now()
			reaped, err := svc.Reap(ctx)
			if err != nil {
				t.Fatalf("reaping %d users: %v", n+1, err)
			}
			t.Logf("%s: reaped %d users, %d channels and %d messages in %v", db, reaped.Users, reaped.Channels, reaped.Messages, time.Since(start))
			if reaped.Users != n+1 || reaped.Channels != channels+1 || reaped.Messages != int64(msgs+1+keptCopies*keptCopies+keptCopies) {
				t.Errorf("reaped %d users, %d channels and %d messages, want %d, %d and %d", reaped.Users, reaped.Channels, reaped.Messages, n+1, channels+1, msgs+1+keptCopies*keptCopies+keptCopies)
			}
			// The tokens of the app instance, the two users, the two channels
			// and the old message are past their 24 hours; the recent one's
			// still replays.
			if reaped.Tokens != 6 {
				t.Errorf("reaped %d ClientRequestToken uses, want 6", reaped.Tokens)
			}
			if again := send("recent"); again.MessageID != recent.MessageID {
				t.Errorf("the recent message's token replayed as %s, want %s", again.MessageID, recent.MessageID)
			}
			left, _, _, err := svc.ListChannelMessages(ctx, caller, ListChannelMessagesInput{ChannelArn: kept})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 1 || left[0].MessageID != recent.MessageID {
				t.Errorf("%d messages left in the channel, want only the one sent within the retention", len(left))
			}
			err = st.Read(ctx, func(tx *store.Tx) error {
				if left, err := tx.ExpiringIdentities(); err != nil || len(left) != 0 {
					return fmt.Errorf("%d expiring users left after the pass (%v)", len(left), err)
				}
				if left, err := tx.ExpiringChannels(); err != nil || len(left) != 0 {
					return fmt.Errorf("%d expiring channels left after the pass (%v)", len(left), err)
				}
				if _, err := tx.GetChannel(kept); err != nil {
					return fmt.Errorf("the channel without expiration: %w", err)
				}
				users, err := tx.CountIdentities(ai, chime.KindUser)
				if err != nil || users != 1 {
					return fmt.Errorf("%d users counted on the app instance (%v), want 1", users, err)
				}
				_, err = tx.GetIdentity(keep)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
