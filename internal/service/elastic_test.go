package service

import (
	"context"
	"fmt"
	"math/rand/v2"
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

func newElasticFixture(t *testing.T, cfg chime.ElasticConfig, n int) *elasticFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(ctx, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/elastic"
	f := &elasticFixture{t: t, ctx: ctx, svc: svc, st: st, mod: chime.Caller{Bearer: ai + "/user/mod"}, cfg: cfg}
	err = st.Write(ctx, func(tx *store.Tx) error {
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
// each subchannel's count is its number of memberships (no moderator has
// joined here), none is over the target, there are at most
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
			arns, err := tx.MemberArnsIn(f.ch, s.ID)
			if err != nil {
				return err
			}
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
// survive the leave that put it there.
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
		if _, total := f.sizes(); total != len(in) {
			t.Fatalf("op %d: %d members in the subchannels, %d added", op, total, len(in))
		}
	}
	if merges == 0 {
		t.Fatal("no SCALE_IN happened")
	}
	t.Logf("%d merges in 400 changes", merges)
}
