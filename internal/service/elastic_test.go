package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// elasticFixture is an elastic channel on a fresh embedded store with n
// users who may be added to it, driven through the service.
type elasticFixture struct {
	t     *testing.T
	ctx   context.Context
	svc   *Service
	st    *store.Store
	mod   chime.Caller
	ch    string
	cfg   chime.ElasticConfig
	users []string
}

// newTestService is a service on a fresh embedded store.
func newTestService(t *testing.T) (*Service, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(context.Background(), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// seedUser stores an app instance of account 123456789012 in us-east-1 and
// one user of it, straight in the store, as of t0.
func seedUser(t *testing.T, st *store.Store, ai, user string, t0 time.Time) {
	t.Helper()
	if err := st.Write(context.Background(), func(tx *store.Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "seeded", Created: t0, Updated: t0}); err != nil {
			return err
		}
		return tx.InsertIdentity(chime.AppInstanceUser{Arn: user, AppInstanceArn: ai, Kind: chime.KindUser, Name: "u", Created: t0, Updated: t0})
	}); err != nil {
		t.Fatal(err)
	}
}

func newElasticFixture(t *testing.T, cfg chime.ElasticConfig, n int) *elasticFixture {
	t.Helper()
	ctx := context.Background()
	svc, st := newTestService(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/elastic"
	f := &elasticFixture{t: t, ctx: ctx, svc: svc, st: st, mod: chime.Caller{Bearer: ai + "/user/mod"}, cfg: cfg}
	err := st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "e", Created: t0, Updated: t0}); err != nil {
			return err
		}
		for i := -1; i < n; i++ {
			arn := f.mod.Bearer
			if i >= 0 {
				arn = fmt.Sprintf("%s/user/u%03d", ai, i)
				f.users = append(f.users, arn)
			}
			if err := tx.InsertIdentity(chime.AppInstanceUser{Arn: arn, AppInstanceArn: ai, Kind: chime.KindUser, Name: "u", Created: t0, Updated: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ch, err = svc.CreateChannel(ctx, f.mod, CreateChannelInput{AppInstanceArn: ai, Name: "e", Elastic: &cfg}); err != nil {
		t.Fatal(err)
	}
	return f
}

// sizes checks the invariants of SEMANTICS.md §6 straight in the store —
// each subchannel's count is its number of memberships other than the
// moderator's (the fixture's only moderator), none is over the target, there are at most
// MaximumSubChannels, every member is in one subchannel — and returns the
// subchannels' sizes by id and the member count.
func (f *elasticFixture) sizes() (map[string]int, int) {
	f.t.Helper()
	sizes, total := map[string]int{}, 0
	err := f.st.Read(f.ctx, func(tx *store.Tx) error {
		subs, err := tx.SubChannels(f.ch)
		if err != nil {
			return err
		}
		if len(subs) > f.cfg.MaximumSubChannels {
			return fmt.Errorf("%d subchannels, at most %d", len(subs), f.cfg.MaximumSubChannels)
		}
		seen := map[string]bool{}
		for _, s := range subs {
			all, err := tx.MemberArnsIn(f.ch, s.ID)
			if err != nil {
				return err
			}
			arns := slices.DeleteFunc(all, func(a string) bool { return a == f.mod.Bearer })
			if len(arns) != s.MembershipCount || s.MembershipCount > f.cfg.TargetMembershipsPerSubChannel {
				return fmt.Errorf("subchannel %s: MembershipCount %d, %d members, target %d", s.ID, s.MembershipCount, len(arns),
					f.cfg.TargetMembershipsPerSubChannel)
			}
			for _, a := range arns {
				if seen[a] {
					return fmt.Errorf("%s is in two subchannels", a)
				}
				seen[a] = true
			}
			sizes[s.ID] = s.MembershipCount
			total += s.MembershipCount
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return sizes, total
}

func (f *elasticFixture) minimum() int {
	return (f.cfg.MinimumMembershipPercentage*f.cfg.TargetMembershipsPerSubChannel + 99) / 100
}

// noMergeLeft fails unless SCALE_IN is complete: no subchannel under the
// minimum could be absorbed by another (SEMANTICS.md §6 "Assignment").
func (f *elasticFixture) noMergeLeft(step string, sizes map[string]int) {
	f.t.Helper()
	for s, n := range sizes {
		if n >= f.minimum() {
			continue
		}
		for o, m := range sizes {
			if o != s && n+m <= f.cfg.TargetMembershipsPerSubChannel {
				f.t.Fatalf("%s: subchannel %s has %d members (< %d) and %s (%d) could absorb them: %v", step, s, n, f.minimum(), o, m, sizes)
			}
		}
	}
}

// subChannelIDs returns the subchannels in creation order.
func (f *elasticFixture) subChannelIDs() []string {
	f.t.Helper()
	var ids []string
	err := f.st.Read(f.ctx, func(tx *store.Tx) error {
		subs, err := tx.SubChannels(f.ch)
		for _, s := range subs {
			ids = append(ids, s.ID)
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return ids
}

// membersIn returns the members of one subchannel (moderators included).
func (f *elasticFixture) membersIn(sub string) []string {
	f.t.Helper()
	var arns []string
	err := f.st.Read(f.ctx, func(tx *store.Tx) error {
		var err error
		arns, err = tx.MemberArnsIn(f.ch, sub)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Sort(arns)
	return arns
}

// recordingBus keeps every event published.
type recordingBus struct {
	mu     sync.Mutex
	events []chime.Event
}

func (b *recordingBus) Publish(_ context.Context, events []chime.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, events...)
	return nil
}

// take returns the events published since the last take.
func (b *recordingBus) take() []chime.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.events
	b.events = nil
	return out
}

// TestElasticScaleIn_LateMerge: a subchannel that fell under the minimum
// when no other could absorb it is merged as soon as a later drop in
// another subchannel makes room there (SCALE_IN, SEMANTICS.md §6), whatever
// change the drop is: a leave, a ban, a deleted user or a user the reaper
// expires. Its last member moves (UPDATE_CHANNEL_MEMBERSHIP to it alone,
// with the new SubChannelId), the moderator who joined it is told with
// reason subchannel_DELETED, and it is deleted with its messages.
func TestElasticScaleIn_LateMerge(t *testing.T) {
	cfg := chime.ElasticConfig{MaximumSubChannels: 4, TargetMembershipsPerSubChannel: 3, MinimumMembershipPercentage: 40} // minimum 2
	for _, drop := range []struct {
		name string
		do   func(f *elasticFixture, svc *Service, member string) error
	}{
		{"leave", func(f *elasticFixture, svc *Service, member string) error {
			return svc.DeleteChannelMembership(f.ctx, chime.Caller{Bearer: member}, f.ch, member, "")
		}},
		{"ban", func(f *elasticFixture, svc *Service, member string) error {
			_, err := svc.CreateChannelBan(f.ctx, f.mod, f.ch, member)
			return err
		}},
		{"deleted user", func(f *elasticFixture, svc *Service, member string) error {
			return svc.DeleteAppInstanceUser(f.ctx, member)
		}},
		{"expired user", func(f *elasticFixture, svc *Service, member string) error {
			// The fixture's users were created in 2024: a day's expiration is long past.
			if err := svc.PutAppInstanceUserExpirationSettings(f.ctx, member, &chime.ExpirationSettings{ExpirationDays: 1,
				ExpirationCriterion: "CREATED_TIMESTAMP"}); err != nil {
				return err
			}
			n, err := svc.Reap(f.ctx)
			if err == nil && n.Users != 1 {
				err = fmt.Errorf("the reaper deleted %d users, want 1", n.Users)
			}
			return err
		}},
	} {
		t.Run(drop.name, func(t *testing.T) {
			f := newElasticFixture(t, cfg, 6)
			bus := &recordingBus{}
			svc, err := New(f.ctx, f.st, Options{Bus: bus})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := svc.BatchCreateChannelMembership(f.ctx, f.mod, f.ch, chime.MembershipDefault, f.users, ""); err != nil || len(res.Errors) > 0 {
				t.Fatalf("batch: %v %+v", err, res.Errors)
			}
			ids := f.subChannelIDs()
			if len(ids) != 2 {
				t.Fatalf("6 members in %d subchannels", len(ids))
			}
			s1, s2 := ids[0], ids[1]
			in1, in2 := f.membersIn(s1), f.membersIn(s2)
			// The moderator joins s2, and a member of s2 posts there.
			if _, err := svc.CreateChannelMembership(f.ctx, f.mod, CreateChannelMembershipInput{ChannelArn: f.ch, MemberArn: f.mod.Bearer,
				Type: chime.MembershipDefault, SubChannelID: s2}); err != nil {
				t.Fatal(err)
			}
			msg, err := svc.SendChannelMessage(f.ctx, chime.Caller{Bearer: in2[2]}, SendChannelMessageInput{ChannelArn: f.ch, Content: "in s2",
				Type: "STANDARD", Persistence: "PERSISTENT"})
			if err != nil {
				t.Fatal(err)
			}
			// s2 falls to 1, under the minimum, while s1 (3) has no room: it stays.
			for _, m := range in2[:2] {
				if err := svc.DeleteChannelMembership(f.ctx, f.mod, f.ch, m, ""); err != nil {
					t.Fatal(err)
				}
			}
			if sizes, _ := f.sizes(); len(sizes) != 2 || sizes[s1] != 3 || sizes[s2] != 1 {
				t.Fatalf("s2 under the minimum with no room in s1: sizes %v, want s1 3, s2 1", sizes)
			}
			bus.take()

			// A member of s1 goes: s1 (2) can now absorb s2 (1).
			if err := drop.do(f, svc, in1[0]); err != nil {
				t.Fatal(err)
			}
			sizes, _ := f.sizes()
			if len(sizes) != 1 || sizes[s1] != 3 {
				t.Fatalf("after the drop in s1: sizes %v, want s2 merged into s1 (3)", sizes)
			}
			if got, want := f.membersIn(s1), slices.Sorted(slices.Values([]string{in1[1], in1[2], in2[2]})); !slices.Equal(got, want) {
				t.Errorf("s1 holds %v, want %v", got, want)
			}
			var moved, told bool
			for _, ev := range bus.take() {
				switch {
				case ev.Type == chime.EventUpdateChannelMembership:
					p := ev.Payload.(wsMembership)
					moved = p.Member.Arn == in2[2] && p.SubChannelId == s1 && slices.Equal(ev.Recipients, []string{in2[2]})
				case ev.Type == chime.EventDeleteChannelMembership && ev.Reason == EventReasonSubChannelDeleted:
					p := ev.Payload.(wsMembership)
					told = p.Member.Arn == f.mod.Bearer && p.SubChannelId == s2 && slices.Equal(ev.Recipients, []string{f.mod.Bearer})
				}
			}
			if !moved || !told {
				t.Errorf("events of the merge: member told its new subchannel %v, moderator told s2 was deleted %v", moved, told)
			}
			err = f.st.Read(f.ctx, func(tx *store.Tx) error {
				if _, err := tx.GetMembershipIn(f.ch, f.mod.Bearer, s2); err != store.ErrNotFound {
					return fmt.Errorf("the moderator's membership in s2: %v, want none", err)
				}
				if _, err := tx.GetMessage(f.ch, msg.MessageID); err != store.ErrNotFound {
					return fmt.Errorf("the message of s2: %v, want deleted with it", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestElasticScaleOut_Split: for many configurations, filling an elastic
// channel one member at a time until MaximumSubChannels are full never puts
// a subchannel over TargetMembershipsPerSubChannel (the "maximum number of
// members allowed in a SubChannel", SEMANTICS.md §6), and every SCALE_OUT
// gives the new subchannel half of a full one, the joining member included:
// never under the minimum, so it is not born to be merged. The channel ends with
// every subchannel at the target; one more member is ResourceLimitExceeded.
func TestElasticScaleOut_Split(t *testing.T) {
	for _, cfg := range []chime.ElasticConfig{
		{MaximumSubChannels: 12, TargetMembershipsPerSubChannel: 2, MinimumMembershipPercentage: 40},
		{MaximumSubChannels: 10, TargetMembershipsPerSubChannel: 3, MinimumMembershipPercentage: 40},
		{MaximumSubChannels: 9, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 25},
		{MaximumSubChannels: 8, TargetMembershipsPerSubChannel: 5, MinimumMembershipPercentage: 1},
		{MaximumSubChannels: 6, TargetMembershipsPerSubChannel: 7, MinimumMembershipPercentage: 40},
		{MaximumSubChannels: 3, TargetMembershipsPerSubChannel: 20, MinimumMembershipPercentage: 40},
	} {
		t.Run(fmt.Sprintf("max=%d/target=%d/min=%d", cfg.MaximumSubChannels, cfg.TargetMembershipsPerSubChannel, cfg.MinimumMembershipPercentage), func(t *testing.T) {
			full := cfg.MaximumSubChannels * cfg.TargetMembershipsPerSubChannel
			f := newElasticFixture(t, cfg, full+1)
			prev, _ := f.sizes()
			for i, u := range f.users[:full] {
				m, err := f.svc.CreateChannelMembership(f.ctx, f.mod, CreateChannelMembershipInput{ChannelArn: f.ch, MemberArn: u, Type: chime.MembershipDefault})
				if err != nil {
					t.Fatalf("member %d: %v", i, err)
				}
				now, total := f.sizes()
				if total != i+1 {
					t.Fatalf("member %d: %d members in the subchannels", i, total)
				}
				if _, existed := prev[m.SubChannelID]; !existed && len(prev) > 0 &&
					(now[m.SubChannelID] < f.minimum() || now[m.SubChannelID] != (cfg.TargetMembershipsPerSubChannel+1)/2) {
					t.Fatalf("member %d: SCALE_OUT made a subchannel of %d, want half of %d, not under the minimum %d (sizes before %v)", i,
						now[m.SubChannelID], cfg.TargetMembershipsPerSubChannel, f.minimum(), prev)
				}
				prev = now
			}
			_, err := f.svc.CreateChannelMembership(f.ctx, f.mod, CreateChannelMembershipInput{ChannelArn: f.ch, MemberArn: f.users[full], Type: chime.MembershipDefault})
			if chime.KindOf(err) != chime.KindResourceLimitExceeded {
				t.Fatalf("one member past a full channel: %v, want ResourceLimitExceeded", err)
			}
		})
	}
}

// TestElasticChurn_Invariants: random adds (single and batch) and removals
// keep every invariant after every change, and SCALE_IN happens: a
// subchannel left under the minimum while another can absorb it does not
// survive the leave that put it there, and after every change no subchannel
// under the minimum is left that another could absorb.
func TestElasticChurn_Invariants(t *testing.T) {
	cfg := chime.ElasticConfig{MaximumSubChannels: 30, TargetMembershipsPerSubChannel: 4, MinimumMembershipPercentage: 40}
	f := newElasticFixture(t, cfg, 80)
	rng := rand.New(rand.NewPCG(1, 2))
	in := map[string]bool{}
	merges := 0
	for op := range 400 {
		var outs, ins []string
		for _, u := range f.users {
			if in[u] {
				ins = append(ins, u)
			} else {
				outs = append(outs, u)
			}
		}
		before, _ := f.sizes()
		grow := op/50%2 == 0
		switch r := rng.IntN(10); {
		case len(outs) >= 3 && (grow && r < 3 || !grow && r < 1):
			rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })
			res, err := f.svc.BatchCreateChannelMembership(f.ctx, f.mod, f.ch, chime.MembershipDefault, outs[:3], "")
			if err != nil || len(res.Errors) != 0 {
				t.Fatalf("op %d batch: %v %+v", op, err, res.Errors)
			}
			for _, u := range outs[:3] {
				in[u] = true
			}
		case len(outs) > 0 && (grow && r < 8 || !grow && r < 3 || len(ins) == 0):
			u := outs[rng.IntN(len(outs))]
			if _, err := f.svc.CreateChannelMembership(f.ctx, f.mod, CreateChannelMembershipInput{ChannelArn: f.ch, MemberArn: u, Type: chime.MembershipDefault}); err != nil {
				t.Fatalf("op %d add: %v", op, err)
			}
			in[u] = true
		default:
			u := ins[rng.IntN(len(ins))]
			var from string
			f.st.Read(f.ctx, func(tx *store.Tx) error {
				m, err := tx.GetMembership(f.ch, u)
				from = m.SubChannelID
				return err
			})
			if err := f.svc.DeleteChannelMembership(f.ctx, f.mod, f.ch, u, ""); err != nil {
				t.Fatalf("op %d leave: %v", op, err)
			}
			delete(in, u)
			after, _ := f.sizes()
			left := before[from] - 1
			canAbsorb := false
			for s, n := range before {
				if s != from && n+left <= cfg.TargetMembershipsPerSubChannel {
					canAbsorb = true
				}
			}
			_, survived := after[from]
			switch {
			case left < f.minimum() && canAbsorb && survived:
				t.Fatalf("op %d: subchannel left with %d (< %d) survived though another could absorb it: %v", op, left, f.minimum(), after)
			case (left >= f.minimum() || !canAbsorb) && !survived:
				t.Fatalf("op %d: subchannel with %d members after the leave was merged away (sizes before %v)", op, left, before)
			case !survived:
				merges++
			}
		}
		sizes, total := f.sizes()
		if total != len(in) {
			t.Fatalf("op %d: %d members in the subchannels, %d added", op, total, len(in))
		}
		f.noMergeLeft(fmt.Sprintf("op %d", op), sizes)
	}
	if merges == 0 {
		t.Fatal("no SCALE_IN happened")
	}
	t.Logf("%d merges in 400 changes", merges)
}
