package e2e

// Moderators and bans through the aws-sdk-go-v2 chimesdkmessaging client
// (issue 2, items 6-8; SEMANTICS.md §5 "Moderator powers", "AppInstanceAdmin
// powers", "Bans"; rules D2, D3, D4, D5, D7, D8).

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

// modWorld is one app instance with a channel and a bearer of every role:
// owner (creator: member and moderator), mod (moderator, not a member),
// admin (AppInstanceAdmin, neither member nor moderator), member, outsider
// (no role), modBot (a bot moderator), memberBot (a bot member), foreign (a
// user of another app instance).
type modWorld struct {
	*env
	ai, ch                                                          string
	owner, mod, admin, member, outsider, modBot, memberBot, foreign string
}

func newModWorld(t *testing.T, mode, privacy string) *modWorld {
	t.Helper()
	w := &modWorld{env: newEnv(t)}
	w.ai = w.appInstance("moderation")
	w.owner = w.user(w.ai, "owner@example.com")
	w.mod = w.user(w.ai, "mod:1")
	w.admin = w.user(w.ai, "admin.user")
	w.member = w.user(w.ai, "member")
	w.outsider = w.user(w.ai, "outsider")
	w.modBot = w.bot(w.ai, "modbot")
	w.memberBot = w.bot(w.ai, "memberbot")
	w.foreign = w.user(w.appInstance("other"), "foreign")
	w.env.admin(w.ai, w.admin)
	w.ch = w.channel(w.ai, w.owner, mode, privacy)
	w.addModerator(w.owner, w.mod)
	w.addModerator(w.owner, w.modBot)
	w.addMember(w.owner, w.member)
	w.addMember(w.owner, w.memberBot)
	return w
}

func (w *modWorld) addModerator(bearer, arn string) {
	w.t.Helper()
	_, err := w.createModerator(bearer, arn)
	if err != nil {
		w.t.Fatalf("CreateChannelModerator %s by %s: %v", arn, bearer, err)
	}
}

func (w *modWorld) createModerator(bearer, arn string) (*chimesdkmessaging.CreateChannelModeratorOutput, error) {
	return w.Msg.CreateChannelModerator(w.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(w.ch),
		ChannelModeratorArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
}

func (w *modWorld) describeModerator(bearer, arn string) (*chimesdkmessaging.DescribeChannelModeratorOutput, error) {
	return w.Msg.DescribeChannelModerator(w.ctx, &chimesdkmessaging.DescribeChannelModeratorInput{ChannelArn: aws.String(w.ch),
		ChannelModeratorArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
}

func (w *modWorld) deleteModerator(bearer, arn string) error {
	_, err := w.Msg.DeleteChannelModerator(w.ctx, &chimesdkmessaging.DeleteChannelModeratorInput{ChannelArn: aws.String(w.ch),
		ChannelModeratorArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
	return err
}

func (w *modWorld) listModerators(bearer string) ([]string, error) {
	out, err := w.Msg.ListChannelModerators(w.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(bearer)})
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, m := range out.ChannelModerators {
		arns = append(arns, *m.Moderator.Arn)
	}
	return arns, nil
}

func (w *modWorld) addMember(bearer, arn string) {
	w.t.Helper()
	if _, err := w.createMembership(bearer, arn); err != nil {
		w.t.Fatalf("CreateChannelMembership %s by %s: %v", arn, bearer, err)
	}
}

func (w *modWorld) createMembership(bearer, arn string) (*chimesdkmessaging.CreateChannelMembershipOutput, error) {
	return w.Msg.CreateChannelMembership(w.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(w.ch),
		MemberArn: aws.String(arn), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(bearer)})
}

func (w *modWorld) describeMembership(bearer, arn string) error {
	_, err := w.Msg.DescribeChannelMembership(w.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(w.ch),
		MemberArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
	return err
}

func (w *modWorld) members(bearer string) []string {
	w.t.Helper()
	out, err := w.Msg.ListChannelMemberships(w.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(bearer)})
	noErr(w.t, err)
	var arns []string
	for _, m := range out.ChannelMemberships {
		arns = append(arns, *m.Member.Arn)
	}
	return arns
}

func (w *modWorld) ban(bearer, arn string) (*chimesdkmessaging.CreateChannelBanOutput, error) {
	return w.Msg.CreateChannelBan(w.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(w.ch),
		MemberArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
}

func (w *modWorld) describeBan(bearer, arn string) (*chimesdkmessaging.DescribeChannelBanOutput, error) {
	return w.Msg.DescribeChannelBan(w.ctx, &chimesdkmessaging.DescribeChannelBanInput{ChannelArn: aws.String(w.ch),
		MemberArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
}

func (w *modWorld) unban(bearer, arn string) error {
	_, err := w.Msg.DeleteChannelBan(w.ctx, &chimesdkmessaging.DeleteChannelBanInput{ChannelArn: aws.String(w.ch),
		MemberArn: aws.String(arn), ChimeBearer: aws.String(bearer)})
	return err
}

func (w *modWorld) listBans(bearer string) ([]string, error) {
	out, err := w.Msg.ListChannelBans(w.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(bearer)})
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, b := range out.ChannelBans {
		arns = append(arns, *b.Member.Arn)
	}
	return arns, nil
}

// TestChannelModeratorLifecycle: Create/Describe/List/Delete ChannelModerator;
// a moderator is not a member until they join (SEMANTICS.md §5, TOP 10 #7);
// list order is creation order (D7); a missing moderator is 404 (D3).
func TestChannelModeratorLifecycle(t *testing.T) {
	w := newModWorld(t, "RESTRICTED", "PRIVATE")
	target := w.user(w.ai, "erin@example.com")

	out, err := w.createModerator(w.owner, target)
	noErr(t, err)
	if *out.ChannelArn != w.ch || *out.ChannelModerator.Arn != target || *out.ChannelModerator.Name != "name of erin@example.com" {
		t.Fatalf("CreateChannelModerator = %+v %+v", out, out.ChannelModerator)
	}
	// Making a moderator again returns it as it stands.
	again, err := w.createModerator(w.mod, target)
	noErr(t, err)
	if *again.ChannelModerator.Arn != target {
		t.Fatalf("repeated CreateChannelModerator = %+v", again.ChannelModerator)
	}

	d, err := w.describeModerator(w.admin, target)
	noErr(t, err)
	cm := d.ChannelModerator
	if *cm.ChannelArn != w.ch || *cm.Moderator.Arn != target || *cm.CreatedBy.Arn != w.owner || cm.CreatedTimestamp == nil || cm.CreatedTimestamp.IsZero() {
		t.Fatalf("DescribeChannelModerator = %+v", cm)
	}

	got, err := w.listModerators(w.mod)
	noErr(t, err)
	if want := []string{w.owner, w.mod, w.modBot, target}; !slices.Equal(got, want) {
		t.Fatalf("ListChannelModerators = %v, want %v (creation order, D7)", got, want)
	}

	// Moderator is not membership: the new moderator and mod never joined.
	wantErr(t, w.describeMembership(w.owner, target), "NotFoundException")
	if ms := w.members(w.owner); slices.Contains(ms, target) || slices.Contains(ms, w.mod) {
		t.Fatalf("moderators who never joined are listed as members: %v", ms)
	}
	// Joining makes them a member; a moderator may add itself to a RESTRICTED PRIVATE channel.
	w.addMember(target, target)
	noErr(t, w.describeMembership(w.owner, target))

	noErr(t, w.deleteModerator(w.owner, target))
	_, err = w.describeModerator(w.owner, target)
	wantErr(t, err, "NotFoundException")
	wantErr(t, w.deleteModerator(w.owner, target), "NotFoundException")
	got, err = w.listModerators(w.owner)
	noErr(t, err)
	if slices.Contains(got, target) {
		t.Fatalf("deleted moderator still listed: %v", got)
	}
	// The membership stays when the moderator role goes.
	noErr(t, w.describeMembership(w.owner, target))
	// A former moderator who is only a member has no moderator powers.
	_, err = w.listModerators(target)
	wantErr(t, err, "ForbiddenException")
}

// TestChannelModeratorRoles: moderator APIs are for the channel's moderators and
// the app instance's admins; members and non-members get 403 (SEMANTICS.md §5
// "Member powers": "Denied: all moderator and ban APIs"). Users and bots as bearers.
func TestChannelModeratorRoles(t *testing.T) {
	for _, privacy := range []string{"PUBLIC", "PRIVATE"} {
		t.Run(privacy, func(t *testing.T) {
			w := newModWorld(t, "UNRESTRICTED", privacy)
			bearers := []struct {
				name    string
				arn     string
				allowed bool
			}{
				{"admin", w.admin, true},
				{"owner", w.owner, true},
				{"moderator", w.mod, true},
				{"bot moderator", w.modBot, true},
				{"member", w.member, false},
				{"bot member", w.memberBot, false},
				{"non-member", w.outsider, false},
			}
			for i, b := range bearers {
				target := w.user(w.ai, fmt.Sprintf("target-%d", i))
				if !b.allowed {
					_, err := w.createModerator(b.arn, target)
					wantErr(t, err, "ForbiddenException")
					_, err = w.describeModerator(b.arn, w.mod)
					wantErr(t, err, "ForbiddenException")
					_, err = w.listModerators(b.arn)
					wantErr(t, err, "ForbiddenException")
					wantErr(t, w.deleteModerator(b.arn, w.mod), "ForbiddenException")
					// Nor can they promote themselves.
					_, err = w.createModerator(b.arn, b.arn)
					wantErr(t, err, "ForbiddenException")
					continue
				}
				out, err := w.createModerator(b.arn, target)
				if err != nil {
					t.Fatalf("%s: CreateChannelModerator: %v", b.name, err)
				}
				if *out.ChannelModerator.Arn != target {
					t.Fatalf("%s: moderator %v", b.name, *out.ChannelModerator.Arn)
				}
				d, err := w.describeModerator(b.arn, target)
				if err != nil {
					t.Fatalf("%s: DescribeChannelModerator: %v", b.name, err)
				}
				if *d.ChannelModerator.CreatedBy.Arn != b.arn {
					t.Fatalf("%s: CreatedBy = %s", b.name, *d.ChannelModerator.CreatedBy.Arn)
				}
				if got, err := w.listModerators(b.arn); err != nil || !slices.Contains(got, target) {
					t.Fatalf("%s: ListChannelModerators = %v, %v", b.name, got, err)
				}
				if err := w.deleteModerator(b.arn, target); err != nil {
					t.Fatalf("%s: DeleteChannelModerator: %v", b.name, err)
				}
			}
			// A bot can be made a moderator by a bot, and then acts as one.
			bot := w.bot(w.ai, "newbot")
			w.addModerator(w.modBot, bot)
			if _, err := w.listModerators(bot); err != nil {
				t.Fatalf("bot made moderator cannot list moderators: %v", err)
			}
		})
	}
}

// TestChannelModeratorInvalidArns: a moderator ARN that is not a user or bot of
// the channel's app instance is 403 (D4); an unknown channel is 404 (D3); an
// unknown or foreign bearer is 401 (D5).
func TestChannelModeratorInvalidArns(t *testing.T) {
	w := newModWorld(t, "UNRESTRICTED", "PUBLIC")
	for name, arn := range map[string]string{
		"unknown user":        w.ai + "/user/ghost",
		"unknown bot":         w.ai + "/bot/ghost",
		"user of another app": w.foreign,
		"the channel itself":  w.ch,
		"the app instance":    w.ai,
	} {
		_, err := w.createModerator(w.owner, arn)
		if err == nil {
			t.Fatalf("%s: CreateChannelModerator succeeded", name)
		}
		wantErr(t, err, "ForbiddenException")
	}
	got, err := w.listModerators(w.admin)
	noErr(t, err)
	if want := []string{w.owner, w.mod, w.modBot}; !slices.Equal(got, want) {
		t.Fatalf("moderators after rejected creates = %v, want %v", got, want)
	}
	// Describing/deleting someone who is not a moderator: 404 (D3).
	_, err = w.describeModerator(w.owner, w.member)
	wantErr(t, err, "NotFoundException")
	wantErr(t, w.deleteModerator(w.owner, w.member), "NotFoundException")

	missing := w.ai + "/channel/no-such-channel"
	_, err = w.Msg.CreateChannelModerator(w.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(missing),
		ChannelModeratorArn: aws.String(w.member), ChimeBearer: aws.String(w.admin)})
	wantErr(t, err, "NotFoundException")
	_, err = w.Msg.ListChannelModerators(w.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(missing), ChimeBearer: aws.String(w.admin)})
	wantErr(t, err, "NotFoundException")

	_, err = w.createModerator(w.foreign, w.member)
	wantErr(t, err, "UnauthorizedClientException")
	_, err = w.listModerators(w.ai + "/user/ghost")
	wantErr(t, err, "UnauthorizedClientException")
}

// TestChannelsModeratedByAppInstanceUser: a user lists and describes the
// channels they moderate; an AppInstanceAdmin may ask for anyone; others get
// 403; a channel the user does not moderate is 404 (SEMANTICS.md §5
// "AppInstanceAdmin powers"; D3).
func TestChannelsModeratedByAppInstanceUser(t *testing.T) {
	w := newModWorld(t, "UNRESTRICTED", "PRIVATE")
	second := w.channel(w.ai, w.owner, "RESTRICTED", "PUBLIC")
	_, err := w.Msg.CreateChannelModerator(w.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(second),
		ChannelModeratorArn: aws.String(w.mod), ChimeBearer: aws.String(w.owner)})
	noErr(t, err)
	unmoderated := w.channel(w.ai, w.outsider, "UNRESTRICTED", "PUBLIC")

	list := func(bearer, user string) ([]string, error) {
		in := &chimesdkmessaging.ListChannelsModeratedByAppInstanceUserInput{ChimeBearer: aws.String(bearer)}
		if user != "" {
			in.AppInstanceUserArn = aws.String(user)
		}
		out, err := w.Msg.ListChannelsModeratedByAppInstanceUser(w.ctx, in)
		if err != nil {
			return nil, err
		}
		if out.NextToken != nil {
			t.Fatalf("NextToken on a single page")
		}
		var arns []string
		for _, c := range out.Channels {
			arns = append(arns, *c.ChannelSummary.ChannelArn)
		}
		return arns, nil
	}
	describe := func(bearer, ch, user string) (*chimesdkmessaging.DescribeChannelModeratedByAppInstanceUserOutput, error) {
		return w.Msg.DescribeChannelModeratedByAppInstanceUser(w.ctx, &chimesdkmessaging.DescribeChannelModeratedByAppInstanceUserInput{
			ChannelArn: aws.String(ch), AppInstanceUserArn: aws.String(user), ChimeBearer: aws.String(bearer)})
	}

	want := []string{w.ch, second}
	for _, c := range []struct{ bearer, user string }{{w.mod, w.mod}, {w.mod, ""}, {w.admin, w.mod}} {
		got, err := list(c.bearer, c.user)
		noErr(t, err)
		if !slices.Equal(got, want) {
			t.Fatalf("ListChannelsModeratedByAppInstanceUser(bearer %s, user %q) = %v, want %v", c.bearer, c.user, got, want)
		}
	}
	// A bot moderator lists its own channels.
	if got, err := list(w.modBot, w.modBot); err != nil || !slices.Equal(got, []string{w.ch}) {
		t.Fatalf("bot's moderated channels = %v, %v", got, err)
	}
	// A user who moderates nothing gets an empty list.
	if got, err := list(w.member, w.member); err != nil || len(got) != 0 {
		t.Fatalf("member's moderated channels = %v, %v", got, err)
	}
	// Another user's list: only admins. Moderators of the same channel are not enough.
	for _, bearer := range []string{w.member, w.owner, w.modBot, w.outsider} {
		_, err := list(bearer, w.mod)
		wantErr(t, err, "ForbiddenException")
	}
	_, err = list(w.foreign, w.foreign)
	noErr(t, err)
	_, err = list(w.ai+"/user/ghost", "")
	wantErr(t, err, "UnauthorizedClientException")

	d, err := describe(w.mod, second, w.mod)
	noErr(t, err)
	if s := d.Channel.ChannelSummary; *s.ChannelArn != second || s.Mode != types.ChannelModeRestricted || s.Privacy != types.ChannelPrivacyPublic || *s.Name != "channel" {
		t.Fatalf("DescribeChannelModeratedByAppInstanceUser = %+v", s)
	}
	_, err = describe(w.admin, w.ch, w.mod)
	noErr(t, err)
	_, err = describe(w.mod, unmoderated, w.mod)
	wantErr(t, err, "NotFoundException")
	_, err = describe(w.member, w.ch, w.member)
	wantErr(t, err, "NotFoundException")
	_, err = describe(w.admin, w.ch, w.admin) // admins moderate without being moderators
	wantErr(t, err, "NotFoundException")
	_, err = describe(w.mod, w.ai+"/channel/missing", w.mod)
	wantErr(t, err, "NotFoundException")
	_, err = describe(w.member, w.ch, w.mod)
	wantErr(t, err, "ForbiddenException")
	_, err = describe(w.owner, w.ch, w.mod)
	wantErr(t, err, "ForbiddenException")

	// Deleting the moderator removes the channel from the list.
	noErr(t, w.deleteModerator(w.owner, w.mod))
	if got, err := list(w.mod, ""); err != nil || !slices.Equal(got, []string{second}) {
		t.Fatalf("after DeleteChannelModerator = %v, %v", got, err)
	}
	_, err = describe(w.mod, w.ch, w.mod)
	wantErr(t, err, "NotFoundException")
}

// TestListChannelModeratorsPagination: over 60 moderators come back 50 then the
// rest with no NextToken on the last page; a forged or foreign token is 400
// (D6, D7, D8).
func TestListChannelModeratorsPagination(t *testing.T) {
	w := newModWorld(t, "RESTRICTED", "PRIVATE")
	want := []string{w.owner, w.mod, w.modBot}
	for i := range 60 {
		u := w.user(w.ai, fmt.Sprintf("m%02d@example.com", i))
		w.addModerator(w.admin, u)
		want = append(want, u)
	}
	// Default page size is 50 (D6).
	p1, err := w.Msg.ListChannelModerators(w.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.mod)})
	noErr(t, err)
	if len(p1.ChannelModerators) != 50 || p1.NextToken == nil {
		t.Fatalf("first page: %d moderators, token %v", len(p1.ChannelModerators), p1.NextToken)
	}
	p2, err := w.Msg.ListChannelModerators(w.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.mod), NextToken: p1.NextToken})
	noErr(t, err)
	if len(p2.ChannelModerators) != 13 || p2.NextToken != nil {
		t.Fatalf("last page: %d moderators, token %v", len(p2.ChannelModerators), p2.NextToken)
	}
	// The SDK paginator with a smaller page walks every moderator once, in creation order (D7).
	var got []string
	pages := 0
	pg := chimesdkmessaging.NewListChannelModeratorsPaginator(w.Msg, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(w.ch),
		ChimeBearer: aws.String(w.admin), MaxResults: aws.Int32(25)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(w.ctx)
		noErr(t, err)
		pages++
		for _, m := range out.ChannelModerators {
			got = append(got, *m.Moderator.Arn)
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("paginator: %d pages, %d moderators; want 3 pages, %v", pages, len(got), len(want))
	}

	// D8: a forged token, and a token of another channel or operation, are 400.
	other := w.channel(w.ai, w.owner, "UNRESTRICTED", "PUBLIC")
	for name, in := range map[string]*chimesdkmessaging.ListChannelModeratorsInput{
		"forged":        {ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.mod), NextToken: aws.String("forged-token")},
		"tampered":      {ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.mod), NextToken: aws.String(*p1.NextToken + "A")},
		"other channel": {ChannelArn: aws.String(other), ChimeBearer: aws.String(w.owner), NextToken: p1.NextToken},
	} {
		_, err := w.Msg.ListChannelModerators(w.ctx, in)
		if err == nil {
			t.Fatalf("%s token accepted", name)
		}
		wantErr(t, err, "BadRequestException")
	}
	_, err = w.Msg.ListChannelBans(w.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.mod), NextToken: p1.NextToken})
	wantErr(t, err, "BadRequestException")
}

// TestChannelBanLifecycle: a ban removes the membership; a banned user cannot
// be added back, alone (403, D2) or in a batch (Errors entry Forbidden, D2),
// nor join by themself, until DeleteChannelBan; then they can. A missing ban
// is 404 (D3). SEMANTICS.md §5 "Bans".
func TestChannelBanLifecycle(t *testing.T) {
	w := newModWorld(t, "UNRESTRICTED", "PUBLIC")
	bystander := w.user(w.ai, "bystander")

	out, err := w.ban(w.mod, w.member)
	noErr(t, err)
	if *out.ChannelArn != w.ch || *out.Member.Arn != w.member || *out.Member.Name != "name of member" {
		t.Fatalf("CreateChannelBan = %+v %+v", out, out.Member)
	}
	// The banned member lost the membership, everywhere it shows.
	wantErr(t, w.describeMembership(w.owner, w.member), "NotFoundException")
	if slices.Contains(w.members(w.owner), w.member) {
		t.Fatal("banned member still listed by ListChannelMemberships")
	}
	mine, err := w.Msg.ListChannelMembershipsForAppInstanceUser(w.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(w.member)})
	noErr(t, err)
	if len(mine.ChannelMemberships) != 0 {
		t.Fatalf("banned member still has channel memberships: %d", len(mine.ChannelMemberships))
	}
	// Banning again returns the ban as it stands.
	_, err = w.ban(w.admin, w.member)
	noErr(t, err)

	d, err := w.describeBan(w.admin, w.member)
	noErr(t, err)
	if b := d.ChannelBan; *b.ChannelArn != w.ch || *b.Member.Arn != w.member || *b.CreatedBy.Arn != w.mod || b.CreatedTimestamp == nil || b.CreatedTimestamp.IsZero() {
		t.Fatalf("DescribeChannelBan = %+v", b)
	}
	if got, err := w.listBans(w.owner); err != nil || !slices.Equal(got, []string{w.member}) {
		t.Fatalf("ListChannelBans = %v, %v", got, err)
	}

	// D2: no way back in while banned, whoever asks.
	for _, bearer := range []string{w.owner, w.mod, w.admin, w.modBot, w.member} {
		_, err := w.createMembership(bearer, w.member)
		wantErr(t, err, "ForbiddenException")
	}
	batch, err := w.Msg.BatchCreateChannelMembership(w.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(w.ch),
		MemberArns: []string{bystander, w.member}, ChimeBearer: aws.String(w.mod)})
	noErr(t, err)
	if ms := batch.BatchChannelMemberships.Members; len(ms) != 1 || *ms[0].Arn != bystander {
		t.Fatalf("batch Members = %+v, want only the bystander", ms)
	}
	if es := batch.Errors; len(es) != 1 || *es[0].MemberArn != w.member || es[0].ErrorCode != types.ErrorCodeForbidden || es[0].ErrorMessage == nil {
		t.Fatalf("batch Errors = %+v, want one Forbidden for the banned member", es)
	}
	wantErr(t, w.describeMembership(w.owner, w.member), "NotFoundException")

	// Lifting the ban lets them be added again.
	noErr(t, w.unban(w.modBot, w.member))
	_, err = w.describeBan(w.owner, w.member)
	wantErr(t, err, "NotFoundException")
	wantErr(t, w.unban(w.owner, w.member), "NotFoundException")
	if got, err := w.listBans(w.owner); err != nil || len(got) != 0 {
		t.Fatalf("ListChannelBans after DeleteChannelBan = %v, %v", got, err)
	}
	// Self-join to a PUBLIC channel works again (D9).
	_, err = w.createMembership(w.member, w.member)
	noErr(t, err)
	noErr(t, w.describeMembership(w.owner, w.member))

	// Batch re-add after unban: ban and unban a second time.
	_, err = w.ban(w.owner, w.member)
	noErr(t, err)
	noErr(t, w.unban(w.owner, w.member))
	batch, err = w.Msg.BatchCreateChannelMembership(w.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(w.ch),
		MemberArns: []string{w.member}, ChimeBearer: aws.String(w.owner)})
	noErr(t, err)
	if len(batch.Errors) != 0 || len(batch.BatchChannelMemberships.Members) != 1 {
		t.Fatalf("batch after unban: members %+v errors %+v", batch.BatchChannelMemberships.Members, batch.Errors)
	}

	// A user who never was a member can be banned too, and then cannot join.
	_, err = w.ban(w.owner, w.outsider)
	noErr(t, err)
	_, err = w.createMembership(w.outsider, w.outsider)
	wantErr(t, err, "ForbiddenException")
}

// TestChannelBanProtected: AppInstanceAdmins and the channel's moderators cannot
// be banned (403); a ban target must be a user or bot of the app instance (403,
// D4); bots can be banned. SEMANTICS.md §5 "Bans".
func TestChannelBanProtected(t *testing.T) {
	w := newModWorld(t, "RESTRICTED", "PRIVATE")
	for name, arn := range map[string]string{
		"admin":                  w.admin,
		"creator (moderator)":    w.owner,
		"moderator not member":   w.mod,
		"bot moderator":          w.modBot,
		"unknown user (D4)":      w.ai + "/user/ghost",
		"other app (D4)":         w.foreign,
		"channel as member (D4)": w.ch,
	} {
		for _, bearer := range []string{w.admin, w.owner} {
			_, err := w.ban(bearer, arn)
			if err == nil {
				t.Fatalf("banning %s by %s succeeded", name, bearer)
			}
			wantErr(t, err, "ForbiddenException")
		}
	}
	if got, err := w.listBans(w.admin); err != nil || len(got) != 0 {
		t.Fatalf("bans after rejected creates = %v, %v", got, err)
	}
	// The creator stays a member and moderator.
	noErr(t, w.describeMembership(w.admin, w.owner))

	// A moderator who loses the role can be banned.
	noErr(t, w.deleteModerator(w.owner, w.mod))
	_, err := w.ban(w.owner, w.mod)
	noErr(t, err)

	// A bot member is banned like a user and loses its membership.
	_, err = w.ban(w.modBot, w.memberBot)
	noErr(t, err)
	wantErr(t, w.describeMembership(w.owner, w.memberBot), "NotFoundException")
	if got, err := w.listBans(w.modBot); err != nil || !slices.Equal(got, []string{w.mod, w.memberBot}) {
		t.Fatalf("ListChannelBans = %v, %v", got, err)
	}
	_, err = w.createMembership(w.owner, w.memberBot)
	wantErr(t, err, "ForbiddenException")
}

// TestChannelBanLiftedForNewAdmin: an AppInstanceAdmin cannot be banned
// (SEMANTICS.md §5 "Bans"), so making a banned user an admin lifts their
// bans; they then act as admin in the channel that banned them.
func TestChannelBanLiftedForNewAdmin(t *testing.T) {
	w := newModWorld(t, "RESTRICTED", "PRIVATE")
	_, err := w.ban(w.owner, w.member)
	noErr(t, err)
	_, err = w.ban(w.owner, w.outsider)
	noErr(t, err)
	w.env.admin(w.ai, w.member)
	if got, err := w.listBans(w.member); err != nil || !slices.Equal(got, []string{w.outsider}) {
		t.Fatalf("ListChannelBans by the new admin = %v, %v; want only the other ban", got, err)
	}
	_, err = w.Msg.DescribeChannel(w.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.member)})
	noErr(t, err)
	// The new admin may add themselves back.
	_, err = w.createMembership(w.member, w.member)
	noErr(t, err)
}

// TestChannelBanRoles: every ban API is for moderators and admins only;
// members (users and bots) and non-members get 403, an unknown bearer 401
// (SEMANTICS.md §5 "Member powers"; D5), an unknown channel 404 (D3).
func TestChannelBanRoles(t *testing.T) {
	for _, privacy := range []string{"PUBLIC", "PRIVATE"} {
		t.Run(privacy, func(t *testing.T) {
			w := newModWorld(t, "UNRESTRICTED", privacy)
			victim := w.user(w.ai, "victim")
			w.addMember(w.owner, victim)
			for _, bearer := range []string{w.member, w.memberBot, w.outsider} {
				_, err := w.ban(bearer, victim)
				wantErr(t, err, "ForbiddenException")
				_, err = w.describeBan(bearer, victim)
				wantErr(t, err, "ForbiddenException")
				_, err = w.listBans(bearer)
				wantErr(t, err, "ForbiddenException")
				wantErr(t, w.unban(bearer, victim), "ForbiddenException")
			}
			noErr(t, w.describeMembership(w.owner, victim))

			for _, bearer := range []string{w.admin, w.owner, w.mod, w.modBot} {
				_, err := w.ban(bearer, victim)
				if err != nil {
					t.Fatalf("ban by %s: %v", bearer, err)
				}
				d, err := w.describeBan(bearer, victim)
				noErr(t, err)
				if *d.ChannelBan.CreatedBy.Arn != bearer {
					t.Fatalf("CreatedBy = %s, want %s", *d.ChannelBan.CreatedBy.Arn, bearer)
				}
				if got, err := w.listBans(bearer); err != nil || !slices.Equal(got, []string{victim}) {
					t.Fatalf("ListChannelBans by %s = %v, %v", bearer, got, err)
				}
				noErr(t, w.unban(bearer, victim))
			}

			_, err := w.ban(w.ai+"/user/ghost", victim)
			wantErr(t, err, "UnauthorizedClientException")
			_, err = w.ban(w.foreign, victim)
			wantErr(t, err, "UnauthorizedClientException")
			_, err = w.Msg.ListChannelBans(w.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(w.ai + "/channel/missing"), ChimeBearer: aws.String(w.admin)})
			wantErr(t, err, "NotFoundException")
			_, err = w.Msg.CreateChannelBan(w.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(w.ai + "/channel/missing"),
				MemberArn: aws.String(victim), ChimeBearer: aws.String(w.admin)})
			wantErr(t, err, "NotFoundException")
		})
	}
}

// TestListChannelBansPagination: over 60 bans page 50 then the rest with no
// NextToken on the last page, in creation order; a forged token is 400 (D6-D8).
func TestListChannelBansPagination(t *testing.T) {
	w := newModWorld(t, "UNRESTRICTED", "PUBLIC")
	var want []string
	for i := range 61 {
		u := w.user(w.ai, fmt.Sprintf("b%02d", i))
		if _, err := w.ban(w.mod, u); err != nil {
			t.Fatalf("ban %d: %v", i, err)
		}
		want = append(want, u)
	}
	var got []string
	var sizes []int
	var last *chimesdkmessaging.ListChannelBansOutput
	pg := chimesdkmessaging.NewListChannelBansPaginator(w.Msg, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.admin)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(w.ctx)
		noErr(t, err)
		sizes = append(sizes, len(out.ChannelBans))
		for _, b := range out.ChannelBans {
			got = append(got, *b.Member.Arn)
		}
		last = out
	}
	if !slices.Equal(sizes, []int{50, 11}) || !slices.Equal(got, want) || last.NextToken != nil {
		t.Fatalf("pages %v, %d bans; want [50 11], %d in creation order", sizes, len(got), len(want))
	}
	_, err := w.Msg.ListChannelBans(w.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.admin), NextToken: aws.String("bm90IGEgdG9rZW4")})
	wantErr(t, err, "BadRequestException")
	// MaxResults over 50 reaches the server and is a 400 (D6).
	_, err = w.Msg.ListChannelBans(w.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.admin), MaxResults: aws.Int32(51)})
	wantErr(t, err, "BadRequestException")
}
