package e2e

// LastMessageTimestamp as each caller sees it (SEMANTICS.md §4, §6): in a
// ChannelSummary, the last persistent message the caller can see;
// DescribeChannel's Channel keeps the channel's last untargeted one; a
// channel that expires by LAST_MESSAGE_TIMESTAMP counts every persistent
// message, targeted ones included.

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

// The operations that answer a ChannelSummary, and DescribeChannel.
const (
	opDescribeMembership = "DescribeChannelMembershipForAppInstanceUser"
	opListMemberships    = "ListChannelMembershipsForAppInstanceUser"
	opListChannels       = "ListChannels"
	opListModerated      = "ListChannelsModeratedByAppInstanceUser"
	opDescribeModerated  = "DescribeChannelModeratedByAppInstanceUser"
	opDescribeChannel    = "DescribeChannel"
)

// lastSeen returns the LastMessageTimestamp that bearer gets for ch from
// each of ops, about user (the bearer itself when ""); ListChannels lists
// channels of privacy. A channel missing from a list fails the test.
func lastSeen(t *testing.T, e *env, ai, ch, bearer, user string, privacy types.ChannelPrivacy, ops ...string) map[string]*time.Time {
	t.Helper()
	got := map[string]*time.Time{}
	found := func(op string, ok bool) {
		t.Helper()
		if !ok {
			t.Fatalf("%s as %s: the channel is not listed", op, bearer)
		}
	}
	for _, op := range ops {
		switch op {
		case opDescribeMembership:
			out, err := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
				ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer), AppInstanceUserArn: aws.String(orSelf(user, bearer))})
			noErr(t, err)
			got[op] = out.ChannelMembership.ChannelSummary.LastMessageTimestamp
		case opListMemberships:
			out, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
				ChimeBearer: aws.String(bearer), AppInstanceUserArn: optional(user)})
			noErr(t, err)
			i := slices.IndexFunc(out.ChannelMemberships, func(s types.ChannelMembershipForAppInstanceUserSummary) bool {
				return aws.ToString(s.ChannelSummary.ChannelArn) == ch
			})
			found(op, i >= 0)
			got[op] = out.ChannelMemberships[i].ChannelSummary.LastMessageTimestamp
		case opListChannels:
			out, err := e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(bearer),
				Privacy: privacy})
			noErr(t, err)
			i := slices.IndexFunc(out.Channels, func(s types.ChannelSummary) bool { return aws.ToString(s.ChannelArn) == ch })
			found(op, i >= 0)
			got[op] = out.Channels[i].LastMessageTimestamp
		case opListModerated:
			out, err := e.Msg.ListChannelsModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelsModeratedByAppInstanceUserInput{
				ChimeBearer: aws.String(bearer), AppInstanceUserArn: optional(user)})
			noErr(t, err)
			i := slices.IndexFunc(out.Channels, func(s types.ChannelModeratedByAppInstanceUserSummary) bool {
				return aws.ToString(s.ChannelSummary.ChannelArn) == ch
			})
			found(op, i >= 0)
			got[op] = out.Channels[i].ChannelSummary.LastMessageTimestamp
		case opDescribeModerated:
			out, err := e.Msg.DescribeChannelModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelModeratedByAppInstanceUserInput{
				ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer), AppInstanceUserArn: aws.String(orSelf(user, bearer))})
			noErr(t, err)
			got[op] = out.Channel.ChannelSummary.LastMessageTimestamp
		case opDescribeChannel:
			out, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer)})
			noErr(t, err)
			got[op] = out.Channel.LastMessageTimestamp
		default:
			t.Fatalf("lastSeen: unknown operation %s", op)
		}
	}
	return got
}

func orSelf(user, bearer string) string {
	if user == "" {
		return bearer
	}
	return user
}

// wantSeen checks that every operation of got answered want (nil: no LastMessageTimestamp).
func wantSeen(t *testing.T, who string, got map[string]*time.Time, want *time.Time) {
	t.Helper()
	for op, ts := range got {
		if (want == nil) != (ts == nil) || (want != nil && !ts.Equal(*want)) {
			t.Errorf("%s: %s LastMessageTimestamp %v, want %v", who, op, fmtTime(ts), fmtTime(want))
		}
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "(none)"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// TestLastMessageTimestampVisibleToCaller_S4: a ChannelSummary's
// LastMessageTimestamp is the last persistent message the caller can see
// (SEMANTICS.md §4): a persistent targeted message moves it for its sender
// and its target in every operation that answers a ChannelSummary, and for
// no one else; DescribeChannel's Channel keeps the last untargeted message;
// NON_PERSISTENT messages, targeted or not, move nothing. An admin listing
// a user's memberships sees what the admin (the caller) can see.
func TestLastMessageTimestampVisibleToCaller_S4(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 8, 1, 9, 0, 0, 250_000_000, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newRoleFixture(e, e.appInstance("last-seen"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	memberOps := []string{opDescribeMembership, opListMemberships, opListChannels}
	modOps := []string{opListModerated, opDescribeModerated}
	seen := func(bearer string, ops ...string) map[string]*time.Time {
		t.Helper()
		return lastSeen(t, e, f.ai, ch, bearer, "", types.ChannelPrivacyPublic, ops...)
	}
	targeted := func(sender, target, content string, persistence types.ChannelMessagePersistenceType) {
		t.Helper()
		_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(sender),
			Content: aws.String(content), Target: []types.Target{{MemberArn: aws.String(target)}}, Persistence: persistence})
		noErr(t, err)
	}

	for _, who := range []string{f.member, f.memberBot, f.creator} {
		wantSeen(t, "before any message", seen(who, memberOps...), nil)
	}
	clk.Advance(time.Minute)
	e.send(ch, f.creator, "to everyone")
	t1 := clk.Now()

	// member → memberBot: both see it; the creator (a third member) does not.
	clk.Advance(time.Minute)
	targeted(f.member, f.memberBot, "just for the bot", types.ChannelMessagePersistenceTypePersistent)
	t2 := clk.Now()
	wantSeen(t, "the sender", seen(f.member, memberOps...), &t2)
	wantSeen(t, "the target", seen(f.memberBot, memberOps...), &t2)
	wantSeen(t, "a third member", seen(f.creator, append(memberOps, modOps...)...), &t1)
	wantSeen(t, "a non-member", seen(f.nonMember, opListChannels), &t1)
	wantSeen(t, "a moderator", seen(f.mod, append(modOps, opListChannels)...), &t1)
	for _, who := range []string{f.member, f.memberBot, f.creator} {
		wantSeen(t, "DescribeChannel", seen(who, opDescribeChannel), &t1)
	}
	// An admin listing the sender's memberships is the caller: it sees the
	// channel's last untargeted message, not the sender's targeted one.
	wantSeen(t, "an admin about the sender", lastSeen(t, e, f.ai, ch, f.admin, f.member, types.ChannelPrivacyPublic,
		opDescribeMembership, opListMemberships), &t1)

	// creator (a moderator) → member: the ModeratedBy operations show it to the creator.
	clk.Advance(time.Minute)
	targeted(f.creator, f.member, "from the creator", types.ChannelMessagePersistenceTypePersistent)
	t3 := clk.Now()
	wantSeen(t, "the moderating sender", seen(f.creator, append(memberOps, modOps...)...), &t3)
	wantSeen(t, "the target", seen(f.member, memberOps...), &t3)
	wantSeen(t, "the earlier target", seen(f.memberBot, memberOps...), &t2)
	wantSeen(t, "another moderator", seen(f.mod, modOps...), &t1)

	// NON_PERSISTENT messages, targeted or not, move nothing for anyone.
	clk.Advance(time.Minute)
	targeted(f.memberBot, f.member, "typing...", types.ChannelMessagePersistenceTypeNonPersistent)
	_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.memberBot),
		Content: aws.String("typing..."), Persistence: types.ChannelMessagePersistenceTypeNonPersistent})
	noErr(t, err)
	wantSeen(t, "the sender after NON_PERSISTENT", seen(f.memberBot, memberOps...), &t2)
	wantSeen(t, "the target after NON_PERSISTENT", seen(f.member, memberOps...), &t3)
	wantSeen(t, "a third member after NON_PERSISTENT", seen(f.creator, opListMemberships), &t3)
	wantSeen(t, "a non-member after NON_PERSISTENT", seen(f.nonMember, opListChannels, opDescribeChannel), &t1)

	// A later untargeted message is everyone's again.
	clk.Advance(time.Minute)
	e.send(ch, f.memberBot, "to everyone again")
	t4 := clk.Now()
	for _, who := range []string{f.member, f.memberBot, f.creator} {
		wantSeen(t, "after an untargeted message", seen(who, append(memberOps, opDescribeChannel)...), &t4)
	}
}

// TestLastMessageTimestampMovesBackOnDelete_S4: the last message the caller
// can see is one that is still there: when an admin deletes it, or the app
// instance's retention reaps it, LastMessageTimestamp moves back to the
// message before it, or goes (before, it kept the deleted message's time,
// so a channel read up to date showed unread for ever).
func TestLastMessageTimestampMovesBackOnDelete_S4(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 8, 3, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newRoleFixture(e, e.appInstance("last-deleted"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	memberOps := []string{opDescribeMembership, opListMemberships, opListChannels}
	seen := func(bearer string, ops ...string) map[string]*time.Time {
		t.Helper()
		return lastSeen(t, e, f.ai, ch, bearer, "", types.ChannelPrivacyPublic, ops...)
	}
	del := func(id string) {
		t.Helper()
		_, err := e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(ch), MessageId: aws.String(id),
			ChimeBearer: aws.String(f.admin)})
		noErr(t, err)
	}
	clk.Advance(time.Minute)
	m1 := e.send(ch, f.creator, "first")
	t1 := clk.Now()
	clk.Advance(time.Minute)
	out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("for the bot"), Target: []types.Target{{MemberArn: aws.String(f.memberBot)}}})
	noErr(t, err)
	m2 := aws.ToString(out.MessageId)
	t2 := clk.Now()
	clk.Advance(time.Minute)
	m3 := e.send(ch, f.memberBot, "last")

	del(m3) // the last untargeted one: back to the first, or the targeted one for its two
	wantSeen(t, "the targeted sender", seen(f.member, memberOps...), &t2)
	wantSeen(t, "the target", seen(f.memberBot, memberOps...), &t2)
	wantSeen(t, "a third member", seen(f.creator, memberOps...), &t1)
	wantSeen(t, "DescribeChannel", seen(f.creator, opDescribeChannel), &t1)
	del(m2) // the targeted one
	wantSeen(t, "the targeted sender", seen(f.member, memberOps...), &t1)
	wantSeen(t, "the target", seen(f.memberBot, memberOps...), &t1)
	del(m1) // none left
	for _, who := range []string{f.member, f.memberBot, f.creator} {
		wantSeen(t, "with no message left", seen(who, append(memberOps, opDescribeChannel)...), nil)
	}

	// Retention reaps messages: those reaped leave no time behind.
	e.send(ch, f.creator, "untargeted")
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("for the bot"), Target: []types.Target{{MemberArn: aws.String(f.memberBot)}}})
	noErr(t, err)
	_, err = e.ID.PutAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.PutAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(f.ai),
		AppInstanceRetentionSettings: &idtypes.AppInstanceRetentionSettings{ChannelRetentionSettings: &idtypes.ChannelRetentionSettings{RetentionDays: aws.Int32(1)}}})
	noErr(t, err)
	clk.Advance(49 * time.Hour)
	e.reap()
	for _, who := range []string{f.member, f.memberBot, f.creator} {
		wantSeen(t, "after retention reaped every message", seen(who, append(memberOps, opDescribeChannel)...), nil)
	}
}

// TestLastMessageTimestampElasticSubChannels_S6: in an elastic channel a
// regular member's ChannelSummary shows the last message of its own
// subchannel (SEMANTICS.md §6: members see only their subchannel's
// messages), or a later targeted one it sent or received; a moderator or
// admin, who reads every subchannel, sees the channel's last untargeted
// message; DescribeChannel shows the channel's for everyone.
func TestLastMessageTimestampElasticSubChannels_S6(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 8, 2, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newElastic(t, e, 4, 3, 40, 4)
	f.batch(f.users...)
	l := f.layout()
	if !slices.Equal(l.sizes(), []int{2, 2}) {
		t.Fatalf("sizes %v, want [2 2]", l.sizes())
	}
	a, a2, b, b2 := l.members[l.subs[0]][0], l.members[l.subs[0]][1], l.members[l.subs[1]][0], l.members[l.subs[1]][1]
	memberOps := []string{opDescribeMembership, opListMemberships}
	seen := func(bearer string, ops ...string) map[string]*time.Time {
		t.Helper()
		return lastSeen(t, e, f.ai, f.ch, bearer, "", types.ChannelPrivacyPublic, ops...)
	}
	send := func(bearer, target, content string) time.Time {
		t.Helper()
		clk.Advance(time.Minute)
		in := chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(bearer), Content: aws.String(content)}
		if target != "" {
			in.Target = []types.Target{{MemberArn: aws.String(target)}}
		}
		_, err := e.sendIn(in)
		noErr(t, err)
		return clk.Now()
	}

	tA := send(a, "", "in A")
	wantSeen(t, "a member of A", seen(a2, memberOps...), &tA)
	wantSeen(t, "a member of B", seen(b, memberOps...), nil)
	wantSeen(t, "the moderator", seen(f.mod, opListModerated), &tA)
	wantSeen(t, "an admin", seen(f.admin, opListChannels), &tA)
	for _, who := range []string{a, b, f.mod} {
		wantSeen(t, "DescribeChannel", seen(who, opDescribeChannel), &tA)
	}

	tB := send(b, "", "in B")
	wantSeen(t, "a member of A", seen(a, memberOps...), &tA)
	wantSeen(t, "a member of B", seen(b2, memberOps...), &tB)
	wantSeen(t, "the moderator", seen(f.mod, opListModerated), &tB)
	wantSeen(t, "an admin", seen(f.admin, opListChannels), &tB)
	// A user in no subchannel who is neither moderator nor admin lists the
	// PUBLIC channel but may read none of its subchannels: nothing is visible.
	outsider := e.user(f.ai, "outsider")
	wantSeen(t, "an outsider", seen(outsider, opListChannels), nil)

	// A targeted message in A: its sender and target only; the moderator,
	// who cannot see it, keeps the channel's last untargeted message.
	tT := send(a2, a, "A to A")
	wantSeen(t, "the sender in A", seen(a2, memberOps...), &tT)
	wantSeen(t, "the target in A", seen(a, memberOps...), &tT)
	wantSeen(t, "a member of B", seen(b, memberOps...), &tB)
	wantSeen(t, "the moderator", seen(f.mod, opListModerated), &tB)
	wantSeen(t, "an admin", seen(f.admin, opListChannels), &tB)
	wantSeen(t, "DescribeChannel", seen(b, opDescribeChannel), &tB)

	// A moderator who joined subchannel A still reads every subchannel.
	_, err := f.joinSub(f.mod, f.mod, l.subs[0])
	noErr(t, err)
	wantSeen(t, "the moderator in A", seen(f.mod, opListModerated, opListMemberships), &tB)

	// A deleted message leaves its subchannel's, and the channel's, time
	// to the message before it.
	clk.Advance(time.Minute)
	out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(b), Content: aws.String("B again")})
	noErr(t, err)
	tB2 := clk.Now()
	wantSeen(t, "DescribeChannel before the delete", seen(b, opDescribeChannel), &tB2)
	_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: out.MessageId,
		SubChannelId: out.SubChannelId, ChimeBearer: aws.String(f.admin)})
	noErr(t, err)
	wantSeen(t, "a member of B after the delete", seen(b2, memberOps...), &tB)
	wantSeen(t, "the moderator after the delete", seen(f.mod, opListModerated), &tB)
	wantSeen(t, "DescribeChannel after the delete", seen(b, opDescribeChannel), &tB)
}

// TestChannelExpirationCountsTargetedMessages_S4: a channel that expires by
// LAST_MESSAGE_TIMESTAMP counts every persistent message as activity,
// targeted ones (and, in an elastic channel, those of any subchannel)
// included: a channel whose only traffic is targeted is not idle.
func TestChannelExpirationCountsTargetedMessages_S4(t *testing.T) {
	t0 := time.Date(2024, 8, 3, 0, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	e := newEnv(t, withClock(clk))
	f := newRoleFixture(e, e.appInstance("expiry-targeted"))
	plain := f.channel("UNRESTRICTED", "PRIVATE")
	el := newElastic(t, e, 4, 3, 40, 2)
	el.batch(el.users...)
	for _, ch := range []string{plain, el.ch} {
		_, err := e.Msg.PutChannelExpirationSettings(e.ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(ch),
			ExpirationSettings: &types.ExpirationSettings{ExpirationDays: aws.Int32(2), ExpirationCriterion: types.ExpirationCriterionLastMessageTimestamp}})
		noErr(t, err)
	}
	// Day 1: one targeted message in each channel, and nothing else ever.
	clk.Advance(24 * time.Hour)
	for _, m := range []struct{ ch, sender, target string }{{plain, f.member, f.memberBot}, {el.ch, el.users[0], el.users[1]}} {
		_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(m.ch), ChimeBearer: aws.String(m.sender),
			Content: aws.String("only this"), Target: []types.Target{{MemberArn: aws.String(m.target)}}})
		noErr(t, err)
	}
	// Day 2 plus a minute: two days after creation, one after the targeted messages.
	clk.Advance(24*time.Hour + time.Minute)
	e.reap()
	if !e.channelExists(plain, f.admin) || !e.channelExists(el.ch, el.admin) {
		t.Fatalf("day 2: plain %v elastic %v; a targeted message did not count as activity", e.channelExists(plain, f.admin), e.channelExists(el.ch, el.admin))
	}
	// Day 3 plus a minute: two days after them.
	clk.Advance(24 * time.Hour)
	e.reap()
	if e.channelExists(plain, f.admin) || e.channelExists(el.ch, el.admin) {
		t.Errorf("day 3: plain %v elastic %v, want both expired", e.channelExists(plain, f.admin), e.channelExists(el.ch, el.admin))
	}
}
