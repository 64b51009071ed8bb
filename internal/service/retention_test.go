package service

import (
	"context"
	"fmt"
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
