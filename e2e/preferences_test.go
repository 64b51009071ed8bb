package e2e

// Channel membership preferences (SEMANTICS.md §5 "Preferences", the
// GetChannelMembershipPreferences and PutChannelMembershipPreferences
// docs of the model) with the real aws-sdk-go-v2 client: only the member
// itself gets and puts them, they last, and they go with the membership.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

func (e *env) getPreferences(ch, member, bearer string) (*chimesdkmessaging.GetChannelMembershipPreferencesOutput, error) {
	return e.Msg.GetChannelMembershipPreferences(e.ctx, &chimesdkmessaging.GetChannelMembershipPreferencesInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(member), ChimeBearer: aws.String(bearer)})
}

func (e *env) putPreferences(ch, member, bearer string, p *types.ChannelMembershipPreferences) (*chimesdkmessaging.PutChannelMembershipPreferencesOutput, error) {
	return e.Msg.PutChannelMembershipPreferences(e.ctx, &chimesdkmessaging.PutChannelMembershipPreferencesInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(member), ChimeBearer: aws.String(bearer), Preferences: p})
}

func push(allow types.AllowNotifications, rule string) *types.ChannelMembershipPreferences {
	return &types.ChannelMembershipPreferences{PushNotifications: &types.PushNotificationPreferences{AllowNotifications: allow, FilterRule: optional(rule)}}
}

// prefText is a ChannelMembershipPreferences as the tests compare it.
func prefText(p *types.ChannelMembershipPreferences) string {
	switch {
	case p == nil:
		return "none"
	case p.PushNotifications == nil:
		return "{}"
	}
	return string(p.PushNotifications.AllowNotifications) + " " + aws.ToString(p.PushNotifications.FilterRule)
}

// TestChannelMembershipPreferences: a member (user or bot, DEFAULT or
// HIDDEN) gets its preferences, none until it puts some; Put answers what
// it stored and replaces the preferences whole (ALL, NONE, FILTERED with or
// without a FilterRule, or no PushNotifications at all); they belong to one
// membership, survive a restart, and are deleted with the membership, so a
// member who leaves and joins again has none.
func TestChannelMembershipPreferences(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("prefs"))
	ch := f.channel("RESTRICTED", "PRIVATE")
	other := f.channel("UNRESTRICTED", "PUBLIC")

	for _, m := range []string{f.member, f.memberBot, f.hidden, f.creator} {
		out, err := e.getPreferences(ch, m, m)
		noErr(t, err)
		if aws.ToString(out.ChannelArn) != ch || aws.ToString(out.Member.Arn) != m || aws.ToString(out.Member.Name) == "" || out.Preferences != nil {
			t.Errorf("Get before any Put, as %s: ChannelArn %q Member %+v Preferences %s", m, aws.ToString(out.ChannelArn), out.Member, prefText(out.Preferences))
		}
	}
	// Never put: the body has no Preferences at all.
	status, _, body := e.raw("GET", "/channels/"+pathEsc(ch)+"/memberships/"+pathEsc(f.member)+"/preferences",
		map[string]string{"x-amz-chime-bearer": f.member}, "")
	var raw map[string]json.RawMessage
	if status != 200 || json.Unmarshal([]byte(body), &raw) != nil {
		t.Fatalf("raw Get: %d %s", status, body)
	}
	if _, ok := raw["Preferences"]; ok {
		t.Errorf("raw Get before any Put: body %s has Preferences", body)
	}

	rule := `{"mention":["member"],"type":[{"anything-but":["Room"]}]}`
	for _, p := range []*types.ChannelMembershipPreferences{
		push(types.AllowNotificationsAll, ""),
		push(types.AllowNotificationsFiltered, rule),
		push(types.AllowNotificationsFiltered, ""), // FilterRule is optional, even with FILTERED (model and API reference)
		push(types.AllowNotificationsNone, rule),
		{}, // no PushNotifications
		push(types.AllowNotificationsNone, ""),
	} {
		put, err := e.putPreferences(ch, f.member, f.member, p)
		noErr(t, err)
		if aws.ToString(put.ChannelArn) != ch || aws.ToString(put.Member.Arn) != f.member || prefText(put.Preferences) != prefText(p) {
			t.Errorf("Put %s answered ChannelArn %q Member %+v Preferences %s", prefText(p), aws.ToString(put.ChannelArn), put.Member, prefText(put.Preferences))
		}
		got, err := e.getPreferences(ch, f.member, f.member)
		noErr(t, err)
		if prefText(got.Preferences) != prefText(p) {
			t.Errorf("Get after Put %s: %s", prefText(p), prefText(got.Preferences))
		}
	}
	// A bot and a HIDDEN member set their own.
	for _, m := range []string{f.memberBot, f.hidden} {
		_, err := e.putPreferences(ch, m, m, push(types.AllowNotificationsFiltered, rule))
		noErr(t, err)
	}
	// Each membership has its own: the member's other channel has none.
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(other),
		MemberArn: aws.String(f.otherUser), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.otherUser)})
	noErr(t, err)
	if got, err := e.getPreferences(other, f.member, f.member); err != nil || got.Preferences != nil {
		t.Errorf("the member's preferences in another channel: %v %s, want none", err, prefText(got.Preferences))
	}

	e.restart()
	want := map[string]string{f.member: "NONE ", f.memberBot: "FILTERED " + rule, f.hidden: "FILTERED " + rule, f.creator: "none"}
	for m, w := range want {
		got, err := e.getPreferences(ch, m, m)
		noErr(t, err)
		if prefText(got.Preferences) != w {
			t.Errorf("after a restart, %s: %s, want %s", m, prefText(got.Preferences), w)
		}
	}

	// Deleted with the membership: leave (or be removed) and join again.
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(f.member), ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(f.memberBot), ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	for _, m := range []string{f.member, f.memberBot} {
		_, err = e.getPreferences(ch, m, m)
		wantErr(t, err, "ForbiddenException") // a non-member of a PRIVATE channel, as DescribeChannelMembership answers
		_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArn: aws.String(m), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.mod)})
		noErr(t, err)
		got, err := e.getPreferences(ch, m, m)
		noErr(t, err)
		if got.Preferences != nil {
			t.Errorf("%s joined again: preferences %s, want none", m, prefText(got.Preferences))
		}
	}
	// Gone with the channel.
	_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.creator)})
	noErr(t, err)
	_, err = e.getPreferences(ch, f.hidden, f.hidden)
	wantErr(t, err, "NotFoundException")
}

// TestChannelMembershipPreferences_Rules: nobody gets or puts another's
// preferences, not an AppInstanceAdmin, a moderator, the channel's creator
// or another member (403); a banned user cannot (403); a non-member is
// answered as DescribeChannelMembership answers it (403 in a PRIVATE
// channel, 404 in a PUBLIC one); an unknown channel is a 404 and a bad
// bearer a 401. Nothing a refused Put carried is stored.
func TestChannelMembershipPreferences_Rules(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("prefs"))
	private := f.channel("RESTRICTED", "PRIVATE")
	public := f.channel("UNRESTRICTED", "PUBLIC")
	p := push(types.AllowNotificationsNone, "")

	for _, ch := range []string{private, public} {
		for _, bearer := range []string{f.admin, f.adminBot, f.mod, f.modBot, f.creator, f.memberBot, f.hidden, f.nonMember} {
			_, err := e.getPreferences(ch, f.member, bearer)
			wantErr(t, err, "ForbiddenException")
			_, err = e.putPreferences(ch, f.member, bearer, p)
			wantErr(t, err, "ForbiddenException")
		}
		got, err := e.getPreferences(ch, f.member, f.member)
		noErr(t, err)
		if got.Preferences != nil {
			t.Errorf("refused Puts stored %s", prefText(got.Preferences))
		}
		// Non-members asking for their own are answered as DescribeChannelMembership
		// answers them: admins and moderators (who may read the channel) 404, others 403
		// in a PRIVATE channel and 404 in a PUBLIC one.
		for _, c := range []struct{ bearer, private, public string }{
			{f.admin, "NotFoundException", "NotFoundException"},
			{f.mod, "NotFoundException", "NotFoundException"},
			{f.nonMember, "ForbiddenException", "NotFoundException"},
			{f.nonMemberBot, "ForbiddenException", "NotFoundException"},
		} {
			want := map[string]string{private: c.private, public: c.public}[ch]
			_, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
				MemberArn: aws.String(c.bearer), ChimeBearer: aws.String(c.bearer)})
			wantErr(t, err, want)
			_, err = e.getPreferences(ch, c.bearer, c.bearer)
			wantErr(t, err, want)
			_, err = e.putPreferences(ch, c.bearer, c.bearer, p)
			wantErr(t, err, want)
		}
	}

	// A banned user (the ban removed its membership and its preferences).
	_, err := e.putPreferences(public, f.member, f.member, p)
	noErr(t, err)
	_, err = e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(public), MemberArn: aws.String(f.member),
		ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	_, err = e.getPreferences(public, f.member, f.member)
	wantErr(t, err, "ForbiddenException")
	_, err = e.putPreferences(public, f.member, f.member, p)
	wantErr(t, err, "ForbiddenException")
	_, err = e.Msg.DeleteChannelBan(e.ctx, &chimesdkmessaging.DeleteChannelBanInput{ChannelArn: aws.String(public), MemberArn: aws.String(f.member),
		ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(public),
		MemberArn: aws.String(f.member), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	if got, err := e.getPreferences(public, f.member, f.member); err != nil || got.Preferences != nil {
		t.Errorf("after the ban was lifted and the member joined again: %v %s, want none", err, prefText(got.Preferences))
	}

	// An unknown channel; a bearer that is no user; a user of another app instance.
	_, err = e.getPreferences(f.ai+"/channel/nope", f.member, f.member)
	wantErr(t, err, "NotFoundException")
	_, err = e.putPreferences(f.ai+"/channel/nope", f.member, f.member, p)
	wantErr(t, err, "NotFoundException")
	_, err = e.getPreferences(public, f.ai+"/user/ghost", f.ai+"/user/ghost")
	wantErr(t, err, "UnauthorizedClientException")
	stranger := e.user(e.appInstance("other"), "stranger")
	_, err = e.putPreferences(public, stranger, stranger, p)
	wantErr(t, err, "UnauthorizedClientException")
	// A deleted user's preferences go with it: created again under the same
	// id, and added again, it has none.
	_, err = e.putPreferences(private, f.hidden, f.hidden, p)
	noErr(t, err)
	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(f.hidden)})
	noErr(t, err)
	_, err = e.getPreferences(private, f.hidden, f.hidden)
	wantErr(t, err, "UnauthorizedClientException")
	if again := e.user(f.ai, "hidden"); again != f.hidden {
		t.Fatalf("the user created again is %s, not %s", again, f.hidden)
	}
	_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(private),
		MemberArn: aws.String(f.hidden), Type: types.ChannelMembershipTypeHidden, ChimeBearer: aws.String(f.mod)})
	noErr(t, err)
	if got, err := e.getPreferences(private, f.hidden, f.hidden); err != nil || got.Preferences != nil {
		t.Errorf("the user created and added again: %v %s, want none", err, prefText(got.Preferences))
	}
}

// TestChannelMembershipPreferences_BadInput: bad preferences are a 400
// naming the field, checked by the server whatever the client checks:
// Preferences is required, AllowNotifications is required and one of ALL,
// NONE, FILTERED, a FilterRule is not empty and is a JSON object of at most
// 2 KB of exact string matches, at most 5 OR constraints and complexity 20
// (AWS developer guide, "Using filter rules to filter messages").
func TestChannelMembershipPreferences_BadInput(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("prefs"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	path := "/channels/" + pathEsc(ch) + "/memberships/" + pathEsc(f.member) + "/preferences"
	h := map[string]string{"x-amz-chime-bearer": f.member, "Content-Type": "application/json"}
	for _, c := range []struct{ name, body, field string }{
		{"no body", ``, "Preferences"},
		{"no Preferences", `{}`, "Preferences"},
		{"Preferences not an object", `{"Preferences":"ALL"}`, "Preferences"},
		{"no AllowNotifications", `{"Preferences":{"PushNotifications":{"FilterRule":"{}"}}}`, "Preferences.PushNotifications.AllowNotifications"},
		{"AllowNotifications enum", `{"Preferences":{"PushNotifications":{"AllowNotifications":"SOME"}}}`, "Preferences.PushNotifications.AllowNotifications"},
		{"empty FilterRule", `{"Preferences":{"PushNotifications":{"AllowNotifications":"FILTERED","FilterRule":""}}}`, "Preferences.PushNotifications.FilterRule"},
	} {
		status, hdr, body := e.raw("PUT", path, h, c.body)
		msg := wantWireError(t, c.name, status, hdr, body, 400, "BadRequestException", "BadRequest")
		if !strings.Contains(msg, "'"+c.field+"'") {
			t.Errorf("%s: message %q does not name %s", c.name, msg, c.field)
		}
	}
	// Through the SDK, which checks neither enums nor what a FilterRule holds.
	long := `{"mention":["` + strings.Repeat("x", 2048) + `"]}`
	const filterRule = "'Preferences.PushNotifications.FilterRule'"
	for _, c := range []struct {
		name  string
		p     *types.ChannelMembershipPreferences
		field string
	}{
		{"AllowNotifications enum", push("SOME", ""), "'Preferences.PushNotifications.AllowNotifications'"},
		{"FilterRule not JSON", push(types.AllowNotificationsFiltered, "mention=member"), filterRule},
		{"FilterRule a JSON array", push(types.AllowNotificationsFiltered, `[{"mention":["member"]}]`), filterRule},
		{"FilterRule JSON null", push(types.AllowNotificationsFiltered, `null`), filterRule},
		{"FilterRule over 2 KB", push(types.AllowNotificationsFiltered, long), filterRule},
		// The guide's limits: exact string matching only, 5 OR constraints, complexity 20.
		{"FilterRule scalar value", push(types.AllowNotificationsFiltered, `{"type":"Room"}`), filterRule},
		{"FilterRule prefix match", push(types.AllowNotificationsFiltered, `{"type":[{"prefix":"Ro"}]}`), filterRule},
		{"FilterRule numeric value", push(types.AllowNotificationsFiltered, `{"type":[5]}`), filterRule},
		{"FilterRule 6 OR constraints", push(types.AllowNotificationsFiltered,
			`{"$or":[{"a":["1"]},{"b":["1"]},{"c":["1"]},{"d":["1"]},{"e":["1"]},{"f":["1"]}]}`), filterRule},
		{"FilterRule complexity 22", push(types.AllowNotificationsFiltered,
			`{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"],"g":["1"],"h":["1"],"i":["1"],"j":["1"],"k":["1"]}`), filterRule},
	} {
		_, err := e.putPreferences(ch, f.member, f.member, c.p)
		wantErr(t, err, "BadRequestException")
		if !strings.Contains(errMessage(err), c.field) {
			t.Errorf("%s: message %q does not name %s", c.name, errMessage(err), c.field)
		}
	}
	if got, err := e.getPreferences(ch, f.member, f.member); err != nil || got.Preferences != nil {
		t.Errorf("after refused Puts: %v %s, want none", err, prefText(got.Preferences))
	}
	// The guide's examples, and its limits exactly, are accepted.
	for _, rule := range []string{
		`{"type":[{"anything-but":["USER_ARN"]}]}`, `{"mention":["Bob"]}`, `{"type":[{"anything-but":["Room"]}],"mention":["Bob"]}`,
		`{"$or":[{"a":["1"]},{"b":["1"]},{"c":["1"]},{"d":["1"]},{"e":["1"]}]}`,
		`{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"],"g":["1"],"h":["1"],"i":["1"],"j":["1"]}`,
	} {
		_, err := e.putPreferences(ch, f.member, f.member, push(types.AllowNotificationsFiltered, rule))
		noErr(t, err)
	}
	// 2 KB exactly is accepted.
	exact := `{"mention":["` + strings.Repeat("x", 2048-len(`{"mention":[""]}`)) + `"]}`
	_, err := e.putPreferences(ch, f.member, f.member, push(types.AllowNotificationsFiltered, exact))
	noErr(t, err)
}

// TestChannelMembershipPreferences_EmptyLists: a FilterRule with an empty
// list, as an attribute's values or as the strings of "anything-but", is a
// 400 naming the attribute (SNS filter policies refuse empty arrays: "Empty
// arrays are not allowed"; Event Ruler refuses an empty anything-but list),
// in the rule and in a "$or" object alike; nothing is stored.
func TestChannelMembershipPreferences_EmptyLists(t *testing.T) {
	e := newEnv(t)
	f := newRoleFixture(e, e.appInstance("prefs"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	for _, c := range []struct{ name, rule, attribute string }{
		{"anything-but empty", `{"type":[{"anything-but":[]}]}`, "type"},
		{"anything-but empty beside a good key", `{"mention":["Bob"],"type":[{"anything-but":[]}]}`, "type"},
		{"anything-but empty in $or", `{"$or":[{"mention":["Bob"]},{"type":[{"anything-but":[]}]}]}`, "type"},
		{"values empty", `{"mention":[]}`, "mention"},
		{"values empty in $or", `{"$or":[{"type":["Room"]},{"mention":[]}]}`, "mention"},
	} {
		_, err := e.putPreferences(ch, f.member, f.member, push(types.AllowNotificationsFiltered, c.rule))
		if errorCode(err) != "BadRequestException" || errStatus(err) != 400 {
			t.Errorf("%s: %v, want a 400 BadRequestException", c.name, err)
			continue
		}
		if msg := errMessage(err); !strings.Contains(msg, "'Preferences.PushNotifications.FilterRule'") || !strings.Contains(msg, `"`+c.attribute+`"`) {
			t.Errorf("%s: message %q does not name the FilterRule and attribute %q", c.name, msg, c.attribute)
		}
	}
	if got, err := e.getPreferences(ch, f.member, f.member); err != nil || got.Preferences != nil {
		t.Errorf("after refused Puts: %v %s, want none", err, prefText(got.Preferences))
	}
}
