package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

// TestCreateChannel_Options: every CreateChannel option lands on the channel
// (SEMANTICS.md §1, §5; issue item 4).
func TestCreateChannel_Options(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("channels")
	erin := e.user(ai, "erin@example.com")
	bob := e.user(ai, "bob")
	mod := e.user(ai, "mod")
	helper := e.bot(ai, "helper")

	out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
		Name: aws.String("ops room"), ClientRequestToken: aws.String(token()), ChannelId: aws.String("ops-room"),
		Mode: types.ChannelModeRestricted, Privacy: types.ChannelPrivacyPrivate, Metadata: aws.String(`{"topic":"ops"}`),
		MemberArns: []string{bob, helper}, ModeratorArns: []string{mod},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}, {Key: aws.String("env"), Value: aws.String("dev")}}})
	noErr(t, err)
	if got := httpStatus(out.ResultMetadata); got != http.StatusCreated {
		t.Errorf("CreateChannel status %d, want 201", got)
	}
	ch := *out.ChannelArn
	if want := ai + "/channel/ops-room"; ch != want {
		t.Fatalf("ChannelArn %s, want %s (ChannelId names the channel)", ch, want)
	}

	d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	c := d.Channel
	if aws.ToString(c.ChannelArn) != ch || aws.ToString(c.Name) != "ops room" || c.Mode != types.ChannelModeRestricted ||
		c.Privacy != types.ChannelPrivacyPrivate || aws.ToString(c.Metadata) != `{"topic":"ops"}` {
		t.Errorf("DescribeChannel = %+v", c)
	}
	if c.CreatedBy == nil || aws.ToString(c.CreatedBy.Arn) != erin || aws.ToString(c.CreatedBy.Name) != "name of erin@example.com" {
		t.Errorf("CreatedBy = %+v, want erin", c.CreatedBy)
	}
	if c.CreatedTimestamp == nil || c.LastUpdatedTimestamp == nil {
		t.Errorf("timestamps missing: %+v", c)
	}

	// The creator becomes member and moderator; MemberArns members; ModeratorArns moderators only.
	// All are created at one instant: listed by ARN (rule D7's ties).
	if got, want := listMemberArns(t, e, ch, erin, ""), byArn(erin, bob, helper); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if got, want := listModeratorArns(t, e, ch, erin), byArn(erin, mod); !slices.Equal(got, want) {
		t.Errorf("moderators %v, want %v", got, want)
	}
	m, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(erin), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if m.ChannelMembership.Type != types.ChannelMembershipTypeDefault {
		t.Errorf("creator's membership type %s, want DEFAULT", m.ChannelMembership.Type)
	}
	_, err = e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(mod), ChimeBearer: aws.String(erin)})
	wantErr(t, err, "NotFoundException") // a moderator named in ModeratorArns is not a member

	tags, err := e.Msg.ListTagsForResource(e.ctx, &chimesdkmessaging.ListTagsForResourceInput{ResourceARN: aws.String(ch)})
	noErr(t, err)
	var kv []string
	for _, tg := range tags.Tags {
		kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	slices.Sort(kv)
	if want := []string{"env=dev", "team=ops"}; !slices.Equal(kv, want) {
		t.Errorf("tags %v, want %v", kv, want)
	}

	// A ChannelId that is taken is a Conflict.
	_, err = e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(bob),
		Name: aws.String("again"), ClientRequestToken: aws.String(token()), ChannelId: aws.String("ops-room")})
	wantErr(t, err, "ConflictException")
}

// TestCreateChannel_Defaults: Mode and Privacy default to UNRESTRICTED and
// PUBLIC; without ChannelId the id is a UUID (rule D15).
func TestCreateChannel_Defaults(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("defaults")
	erin := e.user(ai, "erin")
	out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
		Name: aws.String("plain"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: out.ChannelArn, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if d.Channel.Mode != types.ChannelModeUnrestricted || d.Channel.Privacy != types.ChannelPrivacyPublic {
		t.Errorf("defaults: mode %s privacy %s, want UNRESTRICTED PUBLIC", d.Channel.Mode, d.Channel.Privacy)
	}
	id := strings.TrimPrefix(*out.ChannelArn, ai+"/channel/")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("channel id %q is not a UUID", id)
	}
}

// TestCreateChannel_Idempotency_D12: the same ClientRequestToken with the same
// parameters returns the original channel; with different ones it is a Conflict.
func TestCreateChannel_Idempotency_D12(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("idem")
	erin := e.user(ai, "erin")
	tok := token()
	in := func(name string) *chimesdkmessaging.CreateChannelInput {
		return &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
			Name: aws.String(name), ClientRequestToken: aws.String(tok)}
	}
	first, err := e.Msg.CreateChannel(e.ctx, in("one"))
	noErr(t, err)
	again, err := e.Msg.CreateChannel(e.ctx, in("one"))
	noErr(t, err)
	if *first.ChannelArn != *again.ChannelArn {
		t.Errorf("replay returned %s, want %s", *again.ChannelArn, *first.ChannelArn)
	}
	_, err = e.Msg.CreateChannel(e.ctx, in("two"))
	wantErr(t, err, "ConflictException")
	if got := listChannelArns(t, e, ai, erin, ""); len(got) != 1 {
		t.Errorf("channels after replays: %v, want exactly one", got)
	}
}

// TestCreateChannel_ArnLimits: MemberArns and ModeratorArns take at most 10
// ARNs each (model ChannelMemberArns/ChannelModeratorArns).
func TestCreateChannel_ArnLimits(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("limits")
	erin := e.user(ai, "erin")
	var users []string
	for i := range 11 {
		users = append(users, e.user(ai, fmt.Sprintf("u%d", i)))
	}
	for _, tc := range []struct {
		name             string
		members, mods    []string
		wantErr          string
		wantMembers, mds int
	}{
		{name: "10 members", members: users[:10], wantMembers: 11, mds: 1},
		{name: "10 moderators", mods: users[:10], wantMembers: 1, mds: 11},
		{name: "11 members", members: users, wantErr: "BadRequestException"},
		{name: "11 moderators", mods: users, wantErr: "BadRequestException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
				Name: aws.String(tc.name), ClientRequestToken: aws.String(token()), MemberArns: tc.members, ModeratorArns: tc.mods})
			if tc.wantErr != "" {
				wantErr(t, err, tc.wantErr)
				return
			}
			noErr(t, err)
			if got := listMemberArns(t, e, *out.ChannelArn, erin, ""); len(got) != tc.wantMembers {
				t.Errorf("%d members, want %d", len(got), tc.wantMembers)
			}
			if got := listModeratorArns(t, e, *out.ChannelArn, erin); len(got) != tc.mds {
				t.Errorf("%d moderators, want %d", len(got), tc.mds)
			}
		})
	}
}

// TestCreateChannel_InvalidArns_D4: an ARN in MemberArns or ModeratorArns that
// is not a user or bot of the app instance is a 403, and no channel is made.
func TestCreateChannel_InvalidArns_D4(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("d4")
	other := e.appInstance("other")
	erin := e.user(ai, "erin")
	bob := e.user(ai, "bob")
	stranger := e.user(other, "stranger")
	for _, tc := range []struct {
		name          string
		members, mods []string
	}{
		{"unknown member", []string{bob, ai + "/user/ghost"}, nil},
		{"other app instance's member", []string{stranger}, nil},
		{"channel ARN as member", []string{ai + "/channel/nope"}, nil},
		{"unknown moderator", nil, []string{ai + "/bot/ghost"}},
		{"other app instance's moderator", nil, []string{bob, stranger}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
				Name: aws.String("x"), ClientRequestToken: aws.String(token()), MemberArns: tc.members, ModeratorArns: tc.mods})
			wantErr(t, err, "ForbiddenException")
			wantMessage(t, err, "An invalid app instance user ARN was supplied for the input parameter.")
		})
	}
	if got := listChannelArns(t, e, ai, erin, ""); len(got) != 0 {
		t.Errorf("failed CreateChannel calls left channels behind: %v", got)
	}
	in, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	noErr(t, err)
	if len(in.ChannelMemberships) != 0 {
		t.Errorf("failed CreateChannel calls left memberships behind: %+v", in.ChannelMemberships)
	}
}

// TestAppInstanceArnNotAnAppInstance: CreateChannel and ListChannels given an
// AppInstanceArn that is no app instance ARN (a channel's, the bearer's own,
// one with a trailing slash) answer a 400 naming AppInstanceArn, not the D5
// 401 that blames a header that is right; another app instance's ARN stays
// the D5 401.
func TestAppInstanceArnNotAnAppInstance(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("home")
	other := e.appInstance("away")
	erin := e.user(ai, "erin")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	create := func(appInstance string) error {
		_, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(appInstance), ChimeBearer: aws.String(erin),
			Name: aws.String("x"), ClientRequestToken: aws.String(token())})
		return err
	}
	list := func(appInstance string) error {
		_, err := e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(appInstance), ChimeBearer: aws.String(erin)})
		return err
	}
	for _, arn := range []string{ch, erin, ai + "/"} {
		for name, call := range map[string]func(string) error{"CreateChannel": create, "ListChannels": list} {
			err := call(arn)
			wantErr(t, err, "BadRequestException")
			if err != nil && !strings.Contains(err.Error(), "AppInstanceArn") {
				t.Errorf("%s with AppInstanceArn %s: %v does not name AppInstanceArn", name, arn, err)
			}
		}
	}
	wantErr(t, create(other), "UnauthorizedClientException")
	wantErr(t, list(other), "UnauthorizedClientException")
	if got := listChannelArns(t, e, ai, erin, ""); len(got) != 1 {
		t.Errorf("channels %v, want only %s", got, ch)
	}
}

// TestChannelOps_ForeignBearer_D5: a bearer of another app instance is a 401
// on every channel operation, the same 401 for a channel that exists and one
// that does not: the answer must not tell it which channels exist.
func TestChannelOps_ForeignBearer_D5(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("home")
	other := e.appInstance("away")
	erin := e.user(ai, "erin")
	stranger := e.user(other, "stranger")
	e.admin(other, stranger) // even an admin of another app instance
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	missing := ai + "/channel/" + "0000000000000000000000000000000000000000"
	b := aws.String(stranger)
	calls := map[string]func(ch string) error{
		"CreateChannel": func(ch string) error {
			_, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: b,
				Name: aws.String("x"), ClientRequestToken: aws.String(token())})
			return err
		},
		"DescribeChannel": func(ch string) error {
			_, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: b})
			return err
		},
		"ListChannels": func(ch string) error {
			_, err := e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: b})
			return err
		},
		"UpdateChannel": func(ch string) error {
			_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(ch), ChimeBearer: b, Name: aws.String("x")})
			return err
		},
		"DeleteChannel": func(ch string) error {
			_, err := e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: b})
			return err
		},
		"CreateChannelMembership": func(ch string) error {
			_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				MemberArn: b, Type: types.ChannelMembershipTypeDefault})
			return err
		},
		"BatchCreateChannelMembership": func(ch string) error {
			_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: b, MemberArns: []string{stranger}})
			return err
		},
		"DescribeChannelMembership": func(ch string) error {
			_, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: b, MemberArn: aws.String(erin)})
			return err
		},
		"ListChannelMemberships": func(ch string) error {
			_, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: b})
			return err
		},
		"DeleteChannelMembership": func(ch string) error {
			_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: b, MemberArn: aws.String(erin)})
			return err
		},
		"DescribeChannelMembershipForAppInstanceUser": func(ch string) error {
			_, err := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
				ChannelArn: aws.String(ch), ChimeBearer: b, AppInstanceUserArn: b})
			return err
		},
		"DescribeChannelMembershipForAppInstanceUser/other user": func(ch string) error {
			_, err := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
				ChannelArn: aws.String(ch), ChimeBearer: b, AppInstanceUserArn: aws.String(erin)})
			return err
		},
		"DescribeChannelModeratedByAppInstanceUser": func(ch string) error {
			_, err := e.Msg.DescribeChannelModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelModeratedByAppInstanceUserInput{
				ChannelArn: aws.String(ch), ChimeBearer: b, AppInstanceUserArn: b})
			return err
		},
		"DescribeChannelModeratedByAppInstanceUser/other user": func(ch string) error {
			_, err := e.Msg.DescribeChannelModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelModeratedByAppInstanceUserInput{
				ChannelArn: aws.String(ch), ChimeBearer: b, AppInstanceUserArn: aws.String(erin)})
			return err
		},
		"SendChannelMessage": func(ch string) error {
			_, err := e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				Content: aws.String("hi"), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
				ClientRequestToken: aws.String(token())})
			return err
		},
		"ListChannelMessages": func(ch string) error {
			_, err := e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(ch), ChimeBearer: b})
			return err
		},
		"CreateChannelModerator": func(ch string) error {
			_, err := e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				ChannelModeratorArn: b})
			return err
		},
		"CreateChannelBan": func(ch string) error {
			_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				MemberArn: aws.String(erin)})
			return err
		},
	}
	for name, call := range calls {
		for _, c := range []struct{ name, arn string }{{"existing", ch}, {"missing", missing}} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				err := call(c.arn)
				wantErr(t, err, "UnauthorizedClientException")
				wantMessage(t, err, "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header.")
			})
		}
	}
	// An ARN that names no channel of any app instance is a channel that
	// does not exist (D3), not a bearer of another app instance.
	for _, bad := range []string{ai + "/channel/", ch + "/extra", strings.Replace(ch, ":chime:", ":s3:", 1), ai + "/channelX/abc"} {
		_, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(bad), ChimeBearer: aws.String(erin)})
		if errorCode(err) != "NotFoundException" {
			t.Errorf("DescribeChannel %s: %v, want NotFoundException", bad, err)
		}
	}
	// Nothing changed.
	if got := listMemberArns(t, e, ch, erin, ""); !slices.Equal(got, []string{erin}) {
		t.Errorf("members %v, want only the creator", got)
	}
}

// TestDescribeChannel_Roles: members, moderators and admins describe any
// channel; non-members PUBLIC ones only (SEMANTICS.md §5).
func TestDescribeChannel_Roles(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("describe")
	f := newRoleFixture(e, ai)
	for _, privacy := range []string{"PUBLIC", "PRIVATE"} {
		ch := f.channel("UNRESTRICTED", privacy)
		for _, r := range f.roles() {
			t.Run(privacy+"/"+r.name, func(t *testing.T) {
				d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(r.arn)})
				if r.nonMember && privacy == "PRIVATE" {
					wantErr(t, err, "ForbiddenException")
					return
				}
				noErr(t, err)
				if aws.ToString(d.Channel.ChannelArn) != ch || string(d.Channel.Privacy) != privacy {
					t.Errorf("DescribeChannel = %+v", d.Channel)
				}
			})
		}
	}
	t.Run("missing channel D3", func(t *testing.T) {
		_, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ai + "/channel/nope"), ChimeBearer: aws.String(f.creator)})
		wantErr(t, err, "NotFoundException")
	})
}

// TestListChannels_Privacy: ListChannels lists PUBLIC channels by default;
// privacy=PRIVATE is for AppInstanceAdmins only (SEMANTICS.md §5).
func TestListChannels_Privacy(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("list")
	erin := e.user(ai, "erin")
	boss := e.user(ai, "boss")
	bossBot := e.bot(ai, "boss-bot")
	e.admin(ai, boss)
	e.admin(ai, bossBot)
	pub1 := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	priv1 := e.channel(ai, erin, "UNRESTRICTED", "PRIVATE")
	pub2 := e.channel(ai, erin, "RESTRICTED", "PUBLIC")
	priv2 := e.channel(ai, erin, "RESTRICTED", "PRIVATE")
	// A channel of another app instance never shows.
	other := e.appInstance("other")
	e.channel(other, e.user(other, "x"), "UNRESTRICTED", "PUBLIC")

	for _, tc := range []struct {
		name, bearer, privacy string
		want                  []string
		wantErr               string
	}{
		{"member default", erin, "", []string{pub1, pub2}, ""},
		{"member PUBLIC", erin, "PUBLIC", []string{pub1, pub2}, ""},
		{"member (creator of private channels) PRIVATE", erin, "PRIVATE", nil, "ForbiddenException"},
		{"admin default", boss, "", []string{pub1, pub2}, ""},
		{"admin PRIVATE", boss, "PRIVATE", []string{priv1, priv2}, ""},
		{"admin bot PRIVATE", bossBot, "PRIVATE", []string{priv1, priv2}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(tc.bearer),
				Privacy: types.ChannelPrivacy(tc.privacy)})
			if tc.wantErr != "" {
				wantErr(t, err, tc.wantErr)
				return
			}
			noErr(t, err)
			var got []string
			for _, c := range out.Channels {
				got = append(got, aws.ToString(c.ChannelArn))
			}
			if !slices.Equal(got, tc.want) || out.NextToken != nil {
				t.Errorf("ListChannels = %v (next %v), want %v", got, out.NextToken, tc.want)
			}
		})
	}
}

// TestListChannels_Pagination: pages in creation order, no NextToken on the
// last page, a token bound to its filters (rules D6-D8).
func TestListChannels_Pagination(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("pages")
	erin := e.user(ai, "erin")
	boss := e.user(ai, "boss")
	e.admin(ai, boss)
	var want []string
	for range 7 {
		want = append(want, e.channel(ai, erin, "UNRESTRICTED", "PUBLIC"))
	}
	e.channel(ai, erin, "UNRESTRICTED", "PRIVATE")

	var got []string
	var sizes []int
	p := chimesdkmessaging.NewListChannelsPaginator(e.Msg, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai),
		ChimeBearer: aws.String(erin), MaxResults: aws.Int32(3)})
	var firstToken *string
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		noErr(t, err)
		if firstToken == nil {
			firstToken = out.NextToken
		}
		sizes = append(sizes, len(out.Channels))
		for _, c := range out.Channels {
			got = append(got, aws.ToString(c.ChannelArn))
		}
		if len(sizes) > 5 {
			t.Fatal("paginator does not terminate")
		}
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("pages %v of %v, want 3/3/1 of %v", sizes, got, want)
	}
	// The token of the PUBLIC listing is no token for the PRIVATE one (D8).
	_, err := e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(boss),
		Privacy: types.ChannelPrivacyPrivate, NextToken: firstToken})
	wantErr(t, err, "BadRequestException")
	_, err = e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
		NextToken: aws.String("forged")})
	wantErr(t, err, "BadRequestException")
	_, err = e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
		MaxResults: aws.Int32(51)})
	wantErr(t, err, "BadRequestException")
}

// TestUpdateChannel_Roles: moderators and admins update; members and
// non-members get 403 (SEMANTICS.md §5). Privacy never changes.
func TestUpdateChannel_Roles(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("update")
	f := newRoleFixture(e, ai)
	for _, r := range f.roles() {
		t.Run(r.name, func(t *testing.T) {
			ch := f.channel("UNRESTRICTED", "PUBLIC")
			out, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(r.arn),
				Name: aws.String("renamed"), Mode: types.ChannelModeRestricted, Metadata: aws.String("meta")})
			d, derr := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.creator)})
			noErr(t, derr)
			if !r.privileged {
				wantErr(t, err, "ForbiddenException")
				if aws.ToString(d.Channel.Name) != "channel" || d.Channel.Mode != types.ChannelModeUnrestricted {
					t.Errorf("a denied update changed the channel: %+v", d.Channel)
				}
				return
			}
			noErr(t, err)
			if aws.ToString(out.ChannelArn) != ch {
				t.Errorf("UpdateChannel ChannelArn %s", aws.ToString(out.ChannelArn))
			}
			c := d.Channel
			if aws.ToString(c.Name) != "renamed" || c.Mode != types.ChannelModeRestricted || aws.ToString(c.Metadata) != "meta" || c.Privacy != types.ChannelPrivacyPublic {
				t.Errorf("after update: %+v", c)
			}
		})
	}
	_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(ai + "/channel/nope"),
		ChimeBearer: aws.String(f.creator), Name: aws.String("x")})
	wantErr(t, err, "NotFoundException")
}

// TestDeleteChannel_Roles: moderators and admins delete; members and
// non-members get 403 (SEMANTICS.md §5).
func TestDeleteChannel_Roles(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("delete")
	f := newRoleFixture(e, ai)
	for _, r := range f.roles() {
		t.Run(r.name, func(t *testing.T) {
			ch := f.channel("UNRESTRICTED", "PRIVATE")
			_, err := e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(r.arn)})
			_, derr := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.creator)})
			if !r.privileged {
				wantErr(t, err, "ForbiddenException")
				noErr(t, derr)
				return
			}
			noErr(t, err)
			wantErr(t, derr, "NotFoundException")
		})
	}
	_, err := e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ai + "/channel/nope"), ChimeBearer: aws.String(f.creator)})
	wantErr(t, err, "NotFoundException")
}

// TestDeleteChannel_RemovesDependents: a deleted channel's memberships,
// moderators and bans go with it (issue item 4).
func TestDeleteChannel_RemovesDependents(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("cascade")
	erin := e.user(ai, "erin")
	bob := e.user(ai, "bob")
	mod := e.user(ai, "mod")
	troll := e.user(ai, "troll")
	create := func() string {
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(erin),
			Name: aws.String("doomed"), ClientRequestToken: aws.String(token()), ChannelId: aws.String("doomed"),
			MemberArns: []string{bob, troll}, ModeratorArns: []string{mod}})
		noErr(t, err)
		return *out.ChannelArn
	}
	ch := create()
	_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin), MemberArn: aws.String(troll)})
	noErr(t, err)
	_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(mod)})
	noErr(t, err)

	_, err = e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(bob)})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin)})
	wantErr(t, err, "NotFoundException")
	for _, u := range []string{erin, bob} {
		out, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(u)})
		noErr(t, err)
		if len(out.ChannelMemberships) != 0 {
			t.Errorf("%s still lists %d memberships of the deleted channel", u, len(out.ChannelMemberships))
		}
		_, err = e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
			ChannelArn: aws.String(ch), AppInstanceUserArn: aws.String(u), ChimeBearer: aws.String(u)})
		wantErr(t, err, "NotFoundException")
	}
	mods, err := e.Msg.ListChannelsModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelsModeratedByAppInstanceUserInput{ChimeBearer: aws.String(mod)})
	noErr(t, err)
	if len(mods.Channels) != 0 {
		t.Errorf("the deleted channel is still moderated: %+v", mods.Channels)
	}

	// The same ChannelId can be used again, and the new channel starts clean:
	// no old members, moderators or bans.
	ch2 := create()
	if ch2 != ch {
		t.Fatalf("recreated channel %s, want %s", ch2, ch)
	}
	if got, want := listMemberArns(t, e, ch, erin, ""), byArn(erin, bob, troll); !slices.Equal(got, want) {
		t.Errorf("members of the recreated channel %v, want %v", got, want)
	}
	if got, want := listModeratorArns(t, e, ch, erin), byArn(erin, mod); !slices.Equal(got, want) {
		t.Errorf("moderators of the recreated channel %v, want %v", got, want)
	}
	bans, err := e.Msg.ListChannelBans(e.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(bans.ChannelBans) != 0 {
		t.Errorf("bans survived DeleteChannel: %+v", bans.ChannelBans)
	}
}
