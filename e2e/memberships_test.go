package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// channelConfigs are the four channel kinds, in the column order of d9Matrix.
var channelConfigs = []struct{ mode, privacy string }{
	{"UNRESTRICTED", "PUBLIC"}, {"UNRESTRICTED", "PRIVATE"}, {"RESTRICTED", "PUBLIC"}, {"RESTRICTED", "PRIVATE"},
}

// d9Matrix is rule D9 written out: may a bearer of this role add this target
// with this type? One Y/N per channel kind, in channelConfigs order
// (UNRESTRICTED/PUBLIC, UNRESTRICTED/PRIVATE, RESTRICTED/PUBLIC, RESTRICTED/PRIVATE).
// Admins and moderators are not members. A member re-adding themself is D1
// where D9 lets them add at all.
var d9Matrix = []struct {
	role, target, typ, allowed string
}{
	{"admin", "self", "DEFAULT", "YYYY"},
	{"admin", "other", "DEFAULT", "YYYY"},
	{"admin", "self", "HIDDEN", "YYYY"},
	{"admin", "other", "HIDDEN", "YYYY"},
	{"moderator", "self", "DEFAULT", "YYYY"},
	{"moderator", "other", "DEFAULT", "YYYY"},
	{"moderator", "self", "HIDDEN", "YYYY"},
	{"moderator", "other", "HIDDEN", "YYYY"},
	{"member", "self", "DEFAULT", "YYNN"},
	{"member", "other", "DEFAULT", "YYNN"},
	{"member", "other", "HIDDEN", "NNNN"},
	{"nonmember", "self", "DEFAULT", "YNNN"},
	{"nonmember", "other", "DEFAULT", "NNNN"},
	{"nonmember", "self", "HIDDEN", "NNNN"},
	{"nonmember", "other", "HIDDEN", "NNNN"},
}

// d9Case is one combination of d9Matrix with a concrete bearer and target.
type d9Case struct {
	name, bearer, target, typ, mode, privacy string
	allowed, targetWasMember                 bool
	role                                     string
}

// d9Cases expands d9Matrix over channel kinds, user and bot bearers, and user
// and bot targets.
func d9Cases(f *roleFixture) []d9Case {
	bearers := map[string][]string{
		"admin":     {f.admin, f.adminBot},
		"moderator": {f.mod, f.modBot},
		"member":    {f.member, f.memberBot},
		"nonmember": {f.nonMember, f.nonMemberBot},
	}
	var out []d9Case
	for _, row := range d9Matrix {
		for ci, cfg := range channelConfigs {
			for bi, bearer := range bearers[row.role] {
				targets := []string{f.otherUser, f.otherBot}
				if row.target == "self" {
					targets = []string{bearer}
				}
				for _, target := range targets {
					name := fmt.Sprintf("%s-%s/%s-%s/%s/%s", cfg.mode, cfg.privacy, row.role, []string{"user", "bot"}[bi], row.target+kindOf(target), row.typ)
					out = append(out, d9Case{name: name, bearer: bearer, target: target, typ: row.typ, mode: cfg.mode, privacy: cfg.privacy,
						allowed: row.allowed[ci] == 'Y', targetWasMember: row.role == "member" && row.target == "self", role: row.role})
				}
			}
		}
	}
	return out
}

func kindOf(arn string) string {
	if strings.Contains(arn, "/bot/") {
		return "(bot)"
	}
	return "(user)"
}

// TestCreateChannelMembership_D9: every combination of rule D9 through
// CreateChannelMembership, users and bots as bearers and as members; HIDDEN
// only by moderators and admins; InvitedBy is the bearer.
func TestCreateChannelMembership_D9(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("d9"))
	for _, tc := range d9Cases(f) {
		t.Run(tc.name, func(t *testing.T) {
			ch := f.channel(tc.mode, tc.privacy)
			out, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(tc.bearer), MemberArn: aws.String(tc.target), Type: types.ChannelMembershipType(tc.typ)})
			m, merr := f.membership(ch, tc.target)
			if !tc.allowed {
				wantErr(t, err, "ForbiddenException")
				if errStatus(err) != http.StatusForbidden {
					t.Errorf("status %d, want 403", errStatus(err))
				}
				if !tc.targetWasMember {
					wantErr(t, merr, "NotFoundException")
				}
				return
			}
			noErr(t, err)
			if s := httpStatus(out.ResultMetadata); s != http.StatusCreated {
				t.Errorf("status %d, want 201", s)
			}
			if aws.ToString(out.ChannelArn) != ch || out.Member == nil || aws.ToString(out.Member.Arn) != tc.target || aws.ToString(out.Member.Name) == "" {
				t.Errorf("response %+v %+v", aws.ToString(out.ChannelArn), out.Member)
			}
			noErr(t, merr)
			wantType, wantInviter := tc.typ, tc.bearer
			if tc.targetWasMember { // D1: the membership as it stands
				wantType, wantInviter = "DEFAULT", f.creator
			}
			if string(m.Type) != wantType || aws.ToString(m.InvitedBy.Arn) != wantInviter || aws.ToString(m.Member.Arn) != tc.target {
				t.Errorf("membership type %s invited by %s, want %s by %s", m.Type, aws.ToString(m.InvitedBy.Arn), wantType, wantInviter)
			}
		})
	}
}

// TestBatchCreateChannelMembership_D9: rule D9 through the batch call. A
// bearer D9 denies gets a 403 for the whole call, or, when it could add
// someone (a non-member self-joining), an Errors entry with ErrorCode
// Forbidden; an allowed one sees the target in Members.
func TestBatchCreateChannelMembership_D9(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("d9-batch"))
	for _, tc := range d9Cases(f) {
		t.Run(tc.name, func(t *testing.T) {
			ch := f.channel(tc.mode, tc.privacy)
			out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(tc.bearer), MemberArns: []string{tc.target}, Type: types.ChannelMembershipType(tc.typ)})
			m, merr := f.membership(ch, tc.target)
			if !tc.allowed {
				// Only a non-member of a PUBLIC UNRESTRICTED channel adding DEFAULT
				// members may add anyone (themself), so only it gets per-member errors;
				// a RESTRICTED channel or a HIDDEN type refuses the whole call. A
				// non-member of a PRIVATE channel may get either.
				perMember := tc.role == "nonmember" && tc.mode == "UNRESTRICTED" && tc.typ == "DEFAULT"
				switch {
				case err != nil && (!perMember || tc.privacy == "PRIVATE"):
					wantErr(t, err, "ForbiddenException")
				case err == nil && perMember:
					if len(out.Errors) != 1 || out.Errors[0].ErrorCode != types.ErrorCodeForbidden || aws.ToString(out.Errors[0].MemberArn) != tc.target ||
						len(out.BatchChannelMemberships.Members) != 0 {
						t.Errorf("want one Forbidden entry for %s, got members %+v errors %+v", tc.target, out.BatchChannelMemberships.Members, out.Errors)
					}
				default:
					t.Fatalf("denied batch: err %v, out %+v", err, out)
				}
				if !tc.targetWasMember {
					wantErr(t, merr, "NotFoundException")
				}
				return
			}
			noErr(t, err)
			b := out.BatchChannelMemberships
			if len(out.Errors) != 0 || len(b.Members) != 1 || aws.ToString(b.Members[0].Arn) != tc.target {
				t.Fatalf("want %s added, got members %+v errors %+v", tc.target, b.Members, out.Errors)
			}
			if aws.ToString(b.InvitedBy.Arn) != tc.bearer || string(b.Type) != tc.typ || aws.ToString(b.ChannelArn) != ch {
				t.Errorf("batch %+v", b)
			}
			noErr(t, merr)
			wantType, wantInviter := tc.typ, tc.bearer
			if tc.targetWasMember {
				wantType, wantInviter = "DEFAULT", f.creator
			}
			if string(m.Type) != wantType || aws.ToString(m.InvitedBy.Arn) != wantInviter {
				t.Errorf("membership type %s invited by %s, want %s by %s", m.Type, aws.ToString(m.InvitedBy.Arn), wantType, wantInviter)
			}
		})
	}
}

// TestCreateChannelMembership_Existing_D1: re-adding a member is a 201 with the
// membership unchanged; in a batch the member counts as added.
func TestCreateChannelMembership_Existing_D1(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("d1")
	f := newRoleFixture(e, ai)
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	before, err := f.membership(ch, f.member) // invited by the creator
	noErr(t, err)
	hiddenBefore, err := f.membership(ch, f.hidden)
	noErr(t, err)

	for _, tc := range []struct{ name, bearer, member, typ string }{
		{"member re-added by another member", f.memberBot, f.member, "DEFAULT"},
		{"member re-added by an admin as HIDDEN", f.admin, f.member, "HIDDEN"},
		{"hidden member re-added as DEFAULT by a moderator", f.mod, f.hidden, "DEFAULT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(tc.bearer), MemberArn: aws.String(tc.member), Type: types.ChannelMembershipType(tc.typ)})
			noErr(t, err)
			if s := httpStatus(out.ResultMetadata); s != http.StatusCreated {
				t.Errorf("status %d, want 201", s)
			}
			if aws.ToString(out.Member.Arn) != tc.member {
				t.Errorf("Member %+v", out.Member)
			}
		})
	}
	t.Run("batch", func(t *testing.T) {
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.mod), MemberArns: []string{f.member, f.otherUser}})
		noErr(t, err)
		if got := identityArns(out.BatchChannelMemberships.Members); !sameSet(got, []string{f.member, f.otherUser}) || len(out.Errors) != 0 {
			t.Errorf("batch members %v errors %+v, want both listed", got, out.Errors)
		}
	})
	for _, pair := range []struct {
		arn    string
		before types.ChannelMembership
	}{{f.member, before}, {f.hidden, hiddenBefore}} {
		after, err := f.membership(ch, pair.arn)
		noErr(t, err)
		if after.Type != pair.before.Type || aws.ToString(after.InvitedBy.Arn) != aws.ToString(pair.before.InvitedBy.Arn) ||
			!after.CreatedTimestamp.Equal(*pair.before.CreatedTimestamp) || !after.LastUpdatedTimestamp.Equal(*pair.before.LastUpdatedTimestamp) {
			t.Errorf("membership of %s changed: before %+v after %+v", pair.arn, pair.before, after)
		}
	}
	if got, want := listMemberArns(t, e, ch, f.creator, ""), append(byArn(f.creator, f.member, f.memberBot), f.otherUser); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	if got := listMemberArns(t, e, ch, f.creator, "HIDDEN"); !slices.Equal(got, []string{f.hidden}) {
		t.Errorf("hidden members %v, want only %s", got, f.hidden)
	}
}

// TestCreateChannelMembership_Banned_D2: a banned user cannot be added (403;
// in a batch an Errors entry Forbidden) until the ban is deleted.
func TestCreateChannelMembership_Banned_D2(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("d2")
	f := newRoleFixture(e, ai)
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	troll := e.user(ai, "troll")
	trollBot := e.bot(ai, "troll-bot")
	for _, u := range []string{troll, trollBot} {
		_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.mod), MemberArn: aws.String(u)})
		noErr(t, err)
	}
	for _, tc := range []struct{ name, bearer, member string }{
		{"by admin", f.admin, troll},
		{"by moderator", f.mod, trollBot},
		{"by member", f.member, troll},
		{"self-join", troll, troll},
		{"bot self-join", trollBot, trollBot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(tc.bearer), MemberArn: aws.String(tc.member), Type: types.ChannelMembershipTypeDefault})
			wantErr(t, err, "ForbiddenException")
		})
	}
	t.Run("batch", func(t *testing.T) {
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.admin), MemberArns: []string{troll, f.otherUser, trollBot}})
		noErr(t, err)
		if got := identityArns(out.BatchChannelMemberships.Members); !slices.Equal(got, []string{f.otherUser}) {
			t.Errorf("members %v, want only %s", got, f.otherUser)
		}
		wantBatchErrors(t, out.Errors, map[string]types.ErrorCode{troll: types.ErrorCodeForbidden, trollBot: types.ErrorCodeForbidden})
	})
	t.Run("a banned bearer adds no one", func(t *testing.T) {
		_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(troll), MemberArns: []string{troll}})
		wantErr(t, err, "ForbiddenException")
	})
	for _, u := range []string{troll, trollBot} {
		if _, err := f.membership(ch, u); err == nil {
			t.Errorf("banned %s became a member", u)
		}
	}
	// Once the ban is deleted the user can be added.
	_, err := e.Msg.DeleteChannelBan(e.ctx, &chimesdkmessaging.DeleteChannelBanInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.mod), MemberArn: aws.String(troll)})
	noErr(t, err)
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(troll), MemberArn: aws.String(troll), Type: types.ChannelMembershipTypeDefault})
	noErr(t, err)
}

// TestCreateChannelMembership_InvalidMember_D4: a well-formed ARN that is not a
// user or bot of the channel's app instance is a 403 (in a batch an Errors
// entry Forbidden); a malformed one is a 400.
func TestCreateChannelMembership_InvalidMember_D4(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("d4")
	other := e.appInstance("elsewhere")
	f := newRoleFixture(e, ai)
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	stranger := e.user(other, "stranger")
	strangerBot := e.bot(other, "stranger-bot")
	invalid := []string{ai + "/user/ghost", ai + "/bot/ghost", stranger, strangerBot, ch, ai}
	for _, arn := range invalid {
		t.Run(arn, func(t *testing.T) {
			_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.mod), MemberArn: aws.String(arn), Type: types.ChannelMembershipTypeDefault})
			wantErr(t, err, "ForbiddenException")
			wantMessage(t, err, "An invalid app instance user ARN was supplied for the input parameter.")
		})
	}
	t.Run("batch", func(t *testing.T) {
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.mod), MemberArns: append([]string{f.otherUser}, invalid...)})
		noErr(t, err)
		if got := identityArns(out.BatchChannelMemberships.Members); !slices.Equal(got, []string{f.otherUser}) {
			t.Errorf("members %v, want only %s", got, f.otherUser)
		}
		want := map[string]types.ErrorCode{}
		for _, arn := range invalid {
			want[arn] = types.ErrorCodeForbidden
		}
		wantBatchErrors(t, out.Errors, want)
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.mod), MemberArn: aws.String("not-an-arn"), Type: types.ChannelMembershipTypeDefault})
		wantErr(t, err, "BadRequestException")
	})
	if got, want := listMemberArns(t, e, ch, f.mod, ""), append(byArn(f.creator, f.member, f.memberBot), f.otherUser); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
}

// TestCreateChannelMembership_MissingChannel_D3: a channel that does not exist is a 404.
func TestCreateChannelMembership_MissingChannel_D3(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("d3")
	erin := e.user(ai, "erin")
	ch := ai + "/channel/nope"
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(erin), MemberArn: aws.String(erin), Type: types.ChannelMembershipTypeDefault})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("want a typed NotFoundException, got %v", err)
	}
	_, err = e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(erin), MemberArns: []string{erin}})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(erin), MemberArn: aws.String(erin)})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(erin), MemberArn: aws.String(erin)})
	wantErr(t, err, "NotFoundException")
}

// TestBatchCreateChannelMembership_PartialSuccess: one call adds the good
// members and reports each failure with a model ErrorCode and a message, 200.
func TestBatchCreateChannelMembership_PartialSuccess(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("batch")
	other := e.appInstance("elsewhere")
	f := newRoleFixture(e, ai)
	ch := f.channel("RESTRICTED", "PRIVATE")
	ann := e.user(ai, "ann@example.com")
	cal := e.user(ai, "cal")
	bot := e.bot(ai, "greeter")
	troll := e.user(ai, "troll")
	_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.mod), MemberArn: aws.String(troll)})
	noErr(t, err)
	ghost, stranger := ai+"/user/ghost", e.user(other, "stranger")

	out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(f.modBot), MemberArns: []string{ann, troll, bot, ghost, f.member, stranger, cal, ann}})
	noErr(t, err)
	if s := httpStatus(out.ResultMetadata); s != http.StatusOK {
		t.Errorf("status %d, want 200", s)
	}
	b := out.BatchChannelMemberships
	if got, want := identityArns(b.Members), []string{ann, bot, f.member, cal}; !sameSet(got, want) || len(got) != len(want) {
		t.Errorf("Members %v, want %v", got, want)
	}
	for _, m := range b.Members {
		if aws.ToString(m.Name) == "" {
			t.Errorf("member %s without a name", aws.ToString(m.Arn))
		}
	}
	if aws.ToString(b.ChannelArn) != ch || b.Type != types.ChannelMembershipTypeDefault || aws.ToString(b.InvitedBy.Arn) != f.modBot ||
		aws.ToString(b.InvitedBy.Name) != "mod-bot" {
		t.Errorf("batch %+v invited by %+v", b, b.InvitedBy)
	}
	wantBatchErrors(t, out.Errors, map[string]types.ErrorCode{troll: types.ErrorCodeForbidden, ghost: types.ErrorCodeForbidden, stranger: types.ErrorCodeForbidden})
	for _, u := range []string{ann, cal, bot} {
		m, err := f.membership(ch, u)
		noErr(t, err)
		if aws.ToString(m.InvitedBy.Arn) != f.modBot || m.Type != types.ChannelMembershipTypeDefault {
			t.Errorf("%s: invited by %s type %s", u, aws.ToString(m.InvitedBy.Arn), m.Type)
		}
	}
	// Members added together were created at the same instant: they are
	// listed by ARN (rule D7's ties), the bot's /bot/ before the users' /user/.
	if got, want := listMemberArns(t, e, ch, f.mod, ""), append(byArn(f.creator, f.member, f.memberBot), bot, ann, cal); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}

	t.Run("HIDDEN by a moderator", func(t *testing.T) {
		lurker := e.user(ai, "lurker")
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.mod), MemberArns: []string{lurker}, Type: types.ChannelMembershipTypeHidden})
		noErr(t, err)
		if out.BatchChannelMemberships.Type != types.ChannelMembershipTypeHidden {
			t.Errorf("Type %s, want HIDDEN", out.BatchChannelMemberships.Type)
		}
		if got := listMemberArns(t, e, ch, f.mod, "HIDDEN"); !slices.Equal(got, []string{f.hidden, lurker}) {
			t.Errorf("hidden members %v", got)
		}
	})
	t.Run("non-member self-join with others", func(t *testing.T) {
		pub := f.channel("UNRESTRICTED", "PUBLIC")
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(pub),
			ChimeBearer: aws.String(f.nonMember), MemberArns: []string{f.nonMember, f.otherUser}})
		noErr(t, err)
		if got := identityArns(out.BatchChannelMemberships.Members); !slices.Equal(got, []string{f.nonMember}) {
			t.Errorf("members %v, want the bearer only", got)
		}
		wantBatchErrors(t, out.Errors, map[string]types.ErrorCode{f.otherUser: types.ErrorCodeForbidden})
	})
	t.Run("more than 100 ARNs", func(t *testing.T) {
		arns := make([]string, 101)
		for i := range arns {
			arns[i] = fmt.Sprintf("%s/user/u%d", ai, i)
		}
		_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.mod), MemberArns: arns})
		wantErr(t, err, "BadRequestException")
	})
}

// TestListChannelMemberships_TypeAndRoles: no type lists DEFAULT members only,
// type=HIDDEN hidden ones only and only for moderators and admins (rule D10);
// non-members list PUBLIC channels' members, not PRIVATE ones.
func TestListChannelMemberships_TypeAndRoles(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("d10"))
	for _, privacy := range []string{"PUBLIC", "PRIVATE"} {
		ch := f.channel("UNRESTRICTED", privacy)
		for _, r := range f.roles() {
			for _, typ := range []string{"", "DEFAULT", "HIDDEN"} {
				t.Run(fmt.Sprintf("%s/%s/type=%s", privacy, r.name, typ), func(t *testing.T) {
					out, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
						ChimeBearer: aws.String(r.arn), Type: types.ChannelMembershipType(typ)})
					if (r.nonMember && privacy == "PRIVATE") || (typ == "HIDDEN" && !r.privileged) {
						wantErr(t, err, "ForbiddenException")
						return
					}
					noErr(t, err)
					want := byArn(f.creator, f.member, f.memberBot)
					if typ == "HIDDEN" {
						want = []string{f.hidden}
					}
					var got []string
					for _, m := range out.ChannelMemberships {
						got = append(got, aws.ToString(m.Member.Arn))
					}
					if !slices.Equal(got, want) || aws.ToString(out.ChannelArn) != ch || out.NextToken != nil {
						t.Errorf("listed %v (channel %s, next %v), want %v", got, aws.ToString(out.ChannelArn), out.NextToken, want)
					}
				})
			}
		}
	}
}

// TestDescribeChannelMembership: InvitedBy is the bearer that added the member;
// non-members describe memberships of PUBLIC channels only.
func TestDescribeChannelMembership(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("describe")
	f := newRoleFixture(e, ai)
	for _, privacy := range []string{"PUBLIC", "PRIVATE"} {
		ch := f.channel("UNRESTRICTED", privacy)
		_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.memberBot), MemberArn: aws.String(f.otherUser), Type: types.ChannelMembershipTypeDefault})
		noErr(t, err)
		for _, r := range f.roles() {
			t.Run(privacy+"/"+r.name, func(t *testing.T) {
				out, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
					ChimeBearer: aws.String(r.arn), MemberArn: aws.String(f.otherUser)})
				if r.nonMember && privacy == "PRIVATE" {
					wantErr(t, err, "ForbiddenException")
					return
				}
				noErr(t, err)
				m := out.ChannelMembership
				if aws.ToString(m.InvitedBy.Arn) != f.memberBot || aws.ToString(m.InvitedBy.Name) != "member-bot" ||
					aws.ToString(m.Member.Arn) != f.otherUser || aws.ToString(m.Member.Name) != "name of other" ||
					aws.ToString(m.ChannelArn) != ch || m.Type != types.ChannelMembershipTypeDefault || m.CreatedTimestamp == nil {
					t.Errorf("membership %+v invited by %+v member %+v", m, m.InvitedBy, m.Member)
				}
			})
		}
		t.Run(privacy+"/not a member", func(t *testing.T) {
			_, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.creator), MemberArn: aws.String(f.nonMember)})
			wantErr(t, err, "NotFoundException")
		})
	}
}

// TestDeleteChannelMembership_D11: a member may leave; removing someone else
// takes a moderator or admin; a missing membership is a 404.
func TestDeleteChannelMembership_D11(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("d11"))
	for _, r := range f.roles() {
		for _, target := range []string{"self", "member", "hidden", "moderator"} {
			victim := map[string]string{"self": r.arn, "member": f.member, "hidden": f.hidden, "moderator": f.creator}[target]
			if victim == r.arn && target != "self" {
				continue // the same case as "self"
			}
			t.Run(r.name+"/removes "+target, func(t *testing.T) {
				ch := f.channel("UNRESTRICTED", "PUBLIC")
				_, memberErr := f.membership(ch, victim)
				_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
					ChimeBearer: aws.String(r.arn), MemberArn: aws.String(victim)})
				_, isMember := f.membership(ch, victim)
				switch {
				case victim != r.arn && !r.privileged:
					wantErr(t, err, "ForbiddenException")
					if (memberErr == nil) != (isMember == nil) {
						t.Errorf("a denied removal changed the membership")
					}
				case memberErr != nil:
					wantErr(t, err, "NotFoundException") // nothing to remove
				default:
					noErr(t, err)
					wantErr(t, isMember, "NotFoundException")
				}
			})
		}
	}
	t.Run("leaving twice", func(t *testing.T) {
		ch := f.channel("RESTRICTED", "PRIVATE")
		in := &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.memberBot), MemberArn: aws.String(f.memberBot)}
		out, err := e.Msg.DeleteChannelMembership(e.ctx, in)
		noErr(t, err)
		if s := httpStatus(out.ResultMetadata); s != http.StatusNoContent {
			t.Errorf("status %d, want 204", s)
		}
		_, err = e.Msg.DeleteChannelMembership(e.ctx, in)
		wantErr(t, err, "NotFoundException")
		// A moderator who leaves stays a moderator.
		_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.creator), MemberArn: aws.String(f.creator)})
		noErr(t, err)
		if got := listModeratorArns(t, e, ch, f.creator); !slices.Contains(got, f.creator) {
			t.Errorf("the creator lost moderation by leaving: %v", got)
		}
	})
}

// TestChannelMembershipsForAppInstanceUser: a user lists and describes their
// own memberships, an AppInstanceAdmin anyone's, a non-admin nobody else's;
// HIDDEN memberships are included with Type HIDDEN (SEMANTICS.md §4).
func TestChannelMembershipsForAppInstanceUser(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("for-user")
	f := newRoleFixture(e, ai)
	pub := f.channel("UNRESTRICTED", "PUBLIC")
	priv := f.channel("RESTRICTED", "PRIVATE")
	_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(priv), ChimeBearer: aws.String(f.creator),
		Name: aws.String("secret"), Metadata: aws.String("m")})
	noErr(t, err)
	// f.hidden is HIDDEN in both channels; f.member DEFAULT in both.
	wantTypes := map[string]map[string]types.ChannelMembershipType{
		f.hidden: {pub: types.ChannelMembershipTypeHidden, priv: types.ChannelMembershipTypeHidden},
		f.member: {pub: types.ChannelMembershipTypeDefault, priv: types.ChannelMembershipTypeDefault},
	}
	for _, tc := range []struct {
		name, bearer, user string
		ok                 bool
	}{
		{"user for themself", f.member, f.member, true},
		{"user for themself, ARN omitted", f.member, "", true},
		{"hidden member for themself", f.hidden, f.hidden, true},
		{"admin for another user", f.admin, f.hidden, true},
		{"admin bot for another user", f.adminBot, f.member, true},
		{"member for another user", f.member, f.hidden, false},
		{"moderator for another user", f.mod, f.member, false},
		{"bot for another user", f.memberBot, f.member, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who := tc.user
			if who == "" {
				who = tc.bearer
			}
			var arg *string
			if tc.user != "" {
				arg = aws.String(tc.user)
			}
			list, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
				ChimeBearer: aws.String(tc.bearer), AppInstanceUserArn: arg})
			desc, derr := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
				ChimeBearer: aws.String(tc.bearer), AppInstanceUserArn: aws.String(who), ChannelArn: aws.String(priv)})
			if !tc.ok {
				wantErr(t, err, "ForbiddenException")
				wantErr(t, derr, "ForbiddenException")
				return
			}
			noErr(t, err)
			noErr(t, derr)
			var got []string
			for _, s := range list.ChannelMemberships {
				arn := aws.ToString(s.ChannelSummary.ChannelArn)
				got = append(got, arn)
				if s.AppInstanceUserMembershipSummary.Type != wantTypes[who][arn] {
					t.Errorf("%s in %s: type %s, want %s", who, arn, s.AppInstanceUserMembershipSummary.Type, wantTypes[who][arn])
				}
			}
			if !slices.Equal(got, []string{pub, priv}) || list.NextToken != nil {
				t.Errorf("channels %v (next %v), want %v", got, list.NextToken, []string{pub, priv})
			}
			s := desc.ChannelMembership
			cs := s.ChannelSummary
			if aws.ToString(cs.ChannelArn) != priv || aws.ToString(cs.Name) != "secret" || aws.ToString(cs.Metadata) != "m" ||
				cs.Mode != types.ChannelModeRestricted || cs.Privacy != types.ChannelPrivacyPrivate ||
				s.AppInstanceUserMembershipSummary.Type != wantTypes[who][priv] {
				t.Errorf("describe %+v %+v", cs, s.AppInstanceUserMembershipSummary)
			}
		})
	}
	t.Run("bot for itself", func(t *testing.T) {
		list, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
			ChimeBearer: aws.String(f.memberBot), AppInstanceUserArn: aws.String(f.memberBot)})
		noErr(t, err)
		if len(list.ChannelMemberships) != 2 {
			t.Errorf("bot lists %d channels, want 2", len(list.ChannelMemberships))
		}
	})
	t.Run("not a member", func(t *testing.T) {
		_, err := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
			ChimeBearer: aws.String(f.nonMember), AppInstanceUserArn: aws.String(f.nonMember), ChannelArn: aws.String(pub)})
		wantErr(t, err, "NotFoundException")
		list, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
			ChimeBearer: aws.String(f.nonMember)})
		noErr(t, err)
		if len(list.ChannelMemberships) != 0 || list.NextToken != nil {
			t.Errorf("non-member lists %+v", list.ChannelMemberships)
		}
		// A moderator that is not a member has no membership either.
		_, err = e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
			ChimeBearer: aws.String(f.mod), AppInstanceUserArn: aws.String(f.mod), ChannelArn: aws.String(pub)})
		wantErr(t, err, "NotFoundException")
	})
}

// TestMembership_SubChannelId: a SubChannelId on a membership operation of a
// channel that is not elastic is a 400 naming it (elastic channels:
// elastic_test.go).
func TestMembership_SubChannelId(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("sub"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	sub := aws.String("sub-1")
	b := aws.String(f.creator)
	for name, call := range map[string]func() error{
		"CreateChannelMembership": func() error {
			_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				MemberArn: aws.String(f.otherUser), Type: types.ChannelMembershipTypeDefault, SubChannelId: sub})
			return err
		},
		"BatchCreateChannelMembership": func() error {
			_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				MemberArns: []string{f.otherUser}, SubChannelId: sub})
			return err
		},
		"DescribeChannelMembership": func() error {
			_, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				MemberArn: aws.String(f.member), SubChannelId: sub})
			return err
		},
		"DeleteChannelMembership": func() error {
			_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch), ChimeBearer: b,
				MemberArn: aws.String(f.member), SubChannelId: sub})
			return err
		},
		"ListChannelMemberships": func() error {
			_, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: b, SubChannelId: sub})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			wantErr(t, err, "BadRequestException")
			if !strings.Contains(errMessage(err), "SubChannelId") {
				t.Errorf("message %q does not name SubChannelId", errMessage(err))
			}
		})
	}
	if got, want := listMemberArns(t, e, ch, f.creator, ""), byArn(f.creator, f.member, f.memberBot); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
}

// TestListChannelMemberships_Pagination: 120 members page 50/50/20 in creation
// order, the last page has no NextToken, the v2 paginator stops, and a token
// is bound to its channel and filters (rules D6-D8).
func TestListChannelMemberships_Pagination(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("paging")
	erin := e.user(ai, "erin")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	ch2 := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	want := []string{erin}
	for i := range 119 {
		want = append(want, e.user(ai, fmt.Sprintf("user-%03d@example.com", i)))
	}
	for _, part := range [][]string{want[1:101], want[101:]} {
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(erin), MemberArns: part})
		noErr(t, err)
		if len(out.Errors) != 0 {
			t.Fatalf("batch errors %+v", out.Errors)
		}
	}

	var got []string
	var sizes []int
	var tokens []*string
	p := chimesdkmessaging.NewListChannelMembershipsPaginator(e.Msg, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		noErr(t, err)
		sizes = append(sizes, len(out.ChannelMemberships))
		tokens = append(tokens, out.NextToken)
		for _, m := range out.ChannelMemberships {
			got = append(got, aws.ToString(m.Member.Arn))
		}
		if len(sizes) > 10 {
			t.Fatal("paginator does not terminate")
		}
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Fatalf("page sizes %v, want 50/50/20", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("members not in creation order:\n got %v\nwant %v", got, want)
	}
	if tokens[0] == nil || tokens[1] == nil || tokens[2] != nil {
		t.Errorf("NextTokens %v, want set/set/absent", tokens)
	}
	// The last page carries no NextToken key at all, not even an empty one.
	_, _, body := e.raw("GET", "/channels/"+url.PathEscape(ch)+"/memberships?next-token="+url.QueryEscape(*tokens[1]),
		map[string]string{"x-amz-chime-bearer": erin}, "")
	if strings.Contains(body, "NextToken") {
		t.Errorf("last page body mentions NextToken: %s", body[:min(len(body), 200)])
	}

	for _, tc := range []struct {
		name string
		in   chimesdkmessaging.ListChannelMembershipsInput
	}{
		{"token of another channel", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch2), NextToken: tokens[0]}},
		{"token of another type", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), NextToken: tokens[0], Type: types.ChannelMembershipTypeHidden}},
		{"forged token", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), NextToken: aws.String("eyJvIjoiTGlzdENoYW5uZWxNZW1iZXJzaGlwcyJ9")}},
		{"tampered token", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), NextToken: aws.String(tamper(*tokens[0]))}},
		// Base64 decoders skip line breaks: the token must be the one issued, character for character.
		{"token with a line break", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), NextToken: aws.String((*tokens[0])[:8] + "\n" + (*tokens[0])[8:])}},
		{"MaxResults 51", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), MaxResults: aws.Int32(51)}},
		{"MaxResults 0", chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), MaxResults: aws.Int32(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.ChimeBearer = aws.String(erin)
			_, err := e.Msg.ListChannelMemberships(e.ctx, &in)
			wantErr(t, err, "BadRequestException")
		})
	}
	// A token of the same listing works for another bearer allowed to list it.
	out, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(want[7]), NextToken: tokens[1]})
	noErr(t, err)
	if len(out.ChannelMemberships) != 20 || aws.ToString(out.ChannelMemberships[0].Member.Arn) != want[100] {
		t.Errorf("third page via another bearer: %d members", len(out.ChannelMemberships))
	}
}

// TestListChannelMembershipsForAppInstanceUser_Pagination: 110 channels page
// 50/50/10 in the order the user joined, and a token is bound to its user (D8).
func TestListChannelMembershipsForAppInstanceUser_Pagination(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("paging")
	erin := e.user(ai, "erin@example.com")
	owner := e.user(ai, "owner")
	boss := e.user(ai, "boss")
	e.admin(ai, boss)
	var want []string
	for i := range 110 {
		privacy := []types.ChannelPrivacy{types.ChannelPrivacyPublic, types.ChannelPrivacyPrivate}[i%2]
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(owner),
			Name: aws.String(fmt.Sprintf("c%03d", i)), ClientRequestToken: aws.String(token()), Privacy: privacy, MemberArns: []string{erin}})
		noErr(t, err)
		want = append(want, *out.ChannelArn)
	}
	for _, tc := range []struct{ name, bearer string }{{"self", erin}, {"admin", boss}} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var sizes []int
			var last *string
			p := chimesdkmessaging.NewListChannelMembershipsForAppInstanceUserPaginator(e.Msg, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
				ChimeBearer: aws.String(tc.bearer), AppInstanceUserArn: aws.String(erin)})
			for p.HasMorePages() {
				out, err := p.NextPage(e.ctx)
				noErr(t, err)
				sizes = append(sizes, len(out.ChannelMemberships))
				last = out.NextToken
				for _, m := range out.ChannelMemberships {
					got = append(got, aws.ToString(m.ChannelSummary.ChannelArn))
				}
				if len(sizes) > 10 {
					t.Fatal("paginator does not terminate")
				}
			}
			if !slices.Equal(sizes, []int{50, 50, 10}) || !slices.Equal(got, want) || last != nil {
				t.Errorf("page sizes %v (last token %v), order ok %v", sizes, last, slices.Equal(got, want))
			}
		})
	}
	first, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
		ChimeBearer: aws.String(erin), MaxResults: aws.Int32(50)})
	noErr(t, err)
	if first.NextToken == nil {
		t.Fatal("no NextToken after the first page")
	}
	// erin's token does not page owner's channels (D8).
	_, err = e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
		ChimeBearer: aws.String(boss), AppInstanceUserArn: aws.String(owner), NextToken: first.NextToken})
	wantErr(t, err, "BadRequestException")
	// Nor is a ListChannelMemberships token one for this operation.
	lcm, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(want[0]),
		ChimeBearer: aws.String(owner), MaxResults: aws.Int32(1)})
	noErr(t, err)
	_, err = e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
		ChimeBearer: aws.String(erin), NextToken: lcm.NextToken})
	wantErr(t, err, "BadRequestException")
	_, err = e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
		ChimeBearer: aws.String(erin), NextToken: aws.String("not a token")})
	wantErr(t, err, "BadRequestException")
}

// --- helpers shared by the channel, membership and concurrency tests ---

// roleFixture is one app instance with a bearer for every role of
// SEMANTICS.md §5, as a user and as a bot. Admins are admins everywhere; the
// other roles hold in each channel made by channel().
type roleFixture struct {
	e                       *env
	ai                      string
	creator                 string // member and moderator of every channel
	admin, adminBot         string // AppInstanceAdmins, not members
	mod, modBot             string // moderators (ModeratorArns), not members
	member, memberBot       string // DEFAULT members
	hidden                  string // a HIDDEN member
	nonMember, nonMemberBot string
	otherUser, otherBot     string // never in any channel: targets to add
}

func newRoleFixture(e *env, ai string) *roleFixture {
	e.t.Helper()
	f := &roleFixture{e: e, ai: ai,
		creator: e.user(ai, "creator"),
		admin:   e.user(ai, "admin"), adminBot: e.bot(ai, "admin-bot"),
		mod: e.user(ai, "mod"), modBot: e.bot(ai, "mod-bot"),
		member: e.user(ai, "member"), memberBot: e.bot(ai, "member-bot"),
		hidden:    e.user(ai, "hidden"),
		nonMember: e.user(ai, "outsider"), nonMemberBot: e.bot(ai, "outsider-bot"),
		otherUser: e.user(ai, "other"), otherBot: e.bot(ai, "other-bot"),
	}
	e.admin(ai, f.admin)
	e.admin(ai, f.adminBot)
	return f
}

// channel creates a fresh channel named "channel" with the fixture's roles in it.
func (f *roleFixture) channel(mode, privacy string) string {
	e := f.e
	e.t.Helper()
	out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(f.ai), ChimeBearer: aws.String(f.creator),
		Name: aws.String("channel"), ClientRequestToken: aws.String(token()), Mode: types.ChannelMode(mode), Privacy: types.ChannelPrivacy(privacy),
		MemberArns: []string{f.member, f.memberBot}, ModeratorArns: []string{f.mod, f.modBot}})
	if err != nil {
		e.t.Fatalf("CreateChannel: %v", err)
	}
	if _, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: out.ChannelArn,
		ChimeBearer: aws.String(f.creator), MemberArn: aws.String(f.hidden), Type: types.ChannelMembershipTypeHidden}); err != nil {
		e.t.Fatalf("CreateChannelMembership HIDDEN: %v", err)
	}
	return *out.ChannelArn
}

// membership describes member's membership of ch as the channel's creator.
func (f *roleFixture) membership(ch, member string) (types.ChannelMembership, error) {
	out, err := f.e.Msg.DescribeChannelMembership(f.e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(f.creator), MemberArn: aws.String(member)})
	if err != nil {
		return types.ChannelMembership{}, err
	}
	return *out.ChannelMembership, nil
}

// fixtureRole is a bearer of the fixture with what it is in channel()'s channels.
type fixtureRole struct {
	name       string
	arn        string
	privileged bool // moderator or admin
	nonMember  bool // no membership, no moderation, not admin
}

func (f *roleFixture) roles() []fixtureRole {
	return []fixtureRole{
		{"creator", f.creator, true, false},
		{"admin", f.admin, true, false},
		{"admin bot", f.adminBot, true, false},
		{"moderator", f.mod, true, false},
		{"moderator bot", f.modBot, true, false},
		{"member", f.member, false, false},
		{"member bot", f.memberBot, false, false},
		{"hidden member", f.hidden, false, false},
		{"non-member", f.nonMember, false, true},
		{"non-member bot", f.nonMemberBot, false, true},
	}
}

// listMemberArns lists every member of ch of type typ ("" for the default) through the paginator.
// byArn is arns in ARN order: how memberships or moderators created at one
// instant (by one CreateChannel or one batch) are listed (rule D7's ties).
func byArn(arns ...string) []string {
	return slices.Sorted(slices.Values(arns))
}

func listMemberArns(t *testing.T, e *env, ch, bearer, typ string) []string {
	t.Helper()
	var arns []string
	p := chimesdkmessaging.NewListChannelMembershipsPaginator(e.Msg, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(bearer), Type: types.ChannelMembershipType(typ)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("ListChannelMemberships: %v", err)
		}
		for _, m := range out.ChannelMemberships {
			arns = append(arns, aws.ToString(m.Member.Arn))
		}
	}
	return arns
}

// listModeratorArns lists every moderator of ch.
func listModeratorArns(t *testing.T, e *env, ch, bearer string) []string {
	t.Helper()
	var arns []string
	p := chimesdkmessaging.NewListChannelModeratorsPaginator(e.Msg, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(bearer)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("ListChannelModerators: %v", err)
		}
		for _, m := range out.ChannelModerators {
			arns = append(arns, aws.ToString(m.Moderator.Arn))
		}
	}
	return arns
}

// listChannelArns lists every channel of ai with the given privacy ("" for the default).
func listChannelArns(t *testing.T, e *env, ai, bearer, privacy string) []string {
	t.Helper()
	var arns []string
	p := chimesdkmessaging.NewListChannelsPaginator(e.Msg, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai),
		ChimeBearer: aws.String(bearer), Privacy: types.ChannelPrivacy(privacy)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("ListChannels: %v", err)
		}
		for _, c := range out.Channels {
			arns = append(arns, aws.ToString(c.ChannelArn))
		}
	}
	return arns
}

// wantBatchErrors checks a batch's Errors: exactly the given ARNs, each with
// its ErrorCode and a message.
func wantBatchErrors(t *testing.T, errs []types.BatchCreateChannelMembershipError, want map[string]types.ErrorCode) {
	t.Helper()
	got := map[string]types.ErrorCode{}
	for _, be := range errs {
		got[aws.ToString(be.MemberArn)] = be.ErrorCode
		if aws.ToString(be.ErrorMessage) == "" {
			t.Errorf("Errors entry for %s has no message", aws.ToString(be.MemberArn))
		}
	}
	if len(errs) != len(want) || len(got) != len(want) {
		t.Errorf("Errors %+v, want %v", errs, want)
		return
	}
	for arn, code := range want {
		if got[arn] != code {
			t.Errorf("Errors entry for %s: %q, want %q", arn, got[arn], code)
		}
	}
}

// wantMessage fails unless err is an API error with exactly this message.
func wantMessage(t *testing.T, err error, msg string) {
	t.Helper()
	if got := errMessage(err); got != msg {
		t.Errorf("message %q, want %q", got, msg)
	}
}

func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func identityArns(ids []types.Identity) []string {
	var out []string
	for _, id := range ids {
		out = append(out, aws.ToString(id.Arn))
	}
	return out
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// tamper changes one character in the middle of a token, keeping it
// base64url; the last character is left alone, as it may carry only
// padding bits that a decoder ignores.
func tamper(s string) string {
	i := len(s) / 2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// withoutInputValidation turns off aws-sdk-go-v2's own check of required
// members, so that the client sends what the JS SDK v3 (which has none)
// sends.
func withoutInputValidation(o *chimesdkmessaging.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Initialize.Remove("OperationInputValidation")
		return err
	})
}

// TestCreateChannelMembershipWithoutType_S1: a CreateChannelMembership
// without Type adds a DEFAULT member (SEMANTICS.md §1: the server tolerates
// the missing Type the Developer Guide's own example leaves out).
func TestCreateChannelMembershipWithoutType_S1(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("a")
	erin, bob := e.user(ai, "erin"), e.user(ai, "bob")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	out, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(bob), ChimeBearer: aws.String(erin)}, withoutInputValidation)
	noErr(t, err)
	if aws.ToString(out.Member.Arn) != bob {
		t.Fatalf("CreateChannelMembership without Type = %+v", out.Member)
	}
	d, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(bob), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if d.ChannelMembership.Type != types.ChannelMembershipTypeDefault {
		t.Errorf("membership Type = %q, want DEFAULT", d.ChannelMembership.Type)
	}
	// The other required members are still required.
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(erin)}, withoutInputValidation)
	wantErr(t, err, "BadRequestException")
}
