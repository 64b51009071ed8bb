package e2e

// Elastic channels (SEMANTICS.md §6, issue 8) with the real aws-sdk-go-v2
// clients: the creation rules and quotas, assignment of regular members to
// subchannels, SCALE_OUT and SCALE_IN, moderators in chosen subchannels,
// SubChannelId on every operation that takes it, the refusals, bans,
// promotion and demotion, ListSubChannels, and the events of §10 over
// WebSocket. Small targets (3 members per subchannel, 4 subchannels, a
// minimum of 40 % = ceil(1.2) = 2 members) keep every test quick.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"

	"github.com/belfry/belfry/internal/service"
)

// elasticFixture is an app instance with an elastic channel created by mod
// (its moderator, not a member), an AppInstanceAdmin, and users to add.
type elasticFixture struct {
	e       *env
	t       *testing.T
	ai      string
	mod     string // the creator: moderator only (SEMANTICS.md TOP 10 #6)
	admin   string // AppInstanceAdmin, not a member
	ch      string
	target  int
	max     int
	minimum int // ceil(MinimumMembershipPercentage% of the target)
	users   []string
	names   map[string]string // ARN -> short name, for messages
}

// newElastic creates the fixture with n users u0..u(n-1) and an elastic
// channel of at most max subchannels of target members, minimum pct %.
func newElastic(t *testing.T, e *env, max, target, pct int32, n int) *elasticFixture {
	t.Helper()
	ai := e.appInstance("elastic")
	f := &elasticFixture{e: e, t: t, ai: ai, mod: e.user(ai, "mod"), admin: e.user(ai, "admin"), target: int(target), max: int(max),
		minimum: (int(pct)*int(target) + 99) / 100, names: map[string]string{}}
	f.names[f.mod], f.names[f.admin] = "mod", "admin"
	e.admin(ai, f.admin)
	for i := range n {
		u := e.user(ai, fmt.Sprintf("u%d", i))
		f.users = append(f.users, u)
		f.names[u] = fmt.Sprintf("u%d", i)
	}
	f.ch = f.create(max, target, pct)
	return f
}

func elasticConfig(max, target, pct int32) *types.ElasticChannelConfiguration {
	return &types.ElasticChannelConfiguration{MaximumSubChannels: aws.Int32(max), TargetMembershipsPerSubChannel: aws.Int32(target),
		MinimumMembershipPercentage: aws.Int32(pct)}
}

// create creates an elastic channel as f.mod, without a Mode (it defaults to RESTRICTED).
func (f *elasticFixture) create(max, target, pct int32) string {
	f.t.Helper()
	out, err := f.e.Msg.CreateChannel(f.e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(f.ai), Name: aws.String("elastic"),
		ChimeBearer: aws.String(f.mod), ClientRequestToken: aws.String(token()), ElasticChannelConfiguration: elasticConfig(max, target, pct)})
	if err != nil {
		f.t.Fatalf("CreateChannel elastic: %v", err)
	}
	return aws.ToString(out.ChannelArn)
}

func (f *elasticFixture) name(arn string) string {
	if n, ok := f.names[arn]; ok {
		return n
	}
	return arn
}

func (f *elasticFixture) nameAll(arns []string) []string {
	var out []string
	for _, a := range arns {
		out = append(out, f.name(a))
	}
	return out
}

// join adds a regular member as the moderator and returns the subchannel the service assigned.
func (f *elasticFixture) join(user string) string {
	f.t.Helper()
	out, err := f.e.Msg.CreateChannelMembership(f.e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(user), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.mod)})
	if err != nil {
		f.t.Fatalf("CreateChannelMembership %s: %v", f.name(user), err)
	}
	if aws.ToString(out.SubChannelId) == "" {
		f.t.Fatalf("CreateChannelMembership %s in an elastic channel answered no SubChannelId", f.name(user))
	}
	return aws.ToString(out.SubChannelId)
}

// joinSub makes moderator (or admin) join subchannel sub, as bearer.
func (f *elasticFixture) joinSub(bearer, member, sub string) (*chimesdkmessaging.CreateChannelMembershipOutput, error) {
	return f.e.Msg.CreateChannelMembership(f.e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(member), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(bearer), SubChannelId: optional(sub)})
}

// batch adds users in one BatchCreateChannelMembership as the moderator.
func (f *elasticFixture) batch(users ...string) *chimesdkmessaging.BatchCreateChannelMembershipOutput {
	f.t.Helper()
	out, err := f.e.Msg.BatchCreateChannelMembership(f.e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: users, ChimeBearer: aws.String(f.mod)})
	if err != nil {
		f.t.Fatalf("BatchCreateChannelMembership: %v", err)
	}
	if len(out.Errors) != 0 || len(out.BatchChannelMemberships.Members) != len(users) {
		f.t.Fatalf("BatchCreateChannelMembership: %d members, errors %+v", len(out.BatchChannelMemberships.Members), out.Errors)
	}
	return out
}

// remove deletes a member's membership (all of them, for a moderator) as the moderator.
func (f *elasticFixture) remove(member, sub string) error {
	_, err := f.e.Msg.DeleteChannelMembership(f.e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(member), ChimeBearer: aws.String(f.mod), SubChannelId: optional(sub)})
	return err
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// subChannels lists every subchannel through the v2 paginator, as bearer.
func (f *elasticFixture) subChannels(bearer string, pageSize int32) ([]types.SubChannelSummary, error) {
	p := chimesdkmessaging.NewListSubChannelsPaginator(f.e.Msg, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(f.ch),
		ChimeBearer: aws.String(bearer), MaxResults: aws.Int32(pageSize)})
	var out []types.SubChannelSummary
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 1000 {
			f.t.Fatal("ListSubChannels paginator does not stop")
		}
		page, err := p.NextPage(f.e.ctx)
		if err != nil {
			return nil, err
		}
		if aws.ToString(page.ChannelArn) != f.ch {
			f.t.Fatalf("ListSubChannels ChannelArn %q", aws.ToString(page.ChannelArn))
		}
		out = append(out, page.SubChannels...)
	}
	return out, nil
}

// membersOf lists the memberships of one subchannel (moderators included) through the paginator.
func (f *elasticFixture) membersOf(sub string, pageSize int32) []string {
	f.t.Helper()
	var arns []string
	p := chimesdkmessaging.NewListChannelMembershipsPaginator(f.e.Msg, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch),
		ChimeBearer: aws.String(f.mod), SubChannelId: aws.String(sub), MaxResults: aws.Int32(pageSize)})
	for p.HasMorePages() {
		out, err := p.NextPage(f.e.ctx)
		if err != nil {
			f.t.Fatalf("ListChannelMemberships SubChannelId %s: %v", sub, err)
		}
		for _, m := range out.ChannelMemberships {
			arns = append(arns, aws.ToString(m.Member.Arn))
		}
	}
	return arns
}

// layout is an elastic channel as its moderator sees it.
type layout struct {
	subs    []string            // subchannel ids in ListSubChannels order
	count   map[string]int      // MembershipCount
	members map[string][]string // regular members, per subchannel
	mods    map[string][]string // moderators with a membership, per subchannel
	of      map[string]string   // regular member -> its subchannel
}

func (l layout) sizes() []int {
	var out []int
	for _, s := range l.subs {
		out = append(out, l.count[s])
	}
	return out
}

// layout reads the channel and checks the invariants of SEMANTICS.md §6 that
// hold after every operation: each subchannel's MembershipCount is the number
// of its regular members (moderators are not counted), no subchannel holds
// more than the target, there are at most MaximumSubChannels, and every
// regular member is in exactly one subchannel.
func (f *elasticFixture) layout() layout {
	f.t.Helper()
	subs, err := f.subChannels(f.mod, 50)
	if err != nil {
		f.t.Fatalf("ListSubChannels: %v", err)
	}
	mods := map[string]bool{}
	for _, m := range listModeratorArns(f.t, f.e, f.ch, f.mod) {
		mods[m] = true
	}
	l := layout{count: map[string]int{}, members: map[string][]string{}, mods: map[string][]string{}, of: map[string]string{}}
	if len(subs) > f.max {
		f.t.Fatalf("%d subchannels, MaximumSubChannels is %d", len(subs), f.max)
	}
	for _, s := range subs {
		id := aws.ToString(s.SubChannelId)
		if !messageIDPattern.MatchString(id) {
			f.t.Fatalf("SubChannelId %q does not match [-_a-zA-Z0-9]{1,128} (rule D15)", id)
		}
		l.subs = append(l.subs, id)
		l.count[id] = int(aws.ToInt32(s.MembershipCount))
		for _, m := range f.membersOf(id, 50) {
			if mods[m] {
				l.mods[id] = append(l.mods[id], m)
				continue
			}
			if prev, dup := l.of[m]; dup {
				f.t.Fatalf("%s is in subchannels %s and %s", f.name(m), prev, id)
			}
			l.of[m] = id
			l.members[id] = append(l.members[id], m)
		}
		if got := len(l.members[id]); got != l.count[id] {
			f.t.Fatalf("subchannel %s: MembershipCount %d, but %d regular members listed (%v)", id, l.count[id], got, f.nameAll(l.members[id]))
		}
		if l.count[id] > f.target {
			f.t.Fatalf("subchannel %s holds %d members, over the target %d (TargetMembershipsPerSubChannel is the maximum)", id, l.count[id], f.target)
		}
	}
	return l
}

// TestElasticCreateChannel_Rules: ElasticChannelConfiguration with all three
// fields, in range (MaximumSubChannels >= 2, TargetMembershipsPerSubChannel
// >= 2, MinimumMembershipPercentage 1..40); the channel is RESTRICTED and
// stays so, takes no MemberArns, its creator and ModeratorArns are moderators
// only; DescribeChannel shows the configuration (SEMANTICS.md §6, TOP 10 #6).
func TestElasticCreateChannel_Rules(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 2)

	d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	c := d.Channel
	if c.ElasticChannelConfiguration == nil {
		t.Fatalf("DescribeChannel shows no ElasticChannelConfiguration: %+v", c)
	}
	if got := *c.ElasticChannelConfiguration; aws.ToInt32(got.MaximumSubChannels) != 4 || aws.ToInt32(got.TargetMembershipsPerSubChannel) != 3 ||
		aws.ToInt32(got.MinimumMembershipPercentage) != 40 {
		t.Errorf("ElasticChannelConfiguration %d/%d/%d, want 4/3/40", aws.ToInt32(got.MaximumSubChannels),
			aws.ToInt32(got.TargetMembershipsPerSubChannel), aws.ToInt32(got.MinimumMembershipPercentage))
	}
	if c.Mode != types.ChannelModeRestricted {
		t.Errorf("an elastic channel created without Mode is %s, want RESTRICTED", c.Mode)
	}
	// The creator is moderator, not member.
	if mods := listModeratorArns(t, e, f.ch, f.mod); !slices.Equal(mods, []string{f.mod}) {
		t.Errorf("moderators %v, want the creator", f.nameAll(mods))
	}
	_, err = e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
		ChannelArn: aws.String(f.ch), AppInstanceUserArn: aws.String(f.mod), ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "NotFoundException")
	if l := f.layout(); len(l.subs) != 0 {
		t.Errorf("a new elastic channel has subchannels %v", l.subs)
	}
	// A standard channel shows no configuration.
	std := e.channel(f.ai, f.mod, "UNRESTRICTED", "PUBLIC")
	d, err = e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(std), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if d.Channel.ElasticChannelConfiguration != nil {
		t.Errorf("a standard channel shows ElasticChannelConfiguration %+v", d.Channel.ElasticChannelConfiguration)
	}

	// The refusals, each a 400 BadRequest, checked on a second app instance
	// whose elastic channel quota is still free.
	ai2 := e.appInstance("elastic-rules")
	b2 := e.user(ai2, "bearer")
	m2 := e.user(ai2, "member")
	create := func(in chimesdkmessaging.CreateChannelInput) (*chimesdkmessaging.CreateChannelOutput, error) {
		in.AppInstanceArn, in.ChimeBearer, in.Name, in.ClientRequestToken = aws.String(ai2), aws.String(b2), aws.String("e"), aws.String(token())
		return e.Msg.CreateChannel(e.ctx, &in)
	}
	for _, tc := range []struct {
		name string
		in   chimesdkmessaging.CreateChannelInput
	}{
		{"UNRESTRICTED", chimesdkmessaging.CreateChannelInput{Mode: types.ChannelModeUnrestricted, ElasticChannelConfiguration: elasticConfig(4, 3, 40)}},
		{"MemberArns", chimesdkmessaging.CreateChannelInput{MemberArns: []string{m2}, ElasticChannelConfiguration: elasticConfig(4, 3, 40)}},
		{"MaximumSubChannels 1", chimesdkmessaging.CreateChannelInput{ElasticChannelConfiguration: elasticConfig(1, 3, 40)}},
		{"TargetMembershipsPerSubChannel 1", chimesdkmessaging.CreateChannelInput{ElasticChannelConfiguration: elasticConfig(4, 1, 40)}},
		{"MinimumMembershipPercentage 0", chimesdkmessaging.CreateChannelInput{ElasticChannelConfiguration: elasticConfig(4, 3, 0)}},
		{"MinimumMembershipPercentage 41", chimesdkmessaging.CreateChannelInput{ElasticChannelConfiguration: elasticConfig(4, 3, 41)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := create(tc.in)
			wantErr(t, err, "BadRequestException")
		})
	}
	// A missing field never leaves the SDK (it checks required members), so it is sent raw.
	for _, body := range []string{
		`{"MaximumSubChannels":4,"TargetMembershipsPerSubChannel":3}`,
		`{"MaximumSubChannels":4,"MinimumMembershipPercentage":40}`,
		`{"TargetMembershipsPerSubChannel":3,"MinimumMembershipPercentage":40}`,
	} {
		code, _, resp := e.raw("POST", "/channels", map[string]string{"x-amz-chime-bearer": b2, "Content-Type": "application/json"},
			fmt.Sprintf(`{"AppInstanceArn":%q,"Name":"e","ClientRequestToken":%q,"ElasticChannelConfiguration":%s}`, ai2, token(), body))
		if code != 400 || !strings.Contains(resp, "BadRequest") {
			t.Errorf("ElasticChannelConfiguration %s: %d %s, want 400 BadRequest", body, code, resp)
		}
	}
	// None of the refused requests made a channel: the quota of one is still free.
	out, err := create(chimesdkmessaging.CreateChannelInput{Mode: types.ChannelModeRestricted, ModeratorArns: []string{e.user(ai2, "second-mod")},
		ElasticChannelConfiguration: elasticConfig(2, 2, 1)})
	noErr(t, err)
	if mods := listModeratorArns(t, e, *out.ChannelArn, b2); len(mods) != 2 {
		t.Errorf("ModeratorArns of an elastic channel: moderators %v, want the creator and the listed one", mods)
	}
	if got := listMemberArnsElastic(t, e, b2); len(got) != 0 {
		t.Errorf("creator of an elastic channel has memberships %v", got)
	}

	// The configuration is immutable and the channel stays RESTRICTED.
	_, err = e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		Name: aws.String("renamed"), Mode: types.ChannelModeUnrestricted})
	wantErr(t, err, "BadRequestException")
	_, err = e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		Name: aws.String("renamed"), Mode: types.ChannelModeRestricted})
	noErr(t, err)
	d, err = e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if aws.ToString(d.Channel.Name) != "renamed" || d.Channel.Mode != types.ChannelModeRestricted || d.Channel.ElasticChannelConfiguration == nil ||
		aws.ToInt32(d.Channel.ElasticChannelConfiguration.TargetMembershipsPerSubChannel) != 3 {
		t.Errorf("after UpdateChannel: %+v", d.Channel)
	}
}

// listMemberArnsElastic lists a user's channel memberships (ListChannelMembershipsForAppInstanceUser) as "channel|sub".
func listMemberArnsElastic(t *testing.T, e *env, user string) []string {
	t.Helper()
	var out []string
	p := chimesdkmessaging.NewListChannelMembershipsForAppInstanceUserPaginator(e.Msg, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
		ChimeBearer: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("ListChannelMembershipsForAppInstanceUser: %v", err)
		}
		for _, m := range page.ChannelMemberships {
			out = append(out, aws.ToString(m.ChannelSummary.ChannelArn)+"|"+aws.ToString(m.AppInstanceUserMembershipSummary.SubChannelId))
		}
	}
	return out
}

// TestElasticQuotas_D17: 1 elastic channel per app instance, 100 subchannels
// per elastic channel and 1,000 memberships per subchannel by default
// (SEMANTICS.md §6 and §9); going over is a 400 ResourceLimitExceeded. They
// are configurable; standard channels are not affected, and deleting the
// elastic channel frees its slot.
func TestElasticQuotas_D17(t *testing.T) {
	create := func(e *env, ai, b string, max, target int32) (string, error) {
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("e"),
			ChimeBearer: aws.String(b), ClientRequestToken: aws.String(token()), ElasticChannelConfiguration: elasticConfig(max, target, 10)})
		if err != nil {
			return "", err
		}
		return *out.ChannelArn, nil
	}
	e := newEnv(t)
	ai := e.appInstance("quota")
	b := e.user(ai, "b")
	_, err := create(e, ai, b, 101, 1000)
	wantErr(t, err, "ResourceLimitExceededException")
	_, err = create(e, ai, b, 100, 1001)
	wantErr(t, err, "ResourceLimitExceededException")
	first, err := create(e, ai, b, 100, 1000)
	noErr(t, err)
	_, err = create(e, ai, b, 2, 2)
	wantErr(t, err, "ResourceLimitExceededException")
	e.channel(ai, b, "RESTRICTED", "PRIVATE") // standard channels do not count
	ai2 := e.appInstance("quota-2")           // another app instance has its own quota
	_, err = create(e, ai2, e.user(ai2, "b"), 2, 2)
	noErr(t, err)
	_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(first), ChimeBearer: aws.String(b)})
	noErr(t, err)
	_, err = create(e, ai, b, 2, 2)
	noErr(t, err)

	// Configured quotas; however high, a channel holds at most 1,000,000
	// members: MaximumSubChannels × TargetMembershipsPerSubChannel ≤ 1M (§6).
	q := service.DefaultQuotas
	q.ElasticChannelsPerAppInstance, q.SubChannelsPerElasticChannel, q.MembershipsPerSubChannel = 3, 1000, 5000
	e = newEnv(t, withQuotas(q))
	ai = e.appInstance("quota")
	b = e.user(ai, "b")
	_, err = create(e, ai, b, 1000, 5000)
	wantLimit(t, err)
	_, err = create(e, ai, b, 201, 5000)
	wantLimit(t, err)
	_, err = create(e, ai, b, 1000, 1000)
	noErr(t, err)
	_, err = create(e, ai, b, 200, 5000)
	noErr(t, err)
	_, err = create(e, ai, b, 2, 2)
	noErr(t, err)
	_, err = create(e, ai, b, 2, 2)
	wantErr(t, err, "ResourceLimitExceededException")
	ai = e.appInstance("quota-3")
	b = e.user(ai, "b")
	_, err = create(e, ai, b, 1001, 2)
	wantErr(t, err, "ResourceLimitExceededException")
	_, err = create(e, ai, b, 2, 5001)
	wantErr(t, err, "ResourceLimitExceededException")
}

// TestElasticAssignment_ScaleOut: regular members are assigned by the
// service: a new member joins the fullest subchannel below the target; when
// every subchannel is full a new one is created and existing members are
// moved into it (SCALE_OUT), half of a full subchannel, not under the minimum; no
// subchannel ever holds more than the target;
// when MaximumSubChannels are all full, adding is a 400
// ResourceLimitExceeded (SEMANTICS.md §6 "Assignment"). Target 3, at most 4
// subchannels: 12 members, added one at a time.
func TestElasticAssignment_ScaleOut(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 13)
	prev := f.layout()
	for i, u := range f.users[:12] {
		sub := f.join(u)
		l := f.layout() // checks the invariants after every add
		if l.of[u] != sub {
			t.Fatalf("u%d: CreateChannelMembership answered SubChannelId %s, ListChannelMemberships shows it in %s", i, sub, l.of[u])
		}
		var below []int // subchannels below the target before this add
		for _, s := range prev.subs {
			if prev.count[s] < f.target {
				below = append(below, prev.count[s])
			}
		}
		if len(below) > 0 {
			// Fill the fullest subchannel below the target; no new subchannel.
			if len(l.subs) != len(prev.subs) {
				t.Fatalf("u%d: a subchannel was created while %v were below the target (sizes before %v)", i, below, prev.sizes())
			}
			if got, want := prev.count[sub], slices.Max(below); got != want {
				t.Fatalf("u%d joined a subchannel of %d members, the fullest below the target had %d (sizes before %v)", i, got, want, prev.sizes())
			}
			for _, s := range prev.subs {
				if s != sub && !sameSet(prev.members[s], l.members[s]) {
					t.Fatalf("u%d: members of %s changed from %v to %v without a rebalance", i, s, f.nameAll(prev.members[s]), f.nameAll(l.members[s]))
				}
			}
		} else {
			// SCALE_OUT (or the first subchannel): a new subchannel, the new member in it.
			if len(l.subs) != len(prev.subs)+1 || slices.Contains(prev.subs, sub) || l.subs[len(l.subs)-1] != sub {
				t.Fatalf("u%d: every subchannel was full (%v), want a new one listed last; got %v, joined %s", i, prev.sizes(), l.sizes(), sub)
			}
			if len(prev.subs) > 0 {
				moved := 0
				for _, m := range l.members[sub] {
					if m != u {
						moved++
						if !slices.Contains(prev.members[prev.of[m]], m) {
							t.Fatalf("u%d: %s appeared from nowhere", i, f.name(m))
						}
					}
				}
				// Existing members move into it: it starts with half of a full one, not under the minimum.
				if moved == 0 || l.count[sub] < f.minimum {
					t.Fatalf("u%d: SCALE_OUT moved %d members; the new subchannel holds %d, under the minimum %d (sizes %v)", i, moved,
						l.count[sub], f.minimum, l.sizes())
				}
				t.Logf("SCALE_OUT at u%d: sizes %v -> %v, %d members moved", i, prev.sizes(), l.sizes(), moved)
			}
		}
		prev = l
	}
	if len(prev.subs) != 4 || !slices.Equal(prev.sizes(), []int{3, 3, 3, 3}) {
		t.Fatalf("12 members in at most 4 subchannels of 3: sizes %v", prev.sizes())
	}
	// The channel is full: MaximumSubChannels subchannels at the target.
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.users[12]), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "ResourceLimitExceededException")
	out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: []string{f.users[12], f.users[0]}, ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	wantBatchErrors(t, out.Errors, map[string]types.ErrorCode{f.users[12]: types.ErrorCodeResourceLimitExceeded})
	if got := identityArns(out.BatchChannelMemberships.Members); !slices.Equal(got, []string{f.users[0]}) {
		t.Errorf("batch on a full channel: Members %v, want the existing member only (rule D1)", f.nameAll(got))
	}
	// Adding an existing member returns its membership as it stands (D1), in its subchannel.
	if sub := f.join(f.users[0]); sub != prev.of[f.users[0]] {
		t.Errorf("re-adding u0 answered SubChannelId %s, it is in %s", sub, prev.of[f.users[0]])
	}
	if l := f.layout(); !slices.Equal(l.sizes(), prev.sizes()) {
		t.Errorf("refused adds changed the channel: %v", l.sizes())
	}
}

// TestElasticBatch_Assignment: BatchCreateChannelMembership assigns each
// member as a single add would, rebalancing as it goes; the answer has no
// SubChannelId (members may land in several), every member lands in exactly
// one subchannel, and ListChannelMembershipsForAppInstanceUser shows each
// member's SubChannelId (SEMANTICS.md §4 and §6).
func TestElasticBatch_Assignment(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 10)
	out := f.batch(f.users...)
	if s := aws.ToString(out.BatchChannelMemberships.SubChannelId); s != "" {
		t.Errorf("batch of regular members answered SubChannelId %q", s)
	}
	l := f.layout()
	if len(l.of) != 10 || len(l.subs) != 4 {
		t.Fatalf("10 members in subchannels of 3: %v", l.sizes())
	}
	for _, u := range f.users {
		got := listMemberArnsElastic(t, e, u)
		if want := []string{f.ch + "|" + l.of[u]}; !slices.Equal(got, want) {
			t.Errorf("%s: ListChannelMembershipsForAppInstanceUser %v, want %v", f.name(u), got, want)
		}
		d, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(u), ChimeBearer: aws.String(f.mod)})
		noErr(t, err)
		if aws.ToString(d.ChannelMembership.SubChannelId) != l.of[u] {
			t.Errorf("%s: DescribeChannelMembership SubChannelId %q, want %s", f.name(u), aws.ToString(d.ChannelMembership.SubChannelId), l.of[u])
		}
		um, err := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
			ChannelArn: aws.String(f.ch), AppInstanceUserArn: aws.String(u), ChimeBearer: aws.String(u)})
		noErr(t, err)
		if s := aws.ToString(um.ChannelMembership.AppInstanceUserMembershipSummary.SubChannelId); s != l.of[u] {
			t.Errorf("%s: DescribeChannelMembershipForAppInstanceUser SubChannelId %q, want %s", f.name(u), s, l.of[u])
		}
	}
}

// TestElasticScaleIn: when a subchannel drops below the minimum (ceil of
// MinimumMembershipPercentage% of the target: ceil(40% of 3) = 2) and another
// can absorb all its members, they move there and the subchannel is deleted
// with all its messages; when none can absorb them, nothing moves
// (SEMANTICS.md §6 "SCALE_IN"). Moderators are not moved, and their
// membership of the deleted subchannel is gone.
func TestElasticScaleIn(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 6)
	if f.minimum != 2 {
		t.Fatalf("minimum %d", f.minimum)
	}
	f.batch(f.users...)
	l := f.layout()
	if !slices.Equal(l.sizes(), []int{3, 3}) {
		t.Fatalf("6 members: sizes %v, want [3 3]", l.sizes())
	}
	s1, s2 := l.subs[0], l.subs[1]
	// The moderator joins both subchannels; each has a message.
	for _, s := range []string{s1, s2} {
		_, err := f.joinSub(f.mod, f.mod, s)
		noErr(t, err)
	}
	msgIn := map[string]string{}
	for _, s := range []string{s1, s2} {
		time.Sleep(2 * time.Millisecond) // s2's message is the channel's last, by a millisecond at least
		out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(l.members[s][0]),
			Content: aws.String("in " + s)})
		noErr(t, err)
		msgIn[s] = aws.ToString(out.MessageId)
	}
	// The member left last in s2 sends itself a targeted message there, its
	// latest, which goes with s2.
	time.Sleep(2 * time.Millisecond)
	_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(l.members[s2][2]),
		Content: aws.String("note to self"), Target: []types.Target{{MemberArn: aws.String(l.members[s2][2])}}})
	noErr(t, err)

	// s2 3 -> 2: not below the minimum; nothing moves.
	noErr(t, f.remove(l.members[s2][0], ""))
	if got := f.layout(); !slices.Equal(got.sizes(), []int{3, 2}) {
		t.Fatalf("after one leave from s2: sizes %v, want [3 2]", got.sizes())
	}
	// s2 2 -> 1, below the minimum, but s1 (3) cannot absorb it: nothing moves.
	noErr(t, f.remove(l.members[s2][1], ""))
	l2 := f.layout()
	if !slices.Equal(l2.sizes(), []int{3, 1}) {
		t.Fatalf("s2 below the minimum with no room in s1: sizes %v, want [3 1]", l2.sizes())
	}
	// A new member fills the fullest below the target: s2 (1 -> 2).
	back := l.members[s2][0]
	if sub := f.join(back); sub != s2 {
		t.Fatalf("re-joining member went to %s, want s2", sub)
	}
	// s1 3 -> 2 (not below the minimum), then s2 2 -> 1: below, and s1 (2) can absorb 1.
	noErr(t, f.remove(l.members[s1][0], ""))
	if got := f.layout(); !slices.Equal(got.sizes(), []int{2, 2}) {
		t.Fatalf("sizes %v, want [2 2]", got.sizes())
	}
	last := l2.members[s2][0]
	noErr(t, f.remove(back, ""))
	l3 := f.layout()
	if !slices.Equal(l3.subs, []string{s1}) || l3.count[s1] != 3 {
		t.Fatalf("after SCALE_IN: subchannels %v sizes %v, want s1 alone with 3", l3.subs, l3.sizes())
	}
	if l3.of[last] != s1 {
		t.Errorf("the last member of s2 is in %q, want s1", l3.of[last])
	}
	// The moderator keeps s1 only; s2 is gone with its message.
	if got := listMemberArnsElastic(t, e, f.mod); !slices.Equal(got, []string{f.ch + "|" + s1}) {
		t.Errorf("moderator's memberships after the merge: %v, want s1 only", got)
	}
	if !slices.Equal(l3.mods[s1], []string{f.mod}) {
		t.Errorf("moderators listed in s1: %v", f.nameAll(l3.mods[s1]))
	}
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch),
		ChimeBearer: aws.String(f.mod), SubChannelId: aws.String(s2)})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.GetChannelMessage(e.ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MessageId: aws.String(msgIn[s2]), SubChannelId: aws.String(s2)})
	wantErr(t, err, "NotFoundException")
	// Deleted, not moved: not in s1's history, and gone from the channel (an
	// admin's DeleteChannelMessage without SubChannelId finds no such message).
	if ids := elasticHistory(t, e, f.ch, f.mod, s1); !slices.Equal(ids, []string{msgIn[s1]}) {
		t.Errorf("s1 history after the merge %v, want only its own message", ids)
	}
	_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.admin),
		MessageId: aws.String(msgIn[s2])})
	wantErr(t, err, "NotFoundException")
	// The channel's LastMessageTimestamp is s1's message's again, not the deleted one's.
	m1, err := e.Msg.GetChannelMessage(e.ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MessageId: aws.String(msgIn[s1]), SubChannelId: aws.String(s1)})
	noErr(t, err)
	dc, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if lm := dc.Channel.LastMessageTimestamp; lm == nil || !lm.Equal(*m1.ChannelMessage.CreatedTimestamp) {
		t.Errorf("LastMessageTimestamp after the merge %v, want s1's message's %v", fmtTime(lm), fmtTime(m1.ChannelMessage.CreatedTimestamp))
	}
	wantSeen(t, "the moved member, whose targeted message went with s2", lastSeen(t, e, f.ai, f.ch, last, "", "", opDescribeMembership),
		m1.ChannelMessage.CreatedTimestamp)
	// The moved member now acts in s1.
	out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(last), Content: aws.String("moved")})
	noErr(t, err)
	if aws.ToString(out.SubChannelId) != s1 {
		t.Errorf("moved member sends in %q, want s1", aws.ToString(out.SubChannelId))
	}
	// The last subchannel is never merged away, even when it empties.
	for _, m := range l3.members[s1] {
		noErr(t, f.remove(m, ""))
	}
	if got := f.layout(); !slices.Equal(got.subs, []string{s1}) || got.count[s1] != 0 {
		t.Errorf("emptied channel: subchannels %v sizes %v", got.subs, got.sizes())
	}
}

// TestElasticScaleIn_Late: a subchannel that falls under the minimum when
// no other can absorb it is merged as soon as a later drop in another
// subchannel makes room there, not only at the moment it fell under
// (SEMANTICS.md §6 SCALE_IN: "when a subchannel drops below the minimum and
// another subchannel can absorb all its members"). The drop may be a member
// leaving or a deleted user. The merge is told like any other: the moved
// member alone gets UPDATE_CHANNEL_MEMBERSHIP with its new SubChannelId, the
// moderator who joined the merged subchannel gets DELETE_CHANNEL_MEMBERSHIP
// with x-amz-chime-event-reason: subchannel_DELETED, and the subchannel is
// gone with its messages.
func TestElasticScaleIn_Late(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 9)
	if f.minimum != 2 {
		t.Fatalf("minimum %d", f.minimum)
	}
	f.batch(f.users[:6]...)
	l := f.layout()
	if !slices.Equal(l.sizes(), []int{3, 3}) {
		t.Fatalf("6 members: sizes %v, want [3 3]", l.sizes())
	}
	s1, s2 := l.subs[0], l.subs[1]
	people := append(slices.Clone(f.users[:6]), f.mod)
	clients := map[string]*wsClient{}
	var all []*wsClient
	for _, u := range people {
		clients[u] = e.connect(u)
		all = append(all, clients[u])
	}
	bar := e.newBarrier(f.ai, people, all...)
	subName := map[string]string{s1: "s1", s2: "s2", "": "-"}

	_, err := f.joinSub(f.mod, f.mod, s2)
	noErr(t, err)
	last := l.members[s2][2]
	sent, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(last), Content: aws.String("in s2")})
	noErr(t, err)
	// s2 3 -> 1: under the minimum, but s1 (3) has no room for it. It stays.
	noErr(t, f.remove(l.members[s2][0], ""))
	noErr(t, f.remove(l.members[s2][1], ""))
	if got := f.layout(); !slices.Equal(got.subs, []string{s1, s2}) || !slices.Equal(got.sizes(), []int{3, 1}) {
		t.Fatalf("s2 under the minimum with no room in s1: subchannels %v sizes %v, want [3 1]", got.subs, got.sizes())
	}
	bar.sync(all...)

	// A member of s1 leaves: s1 (2) can now absorb s2 (1), and does at once.
	leaver := l.members[s1][0]
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(leaver), ChimeBearer: aws.String(leaver)})
	noErr(t, err)
	got := f.layout()
	if !slices.Equal(got.subs, []string{s1}) || got.count[s1] != 3 || got.of[last] != s1 {
		t.Fatalf("after the leave from s1: subchannels %v sizes %v, s2's last member in %q; want s2 merged into s1", got.subs, got.sizes(), got.of[last])
	}
	for _, m := range listMemberArnsElastic(t, e, f.mod) {
		if strings.HasPrefix(m, f.ch+"|") {
			t.Errorf("the moderator's memberships after the merge include %q, want none in the channel (it was in s2 only)", m)
		}
	}
	frames := bar.sync(all...)
	leave := fmt.Sprintf("DELETE_CHANNEL_MEMBERSHIP %s in s1", f.name(leaver))
	want := map[string][]string{
		leaver:           {leave},
		l.members[s1][1]: {leave},
		l.members[s1][2]: {leave},
		last:             {fmt.Sprintf("UPDATE_CHANNEL_MEMBERSHIP %s in s1", f.name(last))},
		f.mod:            {"DELETE_CHANNEL_MEMBERSHIP mod in s2 reason=subchannel_DELETED"},
		l.members[s2][0]: nil,
		l.members[s2][1]: nil,
	}
	for _, u := range people {
		var texts []string
		for _, fr := range frames[clients[u]] {
			texts = append(texts, f.frameText(fr, subName))
		}
		if !slices.Equal(texts, want[u]) {
			t.Errorf("the late merge: %s received %q, want %q", f.name(u), texts, want[u])
		}
	}
	// s2 is gone with its message; the moved member acts in s1.
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch),
		ChimeBearer: aws.String(f.mod), SubChannelId: aws.String(s2)})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.admin),
		MessageId: sent.MessageId})
	wantErr(t, err, "NotFoundException")
	out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(last), Content: aws.String("moved")})
	noErr(t, err)
	if aws.ToString(out.SubChannelId) != s1 {
		t.Errorf("the moved member sends in %q, want s1", aws.ToString(out.SubChannelId))
	}

	// Again, the drop being a deleted user: three more members make two
	// full subchannels (SCALE_OUT), one of them falls to 1 with no room in
	// the other, then a user of the other is deleted.
	for _, u := range f.users[6:] {
		f.join(u)
	}
	l = f.layout()
	if !slices.Equal(l.sizes(), []int{3, 3}) {
		t.Fatalf("refilled: sizes %v, want [3 3]", l.sizes())
	}
	a, b := l.subs[0], l.subs[1]
	noErr(t, f.remove(l.members[b][0], ""))
	noErr(t, f.remove(l.members[b][1], ""))
	if got := f.layout(); !slices.Equal(got.sizes(), []int{3, 1}) {
		t.Fatalf("b under the minimum with no room in a: sizes %v, want [3 1]", got.sizes())
	}
	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(l.members[a][0])})
	noErr(t, err)
	if got := f.layout(); !slices.Equal(got.subs, []string{a}) || got.count[a] != 3 || got.of[l.members[b][2]] != a {
		t.Fatalf("after deleting a user of a: subchannels %v sizes %v; want b merged into a", got.subs, got.sizes())
	}
}

// elasticHistory lists the message ids of one subchannel as bearer sees them.
func elasticHistory(t *testing.T, e *env, ch, bearer, sub string) []string {
	t.Helper()
	msgs, err := e.history(ch, bearer, chimesdkmessaging.ListChannelMessagesInput{SubChannelId: optional(sub), SortOrder: types.SortOrderAscending})
	if err != nil {
		t.Fatalf("ListChannelMessages SubChannelId %q as %s: %v", sub, bearer, err)
	}
	return messageIDs(msgs)
}

// TestElasticModerators_SeveralSubChannels: moderators are not assigned:
// they pass SubChannelId (400 without it, 404 for an unknown one) and may
// join several subchannels; they are listed in each but not counted in
// MembershipCount; regular members cannot pass SubChannelId (400, in a batch
// an Errors entry); DeleteChannelMembership of a moderator with SubChannelId
// removes that membership, without it every one (SEMANTICS.md §6
// "SubChannelId parameters", DG manage-elastic-members).
func TestElasticModerators_SeveralSubChannels(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 6)
	mod2, mod3 := e.user(f.ai, "mod2"), e.user(f.ai, "mod3")
	f.names[mod2], f.names[mod3] = "mod2", "mod3"
	for _, m := range []string{mod2, mod3} {
		_, err := e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(f.ch),
			ChannelModeratorArn: aws.String(m), ChimeBearer: aws.String(f.mod)})
		noErr(t, err)
	}
	f.batch(f.users[:4]...)
	l := f.layout()
	if len(l.subs) != 2 {
		t.Fatalf("4 members: sizes %v", l.sizes())
	}
	s1, s2 := l.subs[0], l.subs[1]

	_, err := f.joinSub(f.mod, mod2, "")
	wantErr(t, err, "BadRequestException")
	if !strings.Contains(errMessage(err), "SubChannelId") {
		t.Errorf("message %q does not name SubChannelId", errMessage(err))
	}
	_, err = f.joinSub(f.mod, mod2, "no-such-subchannel")
	wantErr(t, err, "NotFoundException")
	for _, s := range []string{s1, s2, s1} { // the second join of s1 returns it as it stands (D1)
		out, err := f.joinSub(f.mod, mod2, s)
		noErr(t, err)
		if aws.ToString(out.SubChannelId) != s || aws.ToString(out.Member.Arn) != mod2 {
			t.Errorf("moderator joining %s: answered %q for %s", s, aws.ToString(out.SubChannelId), aws.ToString(out.Member.Arn))
		}
	}
	// A moderator may add itself too (moderators may add members to a RESTRICTED channel).
	_, err = f.joinSub(mod3, mod3, s2)
	noErr(t, err)
	// A regular member cannot choose: 400, and nothing changes.
	_, err = f.joinSub(f.mod, f.users[4], s1)
	wantErr(t, err, "BadRequestException")
	// In a batch with SubChannelId, moderators join it, regular members get an Errors entry.
	b, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: []string{mod3, f.users[5]}, ChimeBearer: aws.String(f.mod), SubChannelId: aws.String(s1)})
	noErr(t, err)
	wantBatchErrors(t, b.Errors, map[string]types.ErrorCode{f.users[5]: types.ErrorCodeBadRequest})
	if got := identityArns(b.BatchChannelMemberships.Members); !slices.Equal(got, []string{mod3}) || aws.ToString(b.BatchChannelMemberships.SubChannelId) != s1 {
		t.Errorf("batch into s1: Members %v SubChannelId %q", f.nameAll(got), aws.ToString(b.BatchChannelMemberships.SubChannelId))
	}
	_, err = e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: []string{mod3}, ChimeBearer: aws.String(f.mod), SubChannelId: aws.String("no-such-subchannel")})
	wantErr(t, err, "NotFoundException") // the SubChannelId is the whole call's (rule D3)

	l = f.layout()
	if !sameSet(l.mods[s1], []string{mod2, mod3}) || !sameSet(l.mods[s2], []string{mod2, mod3}) {
		t.Fatalf("moderators listed: s1 %v, s2 %v; want mod2 and mod3 in both", f.nameAll(l.mods[s1]), f.nameAll(l.mods[s2]))
	}
	if !slices.Equal(l.sizes(), []int{2, 2}) {
		t.Fatalf("MembershipCount %v counts moderators; want [2 2]", l.sizes())
	}
	if got := listMemberArnsElastic(t, e, mod2); !sameSet(got, []string{f.ch + "|" + s1, f.ch + "|" + s2}) {
		t.Errorf("mod2's memberships %v, want one per subchannel with its SubChannelId", got)
	}
	for _, s := range []string{s1, s2} {
		d, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(mod2), ChimeBearer: aws.String(f.mod), SubChannelId: aws.String(s)})
		noErr(t, err)
		if aws.ToString(d.ChannelMembership.SubChannelId) != s {
			t.Errorf("DescribeChannelMembership in %s answered SubChannelId %q", s, aws.ToString(d.ChannelMembership.SubChannelId))
		}
	}
	// A regular member described in another subchannel than its own is not found there.
	_, err = e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(l.members[s1][0]), ChimeBearer: aws.String(f.mod), SubChannelId: aws.String(s2)})
	wantErr(t, err, "NotFoundException")

	// Leaving one subchannel, then all of them.
	noErr(t, f.remove(mod2, s1))
	if got := listMemberArnsElastic(t, e, mod2); !slices.Equal(got, []string{f.ch + "|" + s2}) {
		t.Errorf("after leaving s1: %v, want s2 only", got)
	}
	_, err = f.joinSub(f.mod, mod2, s1)
	noErr(t, err)
	noErr(t, f.remove(mod2, ""))
	if got := listMemberArnsElastic(t, e, mod2); len(got) != 0 {
		t.Errorf("after DeleteChannelMembership without SubChannelId: %v, want none", got)
	}
	err = f.remove(mod2, "")
	wantErr(t, err, "NotFoundException")
	// A moderator leaving never moves anyone: moderators are not counted.
	noErr(t, f.remove(mod3, s2))
	if got := f.layout(); !slices.Equal(got.sizes(), []int{2, 2}) || !slices.Equal(got.mods[s1], []string{mod3}) || len(got.mods[s2]) != 0 {
		t.Errorf("after the moderators left: sizes %v, s1 moderators %v, s2 moderators %v", got.sizes(), f.nameAll(got.mods[s1]), f.nameAll(got.mods[s2]))
	}
}

// TestElasticRefusals: what elastic channels do not support is a clear 400:
// HIDDEN memberships, read markers, membership preferences (even for the
// member itself), DescribeChannelModeratedByAppInstanceUser (SEMANTICS.md §6
// "Not supported"), and ListChannelMemberships without SubChannelId; an
// unknown SubChannelId is a 404; only moderators and admins add members
// (RESTRICTED, rule D9).
func TestElasticRefusals(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 4)
	f.batch(f.users[:2]...)
	u := f.users[0]
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.users[2]), Type: types.ChannelMembershipTypeHidden, ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "BadRequestException")
	wantMessage(t, err, "HIDDEN memberships are not supported in elastic channels.")
	// Type is the whole call's: a batch is refused whole, as the single add.
	_, err = e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: []string{f.users[2]}, Type: types.ChannelMembershipTypeHidden, ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "BadRequestException")
	wantMessage(t, err, "HIDDEN memberships are not supported in elastic channels.")
	_, err = e.Msg.UpdateChannelReadMarker(e.ctx, &chimesdkmessaging.UpdateChannelReadMarkerInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(u)})
	wantErr(t, err, "BadRequestException")
	wantMessage(t, err, "Read markers are not supported in elastic channels.")
	for _, bearer := range []string{u, f.mod, f.admin} {
		_, err = e.getPreferences(f.ch, u, bearer)
		wantErr(t, err, "BadRequestException")
		wantMessage(t, err, "Channel membership preferences are not supported in elastic channels.")
		_, err = e.putPreferences(f.ch, u, bearer, push(types.AllowNotificationsNone, ""))
		wantErr(t, err, "BadRequestException")
		wantMessage(t, err, "Channel membership preferences are not supported in elastic channels.")
	}
	// The moderator for itself, an admin for the moderator: both a 400.
	for _, bearer := range []string{f.mod, f.admin} {
		_, err = e.Msg.DescribeChannelModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelModeratedByAppInstanceUserInput{
			ChannelArn: aws.String(f.ch), AppInstanceUserArn: aws.String(f.mod), ChimeBearer: aws.String(bearer)})
		wantErr(t, err, "BadRequestException")
		wantMessage(t, err, "DescribeChannelModeratedByAppInstanceUser is not supported in elastic channels.")
	}
	// The channel is still listed among those it moderates.
	moderated, err := e.Msg.ListChannelsModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelsModeratedByAppInstanceUserInput{
		ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if len(moderated.Channels) != 1 || aws.ToString(moderated.Channels[0].ChannelSummary.ChannelArn) != f.ch {
		t.Errorf("ListChannelsModeratedByAppInstanceUser: %+v, want the elastic channel", moderated.Channels)
	}
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "BadRequestException")
	if !strings.Contains(errMessage(err), "SubChannelId") {
		t.Errorf("message %q does not name SubChannelId", errMessage(err))
	}
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		SubChannelId: aws.String("nope")})
	wantErr(t, err, "NotFoundException")
	// RESTRICTED: a member cannot add anyone, not even in a batch.
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.users[3]), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(u)})
	wantErr(t, err, "ForbiddenException")
	_, err = e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: []string{f.users[3]}, ChimeBearer: aws.String(u)})
	wantErr(t, err, "ForbiddenException")
	// An admin adds like a moderator; a member leaves by itself (D11).
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.users[3]), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.admin)})
	noErr(t, err)
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.users[3]), ChimeBearer: aws.String(f.users[3])})
	noErr(t, err)
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.users[1]), ChimeBearer: aws.String(u)})
	wantErr(t, err, "ForbiddenException")
	if got := f.layout(); !slices.Equal(got.sizes(), []int{2}) {
		t.Errorf("after the refusals: sizes %v, want [2]", got.sizes())
	}
}

// TestElasticMessages_SubChannelId: messages live in one subchannel
// (SEMANTICS.md §6, DG send-messages-elastic). A regular member acts in its
// own subchannel (SubChannelId optional, another one 403) and sees only its
// messages; moderators and admins name one (required unless they are in
// exactly one), see every subchannel, and must have joined one to send in
// it. SubChannelId is taken and answered by SendChannelMessage, List, Get,
// Update, Redact, GetChannelMessageStatus and DeleteChannelMessage; an
// unknown one is a 404.
func TestElasticMessages_SubChannelId(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 4)
	f.batch(f.users...)
	l := f.layout()
	if !slices.Equal(l.sizes(), []int{2, 2}) {
		t.Fatalf("sizes %v, want [2 2]", l.sizes())
	}
	s1, s2 := l.subs[0], l.subs[1]
	a, a2, b := l.members[s1][0], l.members[s1][1], l.members[s2][0]
	send := func(bearer, sub, content string) (*chimesdkmessaging.SendChannelMessageOutput, error) {
		return e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(bearer),
			Content: aws.String(content), SubChannelId: optional(sub)})
	}
	get := func(bearer, id, sub string) (*types.ChannelMessage, error) {
		out, err := e.Msg.GetChannelMessage(e.ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(bearer),
			MessageId: aws.String(id), SubChannelId: optional(sub)})
		if err != nil {
			return nil, err
		}
		return out.ChannelMessage, nil
	}
	list := func(bearer, sub string) ([]string, error) {
		out, err := e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(bearer),
			SubChannelId: optional(sub), SortOrder: types.SortOrderAscending})
		if err != nil {
			return nil, err
		}
		want := sub
		for s, members := range l.members { // a regular member without one: its own
			if want == "" && slices.Contains(members, bearer) {
				want = s
			}
		}
		if want != "" && aws.ToString(out.SubChannelId) != want {
			t.Errorf("ListChannelMessages by %s with SubChannelId %q answered %q, want %s", bearer, sub, aws.ToString(out.SubChannelId), want)
		}
		return messageIDs(out.ChannelMessages), nil
	}

	// Regular members.
	m1, err := send(a, "", "a in s1")
	noErr(t, err)
	if aws.ToString(m1.SubChannelId) != s1 {
		t.Fatalf("SendChannelMessage without SubChannelId answered %q, want the sender's s1", aws.ToString(m1.SubChannelId))
	}
	m1b, err := send(a2, s1, "a2 in s1")
	noErr(t, err)
	_, err = send(a, s2, "a into s2")
	wantErr(t, err, "ForbiddenException")
	_, err = send(a, "nope", "a into nothing")
	wantErr(t, err, "NotFoundException")
	m2, err := send(b, s2, "b in s2")
	noErr(t, err)
	id1, id1b, id2 := aws.ToString(m1.MessageId), aws.ToString(m1b.MessageId), aws.ToString(m2.MessageId)
	for _, tc := range []struct {
		bearer, sub string
		want        []string
	}{{a, "", []string{id1, id1b}}, {a, s1, []string{id1, id1b}}, {b, "", []string{id2}}} {
		got, err := list(tc.bearer, tc.sub)
		noErr(t, err)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s lists %q: %v, want %v", f.name(tc.bearer), tc.sub, got, tc.want)
		}
	}
	_, err = list(a, s2)
	wantErr(t, err, "ForbiddenException")
	_, err = get(a, id2, "")
	wantErr(t, err, "NotFoundException")
	_, err = get(a, id2, s2)
	wantErr(t, err, "ForbiddenException")
	got, err := get(a2, id1, "")
	noErr(t, err)
	if aws.ToString(got.SubChannelId) != s1 || aws.ToString(got.Content) != "a in s1" {
		t.Errorf("GetChannelMessage: SubChannelId %q content %q", aws.ToString(got.SubChannelId), aws.ToString(got.Content))
	}

	// Moderators and admins see every subchannel but must name one.
	for _, priv := range []string{f.mod, f.admin} {
		_, err = list(priv, "")
		wantErr(t, err, "BadRequestException")
		for sub, want := range map[string][]string{s1: {id1, id1b}, s2: {id2}} {
			ids, err := list(priv, sub)
			noErr(t, err)
			if !slices.Equal(ids, want) {
				t.Errorf("%s lists %s: %v, want %v", f.name(priv), sub, ids, want)
			}
		}
		_, err = list(priv, "nope")
		wantErr(t, err, "NotFoundException")
		m, err := get(priv, id2, s2)
		noErr(t, err)
		if aws.ToString(m.SubChannelId) != s2 {
			t.Errorf("%s gets the s2 message: SubChannelId %q", f.name(priv), aws.ToString(m.SubChannelId))
		}
		_, err = get(priv, id2, s1) // the message is not in s1
		wantErr(t, err, "NotFoundException")
		_, err = get(priv, id2, "")
		wantErr(t, err, "BadRequestException")
		_, err = send(priv, s1, "not joined")
		wantErr(t, err, "ForbiddenException")
	}
	// The moderator joins s1: s1 becomes its default, s2 still needs joining to send.
	_, err = f.joinSub(f.mod, f.mod, s1)
	noErr(t, err)
	mm, err := send(f.mod, "", "mod in s1")
	noErr(t, err)
	if aws.ToString(mm.SubChannelId) != s1 {
		t.Errorf("moderator in s1 only sends in %q", aws.ToString(mm.SubChannelId))
	}
	_, err = send(f.mod, s2, "mod not in s2")
	wantErr(t, err, "ForbiddenException")
	if ids, err := list(f.mod, ""); err != nil || len(ids) != 3 {
		t.Errorf("moderator in exactly one subchannel lists it by default: %v %v", ids, err)
	}
	_, err = f.joinSub(f.mod, f.mod, s2)
	noErr(t, err)
	_, err = send(f.mod, "", "which one?")
	wantErr(t, err, "BadRequestException")
	mm2, err := send(f.mod, s2, "mod in s2")
	noErr(t, err)
	if ids, err := list(b, ""); err != nil || !slices.Equal(ids, []string{id2, aws.ToString(mm2.MessageId)}) {
		t.Errorf("b's history %v %v, want b's and the moderator's s2 messages", ids, err)
	}

	// Update: the sender's own, in its subchannel.
	up, err := e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(a),
		MessageId: aws.String(id1), Content: aws.String("edited"), SubChannelId: aws.String(s1)})
	noErr(t, err)
	if aws.ToString(up.SubChannelId) != s1 {
		t.Errorf("UpdateChannelMessage answered SubChannelId %q", aws.ToString(up.SubChannelId))
	}
	_, err = e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(a),
		MessageId: aws.String(id1), Content: aws.String("edited"), SubChannelId: aws.String(s2)})
	wantErr(t, err, "ForbiddenException")
	_, err = e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(b),
		MessageId: aws.String(id1), Content: aws.String("not b's")})
	wantErr(t, err, "NotFoundException") // b cannot see s1's messages at all
	// Redact: members their own, moderators any, named in its subchannel.
	rd, err := e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MessageId: aws.String(id1b), SubChannelId: aws.String(s1)})
	noErr(t, err)
	if aws.ToString(rd.SubChannelId) != s1 {
		t.Errorf("RedactChannelMessage answered SubChannelId %q", aws.ToString(rd.SubChannelId))
	}
	_, err = e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MessageId: aws.String(id2), SubChannelId: aws.String(s1)})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(b),
		MessageId: aws.String(id2), SubChannelId: aws.String("nope")})
	wantErr(t, err, "NotFoundException")
	if m, err := get(a, id1b, ""); err != nil || !m.Redacted || aws.ToString(m.Content) != "" {
		t.Errorf("redacted message as a sees it: %+v %v", m, err)
	}
	// GetChannelMessageStatus: the sender, in its subchannel.
	st, err := e.Msg.GetChannelMessageStatus(e.ctx, &chimesdkmessaging.GetChannelMessageStatusInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(b),
		MessageId: aws.String(id2), SubChannelId: aws.String(s2)})
	noErr(t, err)
	if st.Status == nil || st.Status.Value != types.ChannelMessageStatusSent {
		t.Errorf("GetChannelMessageStatus: %+v", st.Status)
	}
	_, err = e.Msg.GetChannelMessageStatus(e.ctx, &chimesdkmessaging.GetChannelMessageStatusInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(b),
		MessageId: aws.String(id2), SubChannelId: aws.String(s1)})
	wantErr(t, err, "ForbiddenException")
	_, err = e.Msg.GetChannelMessageStatus(e.ctx, &chimesdkmessaging.GetChannelMessageStatusInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MessageId: aws.String(id2), SubChannelId: aws.String(s2)})
	wantErr(t, err, "ForbiddenException") // sender only
	// DeleteChannelMessage: admins, with or without SubChannelId; the wrong one is a 404.
	_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.admin),
		MessageId: aws.String(id2), SubChannelId: aws.String(s1)})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.admin),
		MessageId: aws.String(id2), SubChannelId: aws.String(s2)})
	noErr(t, err)
	if ids := elasticHistory(t, e, f.ch, b, ""); !slices.Equal(ids, []string{aws.ToString(mm2.MessageId)}) {
		t.Errorf("s2 after the delete: %v", ids)
	}
}

// TestElasticMessages_NextTokenAfterMove: a member lists its subchannel's
// history a page at a time, and between two pages a SCALE_OUT moves it to a
// new subchannel (SEMANTICS.md §6). Its NextToken is then refused with a 400
// that says why and what to do, not one that calls the token invalid; a
// member that stayed goes on with its own token.
func TestElasticMessages_NextTokenAfterMove(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 4)
	u0, u2 := f.users[0], f.users[2]
	var first string
	for _, u := range f.users[:3] {
		first = f.join(u) // all three in one subchannel
	}
	for i := range 3 {
		_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(u0),
			Content: aws.String(fmt.Sprint("m", i))})
		noErr(t, err)
	}
	page := func(bearer string, next *string) (*chimesdkmessaging.ListChannelMessagesOutput, error) {
		return e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(f.ch),
			ChimeBearer: aws.String(bearer), MaxResults: aws.Int32(1), NextToken: next})
	}
	p0, err := page(u0, nil)
	noErr(t, err)
	p2, err := page(u2, nil)
	noErr(t, err)
	if p0.NextToken == nil || p2.NextToken == nil {
		t.Fatal("a first page of 1 of 3 messages answered no NextToken")
	}
	f.join(f.users[3]) // every subchannel is full: the newest member of the first, u2, moves
	if l := f.layout(); l.of[u2] == first || l.of[u0] != first {
		t.Fatalf("after SCALE_OUT u2 is in %s and u0 in %s; want u2 moved out of %s and u0 kept", l.of[u2], l.of[u0], first)
	}
	_, err = page(u2, p2.NextToken)
	wantErr(t, err, "BadRequestException")
	var ae smithy.APIError
	errors.As(err, &ae) // wantErr has checked it is one
	if !strings.Contains(ae.ErrorMessage(), "SubChannel "+first) || !strings.Contains(ae.ErrorMessage(), "without a NextToken") {
		t.Errorf("the refusal of a NextToken of the subchannel u2 left says %q", ae.ErrorMessage())
	}
	out, err := page(u2, nil)
	noErr(t, err)
	if len(out.ChannelMessages) != 0 || aws.ToString(out.SubChannelId) == first {
		t.Errorf("u2 lists again: %d messages of %s, want none of its new subchannel", len(out.ChannelMessages), aws.ToString(out.SubChannelId))
	}
	if out, err := page(u0, p0.NextToken); err != nil || len(out.ChannelMessages) != 1 {
		t.Errorf("u0, not moved, goes on with its NextToken: %v", err)
	}
}

// TestElasticBans_ChannelWide: a ban applies to the whole elastic channel: it
// removes the member from its subchannel (the count follows), refuses adding
// it back (403, D2; in a batch an Forbidden entry) and every read of any
// subchannel; lifting it lets the service assign it again (SEMANTICS.md §6,
// issue 8 "Bans are channel-wide").
func TestElasticBans_ChannelWide(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 6)
	f.batch(f.users...)
	l := f.layout()
	s1, s2 := l.subs[0], l.subs[1]
	victim := l.members[s2][0]
	_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(f.ch), MemberArn: aws.String(victim),
		ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if got := f.layout(); got.of[victim] != "" || !slices.Equal(got.sizes(), []int{3, 2}) {
		t.Fatalf("after the ban: %s in %q, sizes %v", f.name(victim), got.of[victim], got.sizes())
	}
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(victim), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "ForbiddenException")
	b, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArns: []string{victim}, ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	wantBatchErrors(t, b.Errors, map[string]types.ErrorCode{victim: types.ErrorCodeForbidden})
	for _, sub := range []string{"", s1, s2} {
		_, err := e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(victim),
			SubChannelId: optional(sub)})
		wantErr(t, err, "ForbiddenException")
	}
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(victim), Content: aws.String("x")})
	wantErr(t, err, "ForbiddenException")
	// Moderators of the elastic channel cannot be banned.
	_, err = e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(f.ch), MemberArn: aws.String(f.mod),
		ChimeBearer: aws.String(f.admin)})
	wantErr(t, err, "ForbiddenException")
	_, err = e.Msg.DeleteChannelBan(e.ctx, &chimesdkmessaging.DeleteChannelBanInput{ChannelArn: aws.String(f.ch), MemberArn: aws.String(victim),
		ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if sub := f.join(victim); sub != s2 {
		t.Errorf("after the ban is lifted the member joins %s, want the fullest below the target (s2)", sub)
	}
}

// TestElasticPromotionDemotion: promoting a member to moderator, or demoting
// a moderator, resets its subchannel memberships (issue 8; SEMANTICS.md §6:
// moderators are not counted and choose their subchannels, members are
// assigned).
func TestElasticPromotionDemotion(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 6)
	f.batch(f.users...)
	l := f.layout()
	s1, s2 := l.subs[0], l.subs[1]
	u := l.members[s1][0]
	_, err := e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(f.ch),
		ChannelModeratorArn: aws.String(u), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	l2 := f.layout()
	if got := listMemberArnsElastic(t, e, u); len(got) != 0 {
		t.Fatalf("promoted member keeps memberships %v", got)
	}
	if l2.count[s1] != 2 || l2.count[s2] != 3 {
		t.Fatalf("after the promotion: sizes %v, want s1 one member fewer", l2.sizes())
	}
	// As a moderator it joins subchannels of its choice, counted in none.
	for _, s := range []string{s1, s2} {
		_, err := f.joinSub(f.mod, u, s)
		noErr(t, err)
	}
	if got := f.layout(); !slices.Equal(got.sizes(), l2.sizes()) || len(got.mods[s1]) != 1 || len(got.mods[s2]) != 1 {
		t.Fatalf("the new moderator in both: sizes %v, moderators %v / %v", got.sizes(), got.mods[s1], got.mods[s2])
	}
	_, err = e.Msg.DeleteChannelModerator(e.ctx, &chimesdkmessaging.DeleteChannelModeratorInput{ChannelArn: aws.String(f.ch),
		ChannelModeratorArn: aws.String(u), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if got := listMemberArnsElastic(t, e, u); len(got) != 0 {
		t.Fatalf("demoted moderator keeps memberships %v", got)
	}
	if got := f.layout(); !slices.Equal(got.sizes(), l2.sizes()) || len(got.mods[s1])+len(got.mods[s2]) != 0 {
		t.Fatalf("after the demotion: sizes %v", got.sizes())
	}
	// Demoted, it is a regular member again: assigned, counted.
	if sub := f.join(u); sub != s1 {
		t.Errorf("demoted moderator re-added to %s, want the fullest below the target (s1)", sub)
	}
	if got := f.layout(); !slices.Equal(got.sizes(), []int{3, 3}) {
		t.Errorf("sizes %v, want [3 3]", got.sizes())
	}
	// Promoting a moderator that is already one changes nothing.
	_, err = f.joinSub(f.mod, f.mod, s2)
	noErr(t, err)
	_, err = e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(f.ch),
		ChannelModeratorArn: aws.String(f.mod), ChimeBearer: aws.String(f.admin)})
	noErr(t, err)
	if got := listMemberArnsElastic(t, e, f.mod); !slices.Equal(got, []string{f.ch + "|" + s2}) {
		t.Errorf("re-creating an existing moderator reset its memberships: %v", got)
	}
}

// TestElasticListSubChannels: admins and moderators only (members and
// outsiders 403), a standard channel is a 400; MembershipCount counts
// regular members; pages follow rules D6-D8 (creation order, the last page
// without NextToken, tokens bound to their channel, tampered ones a 400).
// ListChannelMemberships pages within a subchannel.
func TestElasticListSubChannels(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 13)
	outsider := e.user(f.ai, "outsider")
	f.batch(f.users[:12]...)
	_, err := f.joinSub(f.mod, f.mod, "")
	wantErr(t, err, "BadRequestException")
	all, err := f.subChannels(f.mod, 50)
	noErr(t, err)
	if len(all) != 4 {
		t.Fatalf("%d subchannels, want 4", len(all))
	}
	_, err = f.joinSub(f.mod, f.mod, aws.ToString(all[0].SubChannelId))
	noErr(t, err)
	for _, b := range []string{f.mod, f.admin} {
		got, err := f.subChannels(b, 1)
		noErr(t, err)
		var sizes []int32
		for i, s := range got {
			sizes = append(sizes, aws.ToInt32(s.MembershipCount))
			if aws.ToString(s.SubChannelId) != aws.ToString(all[i].SubChannelId) {
				t.Errorf("%s: page %d is %s, want %s (creation order)", f.name(b), i, aws.ToString(s.SubChannelId), aws.ToString(all[i].SubChannelId))
			}
		}
		if !slices.Equal(sizes, []int32{3, 3, 3, 3}) {
			t.Errorf("%s: MembershipCount %v, want [3 3 3 3] (the moderator's membership is not counted)", f.name(b), sizes)
		}
	}
	for _, b := range []string{f.users[0], outsider} {
		_, err := f.subChannels(b, 50)
		wantErr(t, err, "ForbiddenException")
	}
	std := e.channel(f.ai, f.mod, "RESTRICTED", "PRIVATE")
	_, err = e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(std), ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "BadRequestException")
	_, err = e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MaxResults: aws.Int32(51)})
	wantErr(t, err, "BadRequestException")
	p1, err := e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MaxResults: aws.Int32(3)})
	noErr(t, err)
	if len(p1.SubChannels) != 3 || p1.NextToken == nil {
		t.Fatalf("first page of 3: %d items, token %v", len(p1.SubChannels), p1.NextToken)
	}
	p2, err := e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		MaxResults: aws.Int32(3), NextToken: p1.NextToken})
	noErr(t, err)
	if len(p2.SubChannels) != 1 || p2.NextToken != nil || aws.ToString(p2.SubChannels[0].SubChannelId) != aws.ToString(all[3].SubChannelId) {
		t.Fatalf("second page: %+v, token %v", p2.SubChannels, p2.NextToken)
	}
	_, err = e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		NextToken: aws.String(tamper(*p1.NextToken))})
	wantErr(t, err, "BadRequestException")
	// A ListSubChannels token is not a ListChannelMemberships token (D8).
	sub := aws.ToString(all[0].SubChannelId)
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		SubChannelId: aws.String(sub), NextToken: p1.NextToken})
	wantErr(t, err, "BadRequestException")

	// ListChannelMemberships in a subchannel: the moderator and 3 members, in pages of 2.
	m1, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.users[0]),
		SubChannelId: aws.String(sub), MaxResults: aws.Int32(2)})
	noErr(t, err) // members read their channel's memberships
	if len(m1.ChannelMemberships) != 2 || m1.NextToken == nil {
		t.Fatalf("first page of 2: %d, token %v", len(m1.ChannelMemberships), m1.NextToken)
	}
	// The token is bound to its subchannel.
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod),
		SubChannelId: all[1].SubChannelId, MaxResults: aws.Int32(2), NextToken: m1.NextToken})
	wantErr(t, err, "BadRequestException")
	if got := f.membersOf(sub, 2); len(got) != 4 || !slices.Contains(got, f.mod) {
		t.Errorf("members of %s: %v, want 3 members and the moderator", sub, f.nameAll(got))
	}
}

// TestElasticDeletedUser: deleting an AppInstanceUser who is a regular
// member is a leave: its subchannel's MembershipCount follows, and a
// subchannel it leaves under the minimum merges into one that can absorb it
// (SCALE_IN, SEMANTICS.md §6). Deleting a moderator changes no count.
// Deleting the channel deletes its subchannels.
func TestElasticDeletedUser(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 6)
	mod2 := e.user(f.ai, "mod2")
	_, err := e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(f.ch),
		ChannelModeratorArn: aws.String(mod2), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	f.batch(f.users[:6]...)
	l := f.layout()
	if !slices.Equal(l.sizes(), []int{3, 3}) {
		t.Fatalf("sizes %v", l.sizes())
	}
	s1, s2 := l.subs[0], l.subs[1]
	for _, s := range []string{s1, s2} {
		_, err = f.joinSub(f.mod, mod2, s)
		noErr(t, err)
	}
	deleteUser := func(arn string) {
		t.Helper()
		_, err := e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(arn)})
		noErr(t, err)
	}
	deleteUser(l.members[s1][0])
	if got := f.layout(); !slices.Equal(got.sizes(), []int{2, 3}) {
		t.Fatalf("after deleting a member of s1: sizes %v, want [2 3]", got.sizes())
	}
	deleteUser(l.members[s2][0])
	deleteUser(l.members[s2][1])
	// s2 fell to 1, under the minimum of 2, and s1 (2) can absorb it.
	got := f.layout()
	if !slices.Equal(got.subs, []string{s1}) || got.count[s1] != 3 || got.of[l.members[s2][2]] != s1 {
		t.Fatalf("after deleting two members of s2: subchannels %v sizes %v, want s2 merged into s1", got.subs, got.sizes())
	}
	if got := listMemberArnsElastic(t, e, mod2); !slices.Equal(got, []string{f.ch + "|" + s1}) {
		t.Errorf("moderator's memberships after the merge: %v", got)
	}
	deleteUser(mod2)
	if got := f.layout(); !slices.Equal(got.sizes(), []int{3}) || len(got.mods[s1]) != 0 {
		t.Fatalf("after deleting the moderator: sizes %v, moderators %v", got.sizes(), got.mods[s1])
	}
	_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	_, err = e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.mod)})
	wantErr(t, err, "NotFoundException")
	for _, u := range got.members[s1] {
		if got := listMemberArnsElastic(t, e, u); len(got) != 0 {
			t.Errorf("%s still has memberships %v after DeleteChannel", f.name(u), got)
		}
	}
	// Its slot is free again (quota of 1 elastic channel per app instance).
	f.create(2, 2, 1)
}

// frameText is the part of an event frame the elastic tests compare.
func (f *elasticFixture) frameText(fr wsFrame, subName map[string]string) string {
	f.t.Helper()
	var p struct {
		ChannelArn   string
		SubChannelId string
		MessageId    string
		Content      string
		Member       struct{ Arn string }
	}
	fr.payload(f.t, &p)
	if p.ChannelArn != f.ch {
		return fr.Type() + " of another channel"
	}
	s := fr.Type()
	if p.Member.Arn != "" {
		s += " " + f.name(p.Member.Arn)
	}
	if p.MessageId != "" {
		s += " " + p.Content
	}
	s += " in " + subName[p.SubChannelId]
	if r, ok := fr.Headers["x-amz-chime-event-reason"]; ok {
		s += " reason=" + r
	}
	// Membership events are SYSTEM, a STANDARD message STANDARD (SEMANTICS.md §10 "Frame format").
	if mt, want := fr.Headers["x-amz-chime-message-type"], map[bool]string{true: "STANDARD", false: "SYSTEM"}[p.MessageId != ""]; mt != want {
		s += " message-type=" + mt
	}
	return s
}

// TestElasticEvents: the events of an elastic channel (SEMANTICS.md §10 and
// §6 "Events", DG websocket-messages-elastic) go to the members of the
// subchannel where the change happened, with SubChannelId in the payload. A
// batch sends one CREATE_CHANNEL_MEMBERSHIP per member (no
// BATCH_CREATE_CHANNEL_MEMBERSHIP); a member moved by a rebalance alone gets
// UPDATE_CHANNEL_MEMBERSHIP with its new SubChannelId; a moderator whose
// subchannel is merged away gets DELETE_CHANNEL_MEMBERSHIP with the frame
// header x-amz-chime-event-reason: subchannel_DELETED. Every client's frames
// are read up to a barrier, so an event that should not arrive is known not
// to have arrived.
func TestElasticEvents(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 4)
	a, b, c, d := f.users[0], f.users[1], f.users[2], f.users[3]
	people := []string{a, b, c, d, f.mod}
	clients := map[string]*wsClient{}
	var all []*wsClient
	for _, u := range people {
		clients[u] = e.connect(u)
		all = append(all, clients[u])
	}
	bar := e.newBarrier(f.ai, people, all...)
	subName := map[string]string{"": "-"}
	// expect reads every client up to the barrier and compares its frames.
	expect := func(step string, want map[string][]string) {
		t.Helper()
		got := bar.sync(all...)
		for _, u := range people {
			var texts []string
			for _, fr := range got[clients[u]] {
				texts = append(texts, f.frameText(fr, subName))
			}
			if !slices.Equal(texts, want[u]) {
				t.Errorf("%s: %s received %q, want %q", step, f.name(u), texts, want[u])
			}
		}
	}

	// A batch: one CREATE per member, to the members of its subchannel at that moment.
	f.batch(a, b, c)
	l := f.layout()
	s1 := l.subs[0]
	subName[s1] = "s1"
	expect("batch of 3", map[string][]string{
		a: {"CREATE_CHANNEL_MEMBERSHIP u0 in s1", "CREATE_CHANNEL_MEMBERSHIP u1 in s1", "CREATE_CHANNEL_MEMBERSHIP u2 in s1"},
		b: {"CREATE_CHANNEL_MEMBERSHIP u1 in s1", "CREATE_CHANNEL_MEMBERSHIP u2 in s1"},
		c: {"CREATE_CHANNEL_MEMBERSHIP u2 in s1"},
	})
	_, err := f.joinSub(f.mod, f.mod, s1)
	noErr(t, err)
	expect("moderator joins s1", map[string][]string{
		a: {"CREATE_CHANNEL_MEMBERSHIP mod in s1"}, b: {"CREATE_CHANNEL_MEMBERSHIP mod in s1"},
		c: {"CREATE_CHANNEL_MEMBERSHIP mod in s1"}, f.mod: {"CREATE_CHANNEL_MEMBERSHIP mod in s1"},
	})

	// SCALE_OUT: d's join creates s2 and moves members there; each moved
	// member alone is told, then s2's members hear of d.
	s2 := f.join(d)
	subName[s2] = "s2"
	l = f.layout()
	var moved []string
	for _, m := range l.members[s2] {
		if m != d {
			moved = append(moved, m)
		}
	}
	if len(moved) == 0 {
		t.Fatalf("SCALE_OUT moved nobody: %v", l.sizes())
	}
	want := map[string][]string{d: {"CREATE_CHANNEL_MEMBERSHIP u3 in s2"}}
	for _, m := range moved {
		want[m] = append([]string{fmt.Sprintf("UPDATE_CHANNEL_MEMBERSHIP %s in s2", f.name(m))}, want[d]...)
	}
	expect("SCALE_OUT", want)

	// A message in s2 reaches s2's members only (the moderator is in s1 only).
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(d), Content: aws.String("hello s2")})
	noErr(t, err)
	want = map[string][]string{}
	for _, m := range l.members[s2] {
		want[m] = []string{"CREATE_CHANNEL_MESSAGE hello s2 in s2"}
	}
	expect("message in s2", want)

	// SCALE_IN: the moderator joins s2 too; then s2 falls under the minimum
	// (2) when d leaves, and s1 can absorb what is left.
	_, err = f.joinSub(f.mod, f.mod, s2)
	noErr(t, err)
	want = map[string][]string{}
	for _, m := range append(l.members[s2], f.mod) {
		want[m] = []string{"CREATE_CHANNEL_MEMBERSHIP mod in s2"}
	}
	expect("moderator joins s2", want)
	if l.count[s1]+l.count[s2]-1 > f.target || l.count[s2]-1 >= f.minimum {
		t.Fatalf("sizes %v do not make d's leave a merge", l.sizes())
	}
	noErr(t, f.remove(d, ""))
	want = map[string][]string{d: {"DELETE_CHANNEL_MEMBERSHIP u3 in s2"},
		f.mod: {"DELETE_CHANNEL_MEMBERSHIP u3 in s2", "DELETE_CHANNEL_MEMBERSHIP mod in s2 reason=subchannel_DELETED"}}
	for _, m := range moved {
		want[m] = []string{"DELETE_CHANNEL_MEMBERSHIP u3 in s2", fmt.Sprintf("UPDATE_CHANNEL_MEMBERSHIP %s in s1", f.name(m))}
	}
	expect("SCALE_IN", want)
	if got := f.layout(); !slices.Equal(got.subs, []string{s1}) {
		t.Fatalf("after the merge: %v", got.subs)
	}

	// No batch event in an elastic channel, and the frames are the wire format: the reason is a frame header.
	f.batch(d)
	got := bar.sync(all...)
	for _, u := range people {
		for _, fr := range got[clients[u]] {
			if fr.Type() == "BATCH_CREATE_CHANNEL_MEMBERSHIP" {
				t.Errorf("%s received BATCH_CREATE_CHANNEL_MEMBERSHIP in an elastic channel", f.name(u))
			}
		}
	}
	if n := len(got[clients[d]]); n != 1 {
		t.Errorf("d re-added: %d frames", n)
	}
}

// TestKill9ElasticRebalance: a rebalance runs inside the write transaction of
// the change that causes it (issue 8 "Scale": safe to interrupt), so a kill -9
// of the binary during heavy elastic churn leaves a consistent channel. Eight
// clients add and remove members of an elastic channel with subchannels of 4
// (minimum 2), so nearly every few changes split or merge subchannels, and
// SIGKILL lands while changes are in flight. After a restart on the same data
// every subchannel's MembershipCount equals its listed regular members, no
// subchannel is over the target, every member is in exactly one subchannel,
// and every acknowledged change is there.
func TestKill9ElasticRebalance(t *testing.T) {
	if os.Getenv(onPostgresEnv) != "" {
		t.Skip("runs the binary on its own SQLite data directory: covered by the SQLite pass")
	}
	ctx := context.Background()
	dir := t.TempDir()
	p := startBelfry(t, dir)
	id, msg := p.clients()
	e := &env{t: t, ctx: ctx, ID: id, Msg: msg}
	ai := e.appInstance("elastic-kill")
	f := &elasticFixture{e: e, t: t, ai: ai, mod: e.user(ai, "mod"), target: 4, max: 60, minimum: 2, names: map[string]string{}}
	f.names[f.mod] = "mod"
	const workers, perWorker = 8, 20
	users := make([][]string, workers)
	errs := parallel(workers, func(w int) error {
		for i := range perWorker {
			out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
				AppInstanceUserId: aws.String(fmt.Sprintf("w%d-u%d", w, i)), Name: aws.String("churn"), ClientRequestToken: aws.String(fmt.Sprintf("w%d-u%d", w, i))})
			if err != nil {
				return err
			}
			users[w] = append(users[w], *out.AppInstanceUserArn)
		}
		return nil
	})
	for _, err := range errs {
		noErr(t, err)
	}
	f.ch = f.create(60, 4, 40)

	// The moderator holds memberships in the first subchannels: listed, never counted.
	f.batch(users[0][:9]...)
	for _, s := range f.layout().subs {
		_, err := f.joinSub(f.mod, f.mod, s)
		noErr(t, err)
	}

	// state is what the acknowledged answers say of each user; a change in
	// flight at the kill makes its users unknown.
	type state int
	const (
		out state = iota
		in
		unknown
	)
	var (
		mu      sync.Mutex
		all     = slices.Concat(users...)
		states  = map[string]state{}
		seen    = map[string]string{} // user -> its subchannel as last seen in an answer ("" unknown)
		subsAck = map[string]bool{}   // every subchannel an answer showed
		killed  atomic.Bool
		acks    atomic.Int64
	)
	l0 := f.layout()
	for u, s := range l0.of {
		states[u], seen[u], subsAck[s] = in, s, true
	}
	// pick chooses the next change and marks its users in flight, under the
	// lock, so that no user has two changes in flight. Leaves drain the
	// subchannel with the fewest members known to be in it, so that
	// subchannels fall under the minimum and merge.
	pick := func(rng *rand.Rand) (op string, us []string) {
		mu.Lock()
		defer mu.Unlock()
		var outs []string
		bySub := map[string][]string{}
		for _, u := range all {
			switch states[u] {
			case out:
				outs = append(outs, u)
			case in:
				bySub[seen[u]] = append(bySub[seen[u]], u)
			}
		}
		// Phases of 50 changes: the channel grows (SCALE_OUT), then shrinks (SCALE_IN).
		grow := acks.Load()/50%2 == 0
		r := rng.IntN(10)
		switch {
		case len(outs) > 0 && (grow && r < 8 || !grow && r < 2 || len(bySub) == 0):
			rng.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })
			op, us = "add", outs[:1]
			if r%2 == 0 && len(outs) >= 3 {
				op, us = "batch", outs[:3]
			}
		case len(bySub) > 0:
			smallest := ""
			for s, ms := range bySub {
				if smallest == "" || len(ms) < len(bySub[smallest]) || len(ms) == len(bySub[smallest]) && s < smallest {
					smallest = s
				}
			}
			op, us = "leave", []string{bySub[smallest][rng.IntN(len(bySub[smallest]))]}
		default:
			return "", nil // everyone is in flight
		}
		for _, u := range us {
			states[u] = unknown
		}
		return op, us
	}
	set := func(st state, sub string, us ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, u := range us {
			states[u], seen[u] = st, sub
		}
		if sub != "" {
			subsAck[sub] = true
		}
	}
	const killAfter = 300
	errs = parallel(workers, func(w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		for {
			op, us := pick(rng)
			var err error
			switch op {
			case "":
				time.Sleep(time.Millisecond) // the other workers hold every user
				continue
			case "batch":
				var b *chimesdkmessaging.BatchCreateChannelMembershipOutput
				b, err = msg.BatchCreateChannelMembership(ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
					MemberArns: us, ChimeBearer: aws.String(f.mod)})
				if err == nil && len(b.Errors) != 0 {
					return fmt.Errorf("batch errors %+v", b.Errors)
				}
				if err == nil {
					set(in, "", us...)
				}
			case "add":
				var c *chimesdkmessaging.CreateChannelMembershipOutput
				c, err = msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
					MemberArn: aws.String(us[0]), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.mod)})
				if err == nil {
					set(in, aws.ToString(c.SubChannelId), us...)
				}
			case "leave":
				_, err = msg.DeleteChannelMembership(ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
					MemberArn: aws.String(us[0]), ChimeBearer: aws.String(f.mod)})
				if err == nil {
					set(out, "", us...)
				}
			}
			if err != nil {
				if killed.Load() {
					return nil
				}
				return fmt.Errorf("%s %v: %w", op, us, err)
			}
			if acks.Add(1) == killAfter && killed.CompareAndSwap(false, true) {
				p.signal(syscall.SIGKILL)
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Errorf("change before the kill: %v", err)
		}
	}
	if !killed.Load() {
		t.Fatal("the churn ended without a kill")
	}
	if st := p.wait(10 * time.Second); st.Success() {
		t.Fatalf("belfry exited successfully after SIGKILL: %v", st)
	}

	p2 := startBelfry(t, dir)
	_, f.e.Msg = p2.clients()
	l := f.layout() // the invariants: counts, target, one subchannel per member
	var unknowns, members int
	for u, st := range states {
		switch {
		case st == unknown:
			unknowns++
		case st == in && l.of[u] == "":
			t.Errorf("%s: acknowledged as a member, missing after the restart", u)
		case st == out && l.of[u] != "":
			t.Errorf("%s: acknowledged as removed, in subchannel %s after the restart", u, l.of[u])
		}
		if l.of[u] != "" {
			members++
		}
	}
	gone := 0
	for s := range subsAck {
		if _, ok := l.count[s]; !ok {
			gone++
		}
	}
	t.Logf("%d changes acknowledged before the kill, %d in flight; after the restart %d members in %d subchannels %v; "+
		"%d of the %d subchannels seen in answers are gone (SCALE_IN)", acks.Load(), unknowns, members, len(l.subs),
		l.sizes(), gone, len(subsAck))
	if len(subsAck) < 2 || gone == 0 {
		t.Errorf("the churn did not split and merge subchannels: %d subchannels seen, %d gone", len(subsAck), gone)
	}
	// The channel still works: a change after the restart keeps the invariants.
	for w := range users {
		for _, u := range users[w] {
			if l.of[u] == "" {
				f.join(u)
				f.layout()
				return
			}
		}
	}
}

// TestElasticPrefetch_ModeratorInTwoSubChannels: a moderator who joined two
// subchannels of an elastic channel gets its prefetch (SEMANTICS.md §10):
// the elastic channel once, with the messages of the first subchannel it
// holds, and its other channels as well, 50 channels in all (its second
// subchannel membership takes none of the 50). Before, the history read
// without a SubChannelId failed and the whole prefetch was dropped.
func TestElasticPrefetch_ModeratorInTwoSubChannels(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 4, 3, 40, 4)
	f.batch(f.users...)
	l := f.layout()
	if len(l.subs) != 2 {
		t.Fatalf("%d subchannels, want 2", len(l.subs))
	}
	for _, sub := range l.subs {
		_, err := f.joinSub(f.mod, f.mod, sub)
		noErr(t, err)
	}
	_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(l.members[l.subs[0]][0]),
		Content: aws.String("in the first")})
	noErr(t, err)
	plain := e.channel(f.ai, f.mod, "UNRESTRICTED", "PUBLIC")
	want := []string{f.ch, plain}
	for len(want) < 50 { // the prefetch's 50 counts channels, not memberships
		want = append(want, e.channel(f.ai, f.mod, "UNRESTRICTED", "PUBLIC"))
	}
	marker := func() {
		_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(plain), Name: aws.String("plain"),
			ChimeBearer: aws.String(f.mod)})
		noErr(t, err)
	}
	ds := prefetched(t, e, e.connect(f.mod, url.Values{"prefetch-on": {"connect"}}), marker)
	var arns []string
	for _, d := range ds {
		arns = append(arns, d.Channel.ChannelArn)
	}
	slices.Sort(arns)
	slices.Sort(want)
	if !slices.Equal(arns, want) {
		t.Fatalf("CHANNEL_DETAILS for %d channels %v, want the elastic channel and the 49 plain ones once each", len(arns), f.nameAll(arns))
	}
}

// TestElasticSendReplay_D12: a SendChannelMessage sent again with its
// ClientRequestToken answers as the first did, SubChannelId included (it
// answered none): the subchannel the message went to.
func TestElasticSendReplay_D12(t *testing.T) {
	e := newEnv(t)
	f := newElastic(t, e, 3, 2, 40, 1)
	sub := f.join(f.users[0])
	in := chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.users[0]), Content: aws.String("once"),
		ClientRequestToken: aws.String("elastic-resend-1")}
	first, err := e.sendIn(in)
	noErr(t, err)
	for _, when := range []string{"again", "after a restart"} {
		if when == "after a restart" {
			e.restart()
		}
		again, err := e.sendIn(in)
		noErr(t, err)
		if aws.ToString(again.MessageId) != aws.ToString(first.MessageId) || aws.ToString(again.SubChannelId) != sub ||
			aws.ToString(first.SubChannelId) != sub {
			t.Errorf("%s: MessageId %s SubChannelId %q, first %s %q, want the same in %s", when, aws.ToString(again.MessageId),
				aws.ToString(again.SubChannelId), aws.ToString(first.MessageId), aws.ToString(first.SubChannelId), sub)
		}
	}
	if ids := elasticHistory(t, e, f.ch, f.users[0], ""); len(ids) != 1 {
		t.Errorf("history %v, want one message", ids)
	}
}
