package e2e

// What the rest of the app instance sees when a user or bot is deleted
// (service.removeIdentity states the rule): the members of its channels get
// DELETE_CHANNEL_MEMBERSHIP as if it had been removed, its open messaging
// sessions are closed with 4401 after those events, and it cannot connect
// again. TestTwoNodesDeleteUserEndsSessions (cluster_test.go) does the same
// across two nodes.

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/internal/session"
)

// ended waits for the connection to end and returns its close code and the
// frames it received before the close (the reader has queued them all by then).
func (c *wsClient) ended() (websocket.StatusCode, []wsFrame) {
	c.t.Helper()
	code := c.closed()
	var frames []wsFrame
	for {
		select {
		case f := <-c.frames:
			frames = append(frames, f)
		default:
			return code, frames
		}
	}
}

// removals returns, sorted, the channels of the DELETE_CHANNEL_MEMBERSHIP
// frames about member; any other frame fails the test.
func removals(t *testing.T, who string, frames []wsFrame, member string) []string {
	t.Helper()
	var channels []string
	for _, f := range frames {
		var p struct {
			ChannelArn string
			Member     struct{ Arn string }
		}
		if f.Type() == "DELETE_CHANNEL_MEMBERSHIP" {
			f.payload(t, &p)
		}
		if f.Type() != "DELETE_CHANNEL_MEMBERSHIP" || p.Member.Arn != member || f.Headers["x-amz-chime-message-type"] != "SYSTEM" {
			t.Fatalf("%s got %s, want only DELETE_CHANNEL_MEMBERSHIP of %s", who, f.Raw, member)
		}
		channels = append(channels, p.ChannelArn)
	}
	sort.Strings(channels)
	return channels
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestDeleteAppInstanceUser_EventsAndSessions: bob is a member of a public
// channel (with erin and carol), the creator and moderator of a private one
// (with carol), a HIDDEN member of a third, and banned from a fourth. When
// he is deleted, erin and carol each get one DELETE_CHANNEL_MEMBERSHIP per
// channel they share with him (none for the HIDDEN membership); both of
// bob's sessions get the removals from all three channels and are then
// closed with 4401; a new connect is refused with 4401; the memberships,
// moderator role and ban are gone, while his message stays.
func TestDeleteAppInstanceUser_EventsAndSessions(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("deleted-user")
	erin, bob, carol := e.user(ai, "erin"), e.user(ai, "bob"), e.user(ai, "carol")
	e.admin(ai, erin) // to look at what is left afterwards; admins get no events of channels they did not join
	add := func(ch, bearer, member string, typ types.ChannelMembershipType) {
		t.Helper()
		_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArn: aws.String(member), Type: typ, ChimeBearer: aws.String(bearer)})
		noErr(t, err)
	}
	public := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	add(public, erin, bob, types.ChannelMembershipTypeDefault)
	add(public, erin, carol, types.ChannelMembershipTypeDefault)
	private := e.channel(ai, bob, "RESTRICTED", "PRIVATE")
	add(private, bob, carol, types.ChannelMembershipTypeDefault)
	hidden := e.channel(ai, erin, "RESTRICTED", "PRIVATE")
	add(hidden, erin, bob, types.ChannelMembershipTypeHidden)
	banned := e.channel(ai, erin, "RESTRICTED", "PRIVATE")
	_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(banned),
		MemberArn: aws.String(bob), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	said := e.send(public, bob, "hello before I go")

	erinS, carolS := e.connect(erin), e.connect(carol)
	bob1, bob2 := e.connect(bob), e.connect(bob)
	// bob is in the barrier too, so that the barrier drains the events of
	// the setup from his sessions: each was connected after them, but may
	// still receive one the bus had not delivered yet.
	bar := e.newBarrier(ai, []string{erin, carol, bob}, erinS, carolS, bob1, bob2)

	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(bob)})
	noErr(t, err)

	got := bar.sync(erinS, carolS)
	if ch := removals(t, "erin", got[erinS], bob); !slices.Equal(ch, sorted(public, bar.channel)) {
		t.Errorf("erin was told of bob leaving %v, want only the public channel %s and the barrier's %s", ch, public, bar.channel)
	}
	if ch := removals(t, "carol", got[carolS], bob); !slices.Equal(ch, sorted(public, private, bar.channel)) {
		t.Errorf("carol was told of bob leaving %v, want %v", ch, sorted(public, private, bar.channel))
	}
	for i, c := range []*wsClient{bob1, bob2} {
		code, frames := c.ended()
		if code != session.CloseUnauthorized {
			t.Errorf("bob's session %d closed with %d (%v), want %d", i+1, code, c.err, session.CloseUnauthorized)
		}
		if ch := removals(t, "bob", frames, bob); !slices.Equal(ch, sorted(public, private, hidden, bar.channel)) {
			t.Errorf("bob's session %d was told of leaving %v before the close, want %v", i+1, ch, sorted(public, private, hidden, bar.channel))
		}
	}
	if n := e.Ses.Sessions(bob); n != 0 {
		t.Errorf("the server still counts %d sessions of bob", n)
	}
	e.dial(e.presignedURL(bob, time.Now().UTC(), nil)).wantClose(session.CloseUnauthorized)

	if got := listMemberArns(t, e, public, erin, ""); !slices.Equal(sorted(got...), sorted(erin, carol)) {
		t.Errorf("public channel members after the deletion: %v", got)
	}
	if got := listMemberArns(t, e, private, carol, ""); !slices.Equal(got, []string{carol}) {
		t.Errorf("private channel members after the deletion: %v", got)
	}
	if got := listMemberArns(t, e, hidden, erin, "HIDDEN"); len(got) != 0 {
		t.Errorf("HIDDEN members after the deletion: %v", got)
	}
	mods, err := e.Msg.ListChannelModerators(e.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(private), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(mods.ChannelModerators) != 0 {
		t.Errorf("moderators of bob's channel after the deletion: %+v", mods.ChannelModerators)
	}
	bans, err := e.Msg.ListChannelBans(e.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(banned), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(bans.ChannelBans) != 0 {
		t.Errorf("bans after the deletion (AWS: cleaned up with the user): %+v", bans.ChannelBans)
	}
	msg, err := e.Msg.GetChannelMessage(e.ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(public), MessageId: aws.String(said),
		ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if aws.ToString(msg.ChannelMessage.Sender.Arn) != bob {
		t.Errorf("bob's message after the deletion: sender %+v", msg.ChannelMessage.Sender)
	}

	// Nothing more reaches the others about bob.
	got = bar.sync(erinS, carolS)
	if len(got[erinS]) != 0 || len(got[carolS]) != 0 {
		t.Errorf("frames after the deletion: erin %v, carol %v", got[erinS], got[carolS])
	}
}

// TestDeleteAppInstanceBot_EventsAndSessions: the same for a bot.
func TestDeleteAppInstanceBot_EventsAndSessions(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("deleted-bot")
	erin := e.user(ai, "erin")
	bot := e.bot(ai, "helper")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PRIVATE")
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(bot), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	erinS, botS := e.connect(erin), e.connect(bot)
	// The bot is in the barrier too, so that the barrier drains the event of
	// its add, which the bus may deliver after its session has connected.
	bar := e.newBarrier(ai, []string{erin, bot}, erinS, botS)

	_, err = e.ID.DeleteAppInstanceBot(e.ctx, &chimesdkidentity.DeleteAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	noErr(t, err)

	if got := removals(t, "erin", bar.sync(erinS)[erinS], bot); !slices.Equal(got, sorted(ch, bar.channel)) {
		t.Errorf("erin was told of the bot leaving %v, want %v", got, sorted(ch, bar.channel))
	}
	code, frames := botS.ended()
	if code != session.CloseUnauthorized {
		t.Errorf("the bot's session closed with %d (%v), want %d", code, botS.err, session.CloseUnauthorized)
	}
	if got := removals(t, "the bot", frames, bot); !slices.Equal(got, sorted(ch, bar.channel)) {
		t.Errorf("the bot's session was told of leaving %v, want %v", got, sorted(ch, bar.channel))
	}
	e.dial(e.presignedURL(bot, time.Now().UTC(), nil)).wantClose(session.CloseUnauthorized)
	if got := listMemberArns(t, e, ch, erin, ""); !slices.Equal(got, []string{erin}) {
		t.Errorf("members after the deletion: %v", got)
	}
}

// TestDeleteAppInstance_EndsSessions: deleting an app instance closes the
// sessions of its users and bots with 4401 (no channel events: everyone who
// could receive one is deleted too); another app instance's session stays.
func TestDeleteAppInstance_EndsSessions(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("doomed")
	u, b := e.user(ai, "u"), e.bot(ai, "b")
	e.channel(ai, u, "UNRESTRICTED", "PUBLIC")
	keptAI := e.appInstance("kept")
	kept := e.user(keptAI, "kept")
	keptCh := e.channel(keptAI, kept, "UNRESTRICTED", "PUBLIC")
	uS, bS, keptS := e.connect(u), e.connect(b), e.connect(kept)

	_, err := e.ID.DeleteAppInstance(e.ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	uS.wantClose(session.CloseUnauthorized)
	bS.wantClose(session.CloseUnauthorized)
	e.dial(e.presignedURL(u, time.Now().UTC(), nil)).wantClose(session.CloseUnauthorized)

	_, err = e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(keptCh), Name: aws.String("still here"),
		ChimeBearer: aws.String(kept)})
	noErr(t, err)
	if f := keptS.next(); f.Type() != "UPDATE_CHANNEL" {
		t.Fatalf("the other app instance's session got %s, want UPDATE_CHANNEL", f.Raw)
	}
}
