package e2e

// The messaging session (SEMANTICS.md §10) against a real server: the
// handshake, the close codes, every event type the server emits with exactly
// its recipients, prefetch, the per-user limit, slow consumers, pings and
// shutdown. Clients connect with URLs presigned as amazon-chime-sdk-js signs
// them; e2e/js runs the real MessagingSession (js_test.go).

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/coder/websocket"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/session"
)

// isoMillis is rule D13's WebSocket timestamp: ISO-8601, milliseconds, Z.
var isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestGetMessagingSessionEndpoint_BareHost: the endpoint is a bare host:port
// (SEMANTICS.md TOP 10 #4), and a session connects at ws://<Url>/connect.
func TestGetMessagingSessionEndpoint_BareHost(t *testing.T) {
	e := newEnv(t)
	out, err := e.Msg.GetMessagingSessionEndpoint(e.ctx, &chimesdkmessaging.GetMessagingSessionEndpointInput{})
	noErr(t, err)
	got := aws.ToString(out.Endpoint.Url)
	if want := strings.TrimPrefix(e.URL, "http://"); got != want {
		t.Fatalf("Endpoint.Url = %q, want the bare host:port %q", got, want)
	}
	// network-type (newer than this SDK) is accepted and validated.
	if code, _, body := e.raw("GET", "/endpoints/messaging-session?network-type=DUAL_STACK", nil, ""); code != 200 || !strings.Contains(body, `"Url":"`+got+`"`) {
		t.Fatalf("network-type=DUAL_STACK: %d %s", code, body)
	}
	if code, _, _ := e.raw("GET", "/endpoints/messaging-session?network-type=IPV5", nil, ""); code != 400 {
		t.Fatalf("network-type=IPV5: %d, want 400", code)
	}
	ai := e.appInstance("endpoint")
	u := e.user(ai, "u")
	c := e.dial(strings.Replace(e.presignedURL(u, time.Now().UTC(), nil), strings.TrimPrefix(e.URL, "http://"), got, 1))
	if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
		t.Fatalf("first frame %s", f.Raw)
	}
}

// TestSessionEstablished_Frame: after the upgrade the server sends
// SESSION_ESTABLISHED, a Headers-only frame with message type SYSTEM and no
// Payload (SEMANTICS.md TOP 10 #5); users and bots can connect.
func TestSessionEstablished_Frame(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("established")
	for _, arn := range []string{e.user(ai, "u"), e.bot(ai, "b")} {
		c := e.dial(e.presignedURL(arn, time.Now().UTC(), nil))
		f := c.next()
		if want := `{"Headers":{"x-amz-chime-event-type":"SESSION_ESTABLISHED","x-amz-chime-message-type":"SYSTEM"}}`; f.Raw != want {
			t.Fatalf("%s: first frame %s, want %s", arn, f.Raw, want)
		}
		if e.Ses.Sessions(arn) != 1 {
			t.Fatalf("%s: server counts %d sessions, want 1", arn, e.Ses.Sessions(arn))
		}
	}
	// Without X-Amz-* the open mode accepts the URL as it accepts unsigned
	// REST calls: ws tools can connect with just userArn.
	u := e.user(ai, "tool")
	wsURL := strings.Replace(e.URL, "http", "ws", 1) + "/connect?userArn=" + url.QueryEscape(u)
	if f := e.dial(wsURL).next(); f.Type() != "SESSION_ESTABLISHED" {
		t.Fatalf("unsigned URL: first frame %s", f.Raw)
	}
}

// TestSessionCloseCodes: the server accepts the upgrade, then closes with
// 4401 (SEMANTICS.md §10; the SDK does not reconnect on it) when the URL is
// outside its validity window or userArn is not an existing user or bot.
func TestSessionCloseCodes(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("codes")
	u := e.user(ai, "u")
	gone := e.user(ai, "gone")
	_, err := e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(gone)})
	noErr(t, err)
	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		url  string
		code websocket.StatusCode
	}{
		{"unknown user", e.presignedURL(ai+"/user/nobody", now, nil), session.CloseUnauthorized},
		// No store can hold U+0000 in a user ARN (PostgreSQL cannot even look it up).
		{"user ARN with U+0000", e.presignedURL(ai+"/user/no\x00body", now, nil), session.CloseUnauthorized},
		{"deleted user", e.presignedURL(gone, now, nil), session.CloseUnauthorized},
		{"no userArn", e.presignedURL("", now, nil), session.CloseUnauthorized},
		{"not an ARN", e.presignedURL("bob", now, nil), session.CloseUnauthorized},
		{"app instance is not a user", e.presignedURL(ai, now, nil), session.CloseUnauthorized},
		{"expired URL", e.presignedURL(u, now.Add(-time.Hour), nil), session.CloseUnauthorized},
		{"URL from the future", e.presignedURL(u, now.Add(time.Hour), nil), session.CloseUnauthorized},
		{"malformed X-Amz-Date", strings.Replace(e.presignedURL(u, now, nil), "X-Amz-Date=", "X-Amz-Date=yesterday", 1), session.CloseUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.dial(tc.url).wantClose(tc.code)
		})
	}
	// The window allows for clock skew: signed two minutes ago with
	// X-Amz-Expires=10 is still accepted.
	c := e.dial(e.presignedURL(u, now.Add(-2*time.Minute), nil))
	if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
		t.Fatalf("URL within the skew allowance: %s", f.Raw)
	}
}

// TestSessionPerUserLimit: at most 10 concurrent sessions per user
// (SEMANTICS.md §9); the 11th is closed with 4429, which the SDK retries
// with backoff. Other users are unaffected, and a slot frees when a session
// ends.
func TestSessionPerUserLimit(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("limit")
	u, v := e.user(ai, "u"), e.user(ai, "v")
	var open []*wsClient
	for i := 0; i < 10; i++ {
		open = append(open, e.connect(u))
	}
	e.dial(e.presignedURL(u, time.Now().UTC(), nil)).wantClose(session.CloseTooManySessions)
	e.connect(v)
	open[0].conn.Close(websocket.StatusNormalClosure, "")
	eventually(t, patience, func() error {
		if n := e.Ses.Sessions(u); n != 9 {
			return fmt.Errorf("%d sessions", n)
		}
		return nil
	})
	e.connect(u)
}

// TestSessionPerUserLimit_Configurable: the limit is a setting.
func TestSessionPerUserLimit_Configurable(t *testing.T) {
	e := newEnvWithSessions(t, session.Config{MaxSessionsPerUser: 2})
	ai := e.appInstance("limit")
	u := e.user(ai, "u")
	e.connect(u)
	e.connect(u)
	e.dial(e.presignedURL(u, time.Now().UTC(), nil)).wantClose(session.CloseTooManySessions)
}

// eventFixture is a channel with every role of SEMANTICS.md §5 and a
// connected session for each user.
type eventFixture struct {
	e       *env
	ai      string
	ch      string
	arn     map[string]string    // name -> ARN
	clients map[string]*wsClient // name -> session
	bar     *barrier
}

// newEventFixture: alice creates ch (member and moderator); bob and the bot
// are members; carol is not; adminIn is an AppInstanceAdmin and a member,
// adminOut an admin who never joined; modIn a moderator who joined, modOut
// one who did not; hidden a HIDDEN member. dave, erin, frank, gina and henry
// are not members yet.
func newEventFixture(t *testing.T, e *env, names ...string) *eventFixture {
	t.Helper()
	f := &eventFixture{e: e, ai: e.appInstance("events"), arn: map[string]string{}, clients: map[string]*wsClient{}}
	for _, n := range []string{"alice", "bob", "carol", "adminIn", "adminOut", "modIn", "modOut", "hidden", "dave", "erin", "frank", "gina", "henry"} {
		f.arn[n] = e.user(f.ai, n)
	}
	f.arn["bot"] = e.bot(f.ai, "bot")
	e.admin(f.ai, f.arn["adminIn"])
	e.admin(f.ai, f.arn["adminOut"])
	f.ch = e.channel(f.ai, f.arn["alice"], "UNRESTRICTED", "PRIVATE")
	f.add("bob", "DEFAULT")
	f.add("bot", "DEFAULT")
	f.add("adminIn", "DEFAULT")
	f.add("modIn", "DEFAULT")
	f.add("hidden", "HIDDEN")
	for _, n := range []string{"modIn", "modOut"} {
		_, err := e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(f.ch),
			ChannelModeratorArn: aws.String(f.arn[n]), ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
	}
	var users []string
	var clients []*wsClient
	for _, n := range sortedNames(f.arn) {
		f.clients[n] = e.connect(f.arn[n])
		f.clients[n].user = n
		users = append(users, f.arn[n])
		clients = append(clients, f.clients[n])
	}
	f.bar = e.newBarrier(f.ai, users, clients...)
	return f
}

func sortedNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *eventFixture) add(name, typ string) {
	f.e.t.Helper()
	_, err := f.e.Msg.CreateChannelMembership(f.e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
		MemberArn: aws.String(f.arn[name]), Type: types.ChannelMembershipType(typ), ChimeBearer: aws.String(f.arn["alice"])})
	noErr(f.e.t, err)
}

// expect syncs every session and fails unless exactly the named users got
// exactly one frame, of type typ, and nobody got anything else. It returns
// the frame as one recipient got it.
func (f *eventFixture) expect(t *testing.T, typ string, recipients ...string) wsFrame {
	t.Helper()
	want := map[string]bool{}
	for _, r := range recipients {
		want[r] = true
	}
	var clients []*wsClient
	for _, n := range sortedNames(f.arn) {
		clients = append(clients, f.clients[n])
	}
	got := f.bar.sync(clients...)
	var sample wsFrame
	for _, n := range sortedNames(f.arn) {
		frames := got[f.clients[n]]
		var types []string
		for _, fr := range frames {
			types = append(types, fr.Type())
		}
		switch {
		case want[n] && (len(frames) != 1 || frames[0].Type() != typ):
			t.Errorf("%s should get one %s, got %v", n, typ, types)
		case !want[n] && len(frames) != 0:
			t.Errorf("%s should get nothing, got %v", n, types)
		case want[n]:
			sample = frames[0]
			if sample.Payload == nil {
				t.Errorf("%s: %s has no Payload", n, typ)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return sample
}

// wantISO checks that each named field of a payload is a D13 timestamp.
func wantISO(t *testing.T, p map[string]any, fields ...string) {
	t.Helper()
	for _, k := range fields {
		s, ok := p[k].(string)
		if !ok || !isoMillis.MatchString(s) {
			t.Errorf("%s = %#v, want an ISO-8601 timestamp with milliseconds and Z (rule D13)", k, p[k])
		}
	}
}

// members are the fixture's channel members of every type: the recipients
// of channel-wide events ("An AppInstanceUser always receives messages for
// all channels that they belong to"; admins and moderators only as members).
var fixtureMembers = []string{"alice", "bob", "bot", "adminIn", "modIn", "hidden"}

func with(names []string, more ...string) []string {
	return append(append([]string{}, names...), more...)
}

// TestSessionEvents_Channel: UPDATE_CHANNEL and DELETE_CHANNEL go to the
// channel's members only, not to admins or moderators who are not members
// (SEMANTICS.md §10, "Who receives what").
func TestSessionEvents_Channel(t *testing.T) {
	e := newEnv(t)
	f := newEventFixture(t, e)
	_, err := e.Msg.PutChannelExpirationSettings(e.ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(f.ch),
		ChimeBearer: aws.String(f.arn["alice"]), ExpirationSettings: &types.ExpirationSettings{ExpirationDays: aws.Int32(7),
			ExpirationCriterion: types.ExpirationCriterionCreatedTimestamp}})
	noErr(t, err)
	_, err = e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(f.ch), Name: aws.String("renamed"),
		Metadata: aws.String("meta"), ChimeBearer: aws.String(f.arn["modOut"])})
	noErr(t, err)
	fr := f.expect(t, "UPDATE_CHANNEL", fixtureMembers...)
	if fr.Headers["x-amz-chime-message-type"] != "SYSTEM" {
		t.Errorf("message type %q, want SYSTEM", fr.Headers["x-amz-chime-message-type"])
	}
	var p map[string]any
	fr.payload(t, &p)
	if p["ChannelArn"] != f.ch || p["Name"] != "renamed" || p["Metadata"] != "meta" || p["Privacy"] != "PRIVATE" || p["Mode"] != "UNRESTRICTED" {
		t.Errorf("UPDATE_CHANNEL payload %v", p)
	}
	// The model's Channel, ExpirationSettings included (and ElasticChannelConfiguration of an elastic channel).
	if x, _ := p["ExpirationSettings"].(map[string]any); x["ExpirationDays"] != 7.0 || x["ExpirationCriterion"] != "CREATED_TIMESTAMP" {
		t.Errorf("UPDATE_CHANNEL ExpirationSettings %v", p["ExpirationSettings"])
	}
	wantISO(t, p, "CreatedTimestamp", "LastUpdatedTimestamp")

	_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(f.ch), ChimeBearer: aws.String(f.arn["adminOut"])})
	noErr(t, err)
	fr = f.expect(t, "DELETE_CHANNEL", fixtureMembers...)
	fr.payload(t, &p)
	if p["ChannelArn"] != f.ch {
		t.Errorf("DELETE_CHANNEL payload %v", p)
	}
}

// TestSessionEvents_Membership: CREATE_ and DELETE_CHANNEL_MEMBERSHIP and
// BATCH_CREATE_CHANNEL_MEMBERSHIP go to the members, including the member
// added or removed; HIDDEN memberships are told only to that member (the
// open question of SEMANTICS.md §10, answered "suggest not"); a ban tells
// the banned member DELETE_CHANNEL_MEMBERSHIP.
func TestSessionEvents_Membership(t *testing.T) {
	e := newEnv(t)
	f := newEventFixture(t, e)
	members := fixtureMembers
	checkMember := func(fr wsFrame, who, typ string) {
		t.Helper()
		var p struct {
			ChannelArn           string
			Member               struct{ Arn, Name string }
			InvitedBy            *struct{ Arn string }
			Type                 string
			CreatedTimestamp     string
			LastUpdatedTimestamp string
		}
		fr.payload(t, &p)
		if p.ChannelArn != f.ch || p.Member.Arn != f.arn[who] || p.Member.Name != "name of "+who || p.Type != typ {
			t.Errorf("%s payload %s", fr.Type(), *fr.Payload)
		}
		if !isoMillis.MatchString(p.CreatedTimestamp) || !isoMillis.MatchString(p.LastUpdatedTimestamp) {
			t.Errorf("%s timestamps not ISO (rule D13): %s", fr.Type(), *fr.Payload)
		}
	}

	t.Run("create", func(t *testing.T) {
		f.add("dave", "DEFAULT")
		members = with(members, "dave")
		checkMember(f.expect(t, "CREATE_CHANNEL_MEMBERSHIP", members...), "dave", "DEFAULT")
	})
	t.Run("create existing member sends nothing (D1)", func(t *testing.T) {
		f.add("dave", "DEFAULT")
		f.expect(t, "none")
	})
	t.Run("create hidden: only the member", func(t *testing.T) {
		f.add("erin", "HIDDEN")
		checkMember(f.expect(t, "CREATE_CHANNEL_MEMBERSHIP", "erin"), "erin", "HIDDEN")
		members = with(members, "erin")
	})
	t.Run("batch", func(t *testing.T) {
		_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArns: []string{f.arn["frank"], f.arn["dave"]}, ChimeBearer: aws.String(f.arn["bob"]), Type: types.ChannelMembershipTypeDefault})
		noErr(t, err)
		members = with(members, "frank")
		fr := f.expect(t, "BATCH_CREATE_CHANNEL_MEMBERSHIP", members...)
		var p struct {
			ChannelArn string
			Type       string
			InvitedBy  struct{ Arn string }
			Members    []struct{ Arn, Name string }
		}
		fr.payload(t, &p)
		// dave was already a member: only frank is new.
		if p.ChannelArn != f.ch || p.Type != "DEFAULT" || p.InvitedBy.Arn != f.arn["bob"] || len(p.Members) != 1 || p.Members[0].Arn != f.arn["frank"] {
			t.Errorf("BATCH_CREATE_CHANNEL_MEMBERSHIP payload %s", *fr.Payload)
		}
	})
	t.Run("batch hidden: only the added members", func(t *testing.T) {
		_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArns: []string{f.arn["gina"], f.arn["henry"]}, ChimeBearer: aws.String(f.arn["modOut"]), Type: types.ChannelMembershipTypeHidden})
		noErr(t, err)
		f.expect(t, "BATCH_CREATE_CHANNEL_MEMBERSHIP", "gina", "henry")
		members = with(members, "gina", "henry")
	})
	t.Run("delete reaches the removed member", func(t *testing.T) {
		_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(f.arn["dave"]), ChimeBearer: aws.String(f.arn["modOut"])})
		noErr(t, err)
		checkMember(f.expect(t, "DELETE_CHANNEL_MEMBERSHIP", members...), "dave", "DEFAULT")
		members = without(members, "dave")
	})
	t.Run("leave", func(t *testing.T) {
		_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(f.arn["frank"]), ChimeBearer: aws.String(f.arn["frank"])})
		noErr(t, err)
		f.expect(t, "DELETE_CHANNEL_MEMBERSHIP", members...)
		members = without(members, "frank")
	})
	t.Run("delete hidden: only the member", func(t *testing.T) {
		_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(f.arn["erin"]), ChimeBearer: aws.String(f.arn["adminOut"])})
		noErr(t, err)
		checkMember(f.expect(t, "DELETE_CHANNEL_MEMBERSHIP", "erin"), "erin", "HIDDEN")
		members = without(members, "erin")
	})
	t.Run("ban removes the member and tells them", func(t *testing.T) {
		_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(f.arn["bob"]), ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		checkMember(f.expect(t, "DELETE_CHANNEL_MEMBERSHIP", members...), "bob", "DEFAULT")
		members = without(members, "bob")
	})
	t.Run("ban of a non-member sends nothing", func(t *testing.T) {
		_, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(f.arn["carol"]), ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		f.expect(t, "none")
	})
	t.Run("a removed member gets no more channel events", func(t *testing.T) {
		_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(f.ch), Name: aws.String("after"),
			ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		f.expect(t, "UPDATE_CHANNEL", members...)
	})
}

func without(names []string, drop string) []string {
	var out []string
	for _, n := range names {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

func (f *eventFixture) send(t *testing.T, sender string, in chimesdkmessaging.SendChannelMessageInput) string {
	t.Helper()
	in.ChannelArn, in.ChimeBearer, in.ClientRequestToken = aws.String(f.ch), aws.String(f.arn[sender]), aws.String(token())
	if in.Persistence == "" {
		in.Persistence = types.ChannelMessagePersistenceTypePersistent
	}
	if in.Type == "" {
		in.Type = types.ChannelMessageTypeStandard
	}
	out, err := f.e.Msg.SendChannelMessage(f.e.ctx, &in)
	noErr(t, err)
	return aws.ToString(out.MessageId)
}

type wsMessage struct {
	ChannelArn, MessageId, Type, Persistence string
	Content, Metadata                        *string
	Redacted                                 bool
	Sender                                   struct{ Arn, Name string }
	CreatedTimestamp, LastUpdatedTimestamp   string
	LastEditedTimestamp                      *string
	Target                                   []struct{ MemberArn string }
	Status                                   struct{ Value string }
}

// TestSessionEvents_Messages: CREATE_, UPDATE_, REDACT_ and
// DELETE_CHANNEL_MESSAGE go to every member (HIDDEN members included: they
// observe the conversation), with the message type in the header; targeted
// messages only to sender and target; NON_PERSISTENT messages to the
// members connected at the time (SEMANTICS.md §10 and TOP 10 #10).
func TestSessionEvents_Messages(t *testing.T) {
	e := newEnv(t)
	f := newEventFixture(t, e)
	members := fixtureMembers
	var id string
	t.Run("create STANDARD", func(t *testing.T) {
		id = f.send(t, "bob", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("hello"), Metadata: aws.String("m")})
		fr := f.expect(t, "CREATE_CHANNEL_MESSAGE", members...)
		if fr.Headers["x-amz-chime-message-type"] != "STANDARD" {
			t.Errorf("message type header %q, want STANDARD", fr.Headers["x-amz-chime-message-type"])
		}
		var m wsMessage
		fr.payload(t, &m)
		if m.ChannelArn != f.ch || m.MessageId != id || aws.ToString(m.Content) != "hello" || aws.ToString(m.Metadata) != "m" ||
			m.Type != "STANDARD" || m.Persistence != "PERSISTENT" || m.Sender.Arn != f.arn["bob"] || m.Sender.Name != "name of bob" ||
			m.Status.Value != "SENT" || m.Redacted {
			t.Errorf("CREATE_CHANNEL_MESSAGE payload %s", *fr.Payload)
		}
		if !isoMillis.MatchString(m.CreatedTimestamp) || !isoMillis.MatchString(m.LastUpdatedTimestamp) {
			t.Errorf("timestamps not ISO (rule D13): %s", *fr.Payload)
		}
	})
	t.Run("create CONTROL", func(t *testing.T) {
		f.send(t, "alice", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("typing"), Type: types.ChannelMessageTypeControl})
		fr := f.expect(t, "CREATE_CHANNEL_MESSAGE", members...)
		if fr.Headers["x-amz-chime-message-type"] != "CONTROL" {
			t.Errorf("message type header %q, want CONTROL", fr.Headers["x-amz-chime-message-type"])
		}
	})
	t.Run("update", func(t *testing.T) {
		_, err := e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(id),
			Content: aws.String("hello again"), ChimeBearer: aws.String(f.arn["bob"])})
		noErr(t, err)
		var m wsMessage
		f.expect(t, "UPDATE_CHANNEL_MESSAGE", members...).payload(t, &m)
		if m.MessageId != id || aws.ToString(m.Content) != "hello again" || m.LastEditedTimestamp == nil || !isoMillis.MatchString(*m.LastEditedTimestamp) {
			t.Errorf("UPDATE_CHANNEL_MESSAGE payload %+v", m)
		}
	})
	t.Run("redact", func(t *testing.T) {
		_, err := e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(id),
			ChimeBearer: aws.String(f.arn["modIn"])})
		noErr(t, err)
		var m wsMessage
		f.expect(t, "REDACT_CHANNEL_MESSAGE", members...).payload(t, &m)
		if m.MessageId != id || !m.Redacted || m.Content != nil {
			t.Errorf("REDACT_CHANNEL_MESSAGE payload %+v", m)
		}
	})
	t.Run("delete", func(t *testing.T) {
		_, err := e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(id),
			ChimeBearer: aws.String(f.arn["adminOut"])})
		noErr(t, err)
		var m wsMessage
		f.expect(t, "DELETE_CHANNEL_MESSAGE", members...).payload(t, &m)
		if m.MessageId != id || m.ChannelArn != f.ch {
			t.Errorf("DELETE_CHANNEL_MESSAGE payload %+v", m)
		}
	})
	t.Run("targeted: sender and target only", func(t *testing.T) {
		tid := f.send(t, "alice", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("psst"),
			Target: []types.Target{{MemberArn: aws.String(f.arn["bot"])}}})
		var m wsMessage
		f.expect(t, "CREATE_CHANNEL_MESSAGE", "alice", "bot").payload(t, &m)
		if len(m.Target) != 1 || m.Target[0].MemberArn != f.arn["bot"] {
			t.Errorf("targeted payload %+v", m)
		}
		_, err := e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(tid),
			Content: aws.String("psst!"), ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		f.expect(t, "UPDATE_CHANNEL_MESSAGE", "alice", "bot")
		_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(tid),
			ChimeBearer: aws.String(f.arn["adminIn"])})
		noErr(t, err)
		f.expect(t, "DELETE_CHANNEL_MESSAGE", "alice", "bot")
		// A target who is banned (or leaves) hears no more of the message:
		// the edit, the redaction and the deletion reach its sender alone.
		tid = f.send(t, "alice", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("psst"),
			Target: []types.Target{{MemberArn: aws.String(f.arn["bot"])}}})
		f.expect(t, "CREATE_CHANNEL_MESSAGE", "alice", "bot")
		_, err = e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(f.ch),
			MemberArn: aws.String(f.arn["bot"]), ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		f.expect(t, "DELETE_CHANNEL_MEMBERSHIP", members...)
		members = without(members, "bot")
		_, err = e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(tid),
			Content: aws.String("psst, edited"), ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		f.expect(t, "UPDATE_CHANNEL_MESSAGE", "alice")
		_, err = e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(tid),
			ChimeBearer: aws.String(f.arn["alice"])})
		noErr(t, err)
		f.expect(t, "REDACT_CHANNEL_MESSAGE", "alice")
		_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(f.ch), MessageId: aws.String(tid),
			ChimeBearer: aws.String(f.arn["adminIn"])})
		noErr(t, err)
		f.expect(t, "DELETE_CHANNEL_MESSAGE", "alice")
	})
	t.Run("NON_PERSISTENT: connected members only, never stored", func(t *testing.T) {
		// bob's session goes away; he stays a member.
		f.clients["bob"].conn.Close(websocket.StatusNormalClosure, "")
		eventually(t, patience, func() error {
			if n := e.Ses.Sessions(f.arn["bob"]); n != 0 {
				return fmt.Errorf("bob has %d sessions", n)
			}
			return nil
		})
		delete(f.clients, "bob")
		bob := f.arn["bob"]
		delete(f.arn, "bob")
		f.send(t, "alice", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("now or never"),
			Persistence: types.ChannelMessagePersistenceTypeNonPersistent})
		var m wsMessage
		f.expect(t, "CREATE_CHANNEL_MESSAGE", without(members, "bob")...).payload(t, &m)
		if m.Persistence != "NON_PERSISTENT" {
			t.Errorf("payload Persistence %q", m.Persistence)
		}
		// bob reconnects: neither history nor prefetch has it.
		c := e.connect(bob, url.Values{"prefetch-on": {"connect"}})
		for {
			fr := c.next()
			if fr.Type() != "CHANNEL_DETAILS" {
				t.Fatalf("after prefetch: %s", fr.Raw)
			}
			if strings.Contains(*fr.Payload, "now or never") {
				t.Fatalf("a NON_PERSISTENT message was prefetched: %s", *fr.Payload)
			}
			var d struct{ Channel struct{ ChannelArn string } }
			fr.payload(t, &d)
			if d.Channel.ChannelArn == f.ch {
				break
			}
		}
	})
}

// TestSessionEvents_NotYetAMember: a user who joins gets the channel's events
// from then on, and nothing about channels they are not in.
func TestSessionEvents_NotYetAMember(t *testing.T) {
	e := newEnv(t)
	f := newEventFixture(t, e)
	f.send(t, "alice", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("before")})
	f.expect(t, "CREATE_CHANNEL_MESSAGE", fixtureMembers...)
	f.add("carol", "DEFAULT")
	f.expect(t, "CREATE_CHANNEL_MEMBERSHIP", with(fixtureMembers, "carol")...)
	f.send(t, "carol", chimesdkmessaging.SendChannelMessageInput{Content: aws.String("after")})
	f.expect(t, "CREATE_CHANNEL_MESSAGE", with(fixtureMembers, "carol")...)
}

// channelDetails is the CHANNEL_DETAILS payload (SEMANTICS.md §10).
type channelDetails struct {
	Channel struct {
		ChannelArn, Name     string
		LastMessageTimestamp *string
	}
	ChannelMessages        []wsMessage
	ChannelMemberships     []struct{ Member struct{ Arn, Name string } }
	ReadMarkerTimestamp    *string
	ChannelMessagesHasMore bool
}

// prefetched reads the CHANNEL_DETAILS frames that follow SESSION_ESTABLISHED,
// then proves there are no more: it causes an event and checks that it is
// the next frame (the prefetch is written before any queued event).
func prefetched(t *testing.T, e *env, c *wsClient, marker func()) []channelDetails {
	t.Helper()
	marker()
	var out []channelDetails
	for {
		fr := c.next()
		if fr.Type() != "CHANNEL_DETAILS" {
			if fr.Type() != "UPDATE_CHANNEL" {
				t.Fatalf("after the prefetch: %s", fr.Raw)
			}
			return out
		}
		if fr.Headers["x-amz-chime-message-type"] != "SYSTEM" {
			t.Errorf("CHANNEL_DETAILS message type %q", fr.Headers["x-amz-chime-message-type"])
		}
		var d channelDetails
		fr.payload(t, &d)
		out = append(out, d)
		// The summary shapes, no member more (SEMANTICS.md §10 event table).
		var raw struct {
			Channel         map[string]any
			ChannelMessages []map[string]any
		}
		fr.payload(t, &raw)
		onlyMembers(t, "CHANNEL_DETAILS Channel", raw.Channel, "Name", "ChannelArn", "Mode", "Privacy", "Metadata", "LastMessageTimestamp")
		for _, m := range raw.ChannelMessages {
			onlyMembers(t, "CHANNEL_DETAILS message", m, "MessageId", "Content", "Metadata", "Type", "CreatedTimestamp", "LastUpdatedTimestamp",
				"LastEditedTimestamp", "Sender", "Redacted", "Status", "MessageAttributes", "ContentType", "Target")
		}
	}
}

// onlyMembers fails t if obj has a member not among allowed.
func onlyMembers(t *testing.T, what string, obj map[string]any, allowed ...string) {
	t.Helper()
	for k := range obj {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s has %s, not a member of its model shape", what, k)
		}
	}
}

// TestSessionPrefetch: prefetch-on=connect sends one CHANNEL_DETAILS per
// channel after SESSION_ESTABLISHED, ordered by unread first then latest
// message (prefetch-sort-by=unread, the default) or by latest message
// (last-message-timestamp); each with the 20 latest visible messages newest
// first, ChannelMessagesHasMore, at most 30 memberships and the read marker
// (SEMANTICS.md §10 Prefetch, §9 quotas).
func TestSessionPrefetch(t *testing.T) {
	clock := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	e := newEnv(t, withClock(clock))
	ai := e.appInstance("prefetch")
	u, other := e.user(ai, "u"), e.user(ai, "other")
	send := func(ch, bearer, content string, target ...string) {
		t.Helper()
		clock.Advance(time.Second)
		in := &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), Content: aws.String(content), ChimeBearer: aws.String(bearer),
			Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent, ClientRequestToken: aws.String(token())}
		for _, tg := range target {
			in.Target = []types.Target{{MemberArn: aws.String(tg)}}
		}
		_, err := e.Msg.SendChannelMessage(e.ctx, in)
		noErr(t, err)
	}
	mk := func(name string, members ...string) string {
		t.Helper()
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String(name),
			ChimeBearer: aws.String(other), ClientRequestToken: aws.String(token()), MemberArns: members})
		noErr(t, err)
		return aws.ToString(out.ChannelArn)
	}
	quiet := mk("quiet", u)     // no messages at all
	busy := mk("busy", u)       // 25 messages, 35 members, unread
	read := mk("read", u)       // the newest message, but read
	silent := mk("silent", u)   // only a targeted message u cannot see
	whisper := mk("whisper", u) // only a targeted message to u, the newest
	mk("not mine", other)       // u is not a member
	var extra []string
	for i := 0; i < 33; i++ {
		extra = append(extra, e.user(ai, fmt.Sprintf("m%02d", i)))
	}
	_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(busy),
		MemberArns: extra, ChimeBearer: aws.String(other)})
	noErr(t, err)
	for i := 0; i < 25; i++ {
		send(busy, other, fmt.Sprintf("busy %02d", i))
	}
	send(silent, other, "not for u", other)
	send(read, other, "latest")
	send(whisper, other, "for u", u)
	clock.Advance(time.Second)
	_, err = e.Msg.UpdateChannelReadMarker(e.ctx, &chimesdkmessaging.UpdateChannelReadMarkerInput{ChannelArn: aws.String(read), ChimeBearer: aws.String(u)})
	noErr(t, err)
	marker := func() {
		_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(quiet), Name: aws.String("quiet"),
			ChimeBearer: aws.String(other)})
		noErr(t, err)
	}
	names := func(ds []channelDetails) string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Channel.Name)
		}
		return strings.Join(out, ",")
	}

	t.Run("unread first (default)", func(t *testing.T) {
		ds := prefetched(t, e, e.connect(u, url.Values{"prefetch-on": {"connect"}}), marker)
		// whisper and busy are unread, whisper's targeted message to u the
		// newest; silent's only message is one u cannot see, so it has no
		// LastMessageTimestamp for u and sorts with quiet (SEMANTICS.md §4).
		if got, want := names(ds), "whisper,busy,read,quiet,silent"; got != want {
			t.Fatalf("prefetch order %s, want %s", got, want)
		}
		if ds[0].Channel.LastMessageTimestamp == nil || ds[4].Channel.LastMessageTimestamp != nil {
			t.Errorf("LastMessageTimestamp of whisper %v, of silent %v; want whisper's targeted message and none",
				ds[0].Channel.LastMessageTimestamp, ds[4].Channel.LastMessageTimestamp)
		}
		ds = ds[1:]
		busyD := ds[0]
		if len(busyD.ChannelMessages) != 20 || !busyD.ChannelMessagesHasMore {
			t.Errorf("busy: %d messages, HasMore %v; want 20 and true", len(busyD.ChannelMessages), busyD.ChannelMessagesHasMore)
		}
		for i, m := range busyD.ChannelMessages {
			if want := fmt.Sprintf("busy %02d", 24-i); aws.ToString(m.Content) != want {
				t.Errorf("busy message %d is %q, want %q (newest first)", i, aws.ToString(m.Content), want)
			}
			if !isoMillis.MatchString(m.CreatedTimestamp) {
				t.Errorf("message CreatedTimestamp %q not ISO (rule D13)", m.CreatedTimestamp)
			}
		}
		if len(busyD.ChannelMemberships) != 30 {
			t.Errorf("busy: %d memberships, want 30 of 35", len(busyD.ChannelMemberships))
		}
		if busyD.ReadMarkerTimestamp != nil {
			t.Errorf("busy: read marker %v, want none", *busyD.ReadMarkerTimestamp)
		}
		readD := ds[1]
		if len(readD.ChannelMessages) != 1 || readD.ChannelMessagesHasMore || readD.ReadMarkerTimestamp == nil ||
			!isoMillis.MatchString(*readD.ReadMarkerTimestamp) || readD.Channel.LastMessageTimestamp == nil {
			t.Errorf("read: %+v", readD)
		}
		if len(ds[2].ChannelMessages) != 0 || ds[2].ChannelMessagesHasMore || len(ds[2].ChannelMemberships) != 2 {
			t.Errorf("quiet: %+v", ds[2])
		}
		if len(ds[3].ChannelMessages) != 0 {
			t.Errorf("silent: a targeted message for someone else was prefetched: %+v", ds[3].ChannelMessages)
		}
	})
	t.Run("last-message-timestamp", func(t *testing.T) {
		ds := prefetched(t, e, e.connect(u, url.Values{"prefetch-on": {"connect"}, "prefetch-sort-by": {"last-message-timestamp"}}), marker)
		if got, want := names(ds), "whisper,read,busy,quiet,silent"; got != want {
			t.Fatalf("prefetch order %s, want %s", got, want)
		}
	})
	t.Run("without prefetch-on nothing is prefetched", func(t *testing.T) {
		if ds := prefetched(t, e, e.connect(u), marker); len(ds) != 0 {
			t.Fatalf("%d CHANNEL_DETAILS without prefetch-on", len(ds))
		}
	})
}

// TestSessionPrefetch_AtMost50Channels: a user in 55 channels gets 50
// CHANNEL_DETAILS (SEMANTICS.md §9).
func TestSessionPrefetch_AtMost50Channels(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("prefetch50")
	u, other := e.user(ai, "u"), e.user(ai, "other")
	var first string
	for i := 0; i < 55; i++ {
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String(fmt.Sprint(i)),
			ChimeBearer: aws.String(other), ClientRequestToken: aws.String(token()), MemberArns: []string{u}})
		noErr(t, err)
		if i == 0 {
			first = aws.ToString(out.ChannelArn)
		}
	}
	marker := func() {
		_, err := e.Msg.UpdateChannel(e.ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: aws.String(first), Name: aws.String("0"),
			ChimeBearer: aws.String(other)})
		noErr(t, err)
	}
	if ds := prefetched(t, e, e.connect(u, url.Values{"prefetch-on": {"connect"}}), marker); len(ds) != 50 {
		t.Fatalf("%d CHANNEL_DETAILS, want 50", len(ds))
	}
}

// TestSessionPrefetchBurst: sessions that connect at once with prefetch
// each get their CHANNEL_DETAILS, though fewer prefetches than sessions read
// the store at a time (session.Config.Prefetches), and clients that left
// before their prefetch was read free their session slots
// (TestPrefetchStopsForAGoneClient shows that their prefetch stops).
func TestSessionPrefetchBurst(t *testing.T) {
	e := newEnvWithSessions(t, session.Config{Prefetches: 1, MaxSessionsPerUser: 1})
	ai := e.appInstance("burst")
	owner := e.user(ai, "owner")
	var users []string
	for i := range 8 {
		users = append(users, e.user(ai, fmt.Sprintf("u%d", i)))
	}
	for i := range 3 {
		_, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String(fmt.Sprint(i)),
			ChimeBearer: aws.String(owner), ClientRequestToken: aws.String(token()), MemberArns: users})
		noErr(t, err)
	}
	// Clients that leave before their prefetch is read: each reads
	// SESSION_ESTABLISHED first, which the server writes once the session
	// holds its slot. A client that closed before that could still take the
	// slot after the wait below saw it free, and the reconnect would get 4429.
	for _, u := range users {
		c := e.dial(e.presignedURL(u, time.Now().UTC(), url.Values{"prefetch-on": {"connect"}}))
		if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
			t.Fatalf("first frame for %s: %s", u, f.Raw)
		}
		c.conn.CloseNow()
	}
	var clients []*wsClient
	for _, u := range users {
		eventually(t, patience, func() error { // the slot of the client that left is free again
			if n := e.Ses.Sessions(u); n != 0 {
				return fmt.Errorf("%s still has %d session", u, n)
			}
			return nil
		})
		c := e.dial(e.presignedURL(u, time.Now().UTC(), url.Values{"prefetch-on": {"connect"}}))
		c.user = u
		clients = append(clients, c)
	}
	for _, c := range clients {
		if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
			t.Fatalf("first frame for %s: %s", c.user, f.Raw)
		}
		for range 3 {
			if f := c.next(); f.Type() != "CHANNEL_DETAILS" {
				t.Fatalf("prefetch for %s: %s, want CHANNEL_DETAILS", c.user, f.Raw)
			}
		}
	}
}

// TestSessionSlowConsumer: a client that stops reading is dropped once its
// bounded send queue overflows, while a client that reads keeps receiving
// every event (issue 4, "Limits and health"). Events go straight onto the
// bus, in rounds the fast client confirms, until the server drops the slow one.
func TestSessionSlowConsumer(t *testing.T) {
	e := newEnvWithSessions(t, session.Config{SendQueue: 64})
	ai := e.appInstance("slow")
	slowUser, fastUser := e.user(ai, "slow"), e.user(ai, "fast")
	slowURL := e.presignedURL(slowUser, time.Now().UTC(), nil)
	ctx, cancel := context.WithTimeout(e.ctx, patience)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, slowURL, nil) // never read
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	eventually(t, patience, func() error {
		if e.Ses.Sessions(slowUser) != 1 {
			return fmt.Errorf("slow session not registered")
		}
		return nil
	})
	fast := e.connect(fastUser)
	filler := strings.Repeat("x", 4096)
	const round, maxEvents = 32, 200_000 // maxEvents bounds the test: ~800 MB would have to fit in socket buffers
	sent := 0
	for e.Ses.Sessions(slowUser) == 1 {
		if sent >= maxEvents {
			t.Fatalf("the slow client was not dropped after %d events", sent)
		}
		batch := make([]chime.Event, round)
		for i := range batch {
			batch[i] = chime.Event{Type: "UPDATE_CHANNEL", MessageType: "SYSTEM", Recipients: []string{slowUser, fastUser},
				Payload: map[string]any{"Seq": sent + i, "Metadata": filler}}
		}
		noErr(t, e.Bus.Publish(e.ctx, batch))
		for i := 0; i < round; i++ {
			var p struct{ Seq int }
			fast.next().payload(t, &p)
			if p.Seq != sent+i {
				t.Fatalf("fast client got event %d, want %d: it lost events", p.Seq, sent+i)
			}
		}
		sent += round
	}
	t.Logf("slow client dropped after %d events", sent)
	// The fast client is still connected and still receives.
	if e.Ses.Sessions(fastUser) != 1 {
		t.Fatalf("the fast client was dropped too")
	}
	noErr(t, e.Bus.Publish(e.ctx, []chime.Event{{Type: "UPDATE_CHANNEL", MessageType: "SYSTEM", Recipients: []string{fastUser, slowUser},
		Payload: map[string]any{"Seq": -1}}}))
	var p struct{ Seq int }
	fast.next().payload(t, &p)
	if p.Seq != -1 {
		t.Fatalf("after the drop the fast client got %d", p.Seq)
	}
	// The slow client, reading at last, finds its connection closed.
	rctx, rcancel := context.WithTimeout(e.ctx, patience)
	defer rcancel()
	for {
		if _, _, err := slow.Read(rctx); err != nil {
			if rctx.Err() != nil {
				t.Fatal("the slow client's connection is still open")
			}
			break
		}
	}
}

// TestSessionPing: the server pings every session; a client that answers
// stays connected, one that never reads (a dead client) is dropped.
func TestSessionPing(t *testing.T) {
	t.Run("answering client stays", func(t *testing.T) {
		e := newEnvWithSessions(t, session.Config{PingInterval: 10 * time.Millisecond})
		u := e.user(e.appInstance("ping"), "u")
		pings := make(chan struct{}, 100)
		ctx, cancel := context.WithTimeout(e.ctx, patience)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, e.presignedURL(u, time.Now().UTC(), nil), &websocket.DialOptions{
			OnPingReceived: func(context.Context, []byte) bool {
				select {
				case pings <- struct{}{}:
				default:
				}
				return true
			}})
		noErr(t, err)
		defer conn.CloseNow()
		go func() {
			for {
				if _, _, err := conn.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		for i := 0; i < 5; i++ {
			select {
			case <-pings:
			case <-time.After(patience):
				t.Fatalf("ping %d never came", i)
			}
		}
		if e.Ses.Sessions(u) != 1 {
			t.Fatal("a client that answers pings was dropped")
		}
	})
	// A client that reads but never answers a ping is told why it goes:
	// close code 1013 (README), which it can read, not a cut connection.
	t.Run("client without pongs gets 1013", func(t *testing.T) {
		e := newEnvWithSessions(t, session.Config{PingInterval: 10 * time.Millisecond, WriteTimeout: 100 * time.Millisecond})
		u := e.user(e.appInstance("ping"), "u")
		ctx, cancel := context.WithTimeout(e.ctx, patience)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, e.presignedURL(u, time.Now().UTC(), nil), &websocket.DialOptions{
			OnPingReceived: func(context.Context, []byte) bool { return false }})
		noErr(t, err)
		defer conn.CloseNow()
		for {
			_, _, err := conn.Read(ctx)
			if err == nil {
				continue
			}
			if code := websocket.CloseStatus(err); code != session.CloseSlowConsumer {
				t.Fatalf("the connection ended with %v (close code %d), want close code 1013", err, code)
			}
			break
		}
	})
	t.Run("dead client is dropped", func(t *testing.T) {
		e := newEnvWithSessions(t, session.Config{PingInterval: 10 * time.Millisecond, WriteTimeout: 100 * time.Millisecond})
		u := e.user(e.appInstance("ping"), "u")
		ctx, cancel := context.WithTimeout(e.ctx, patience)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, e.presignedURL(u, time.Now().UTC(), nil), nil)
		noErr(t, err)
		defer conn.CloseNow()
		// SESSION_ESTABLISHED, which the server writes once the session is
		// registered (else no session counted below could mean one not
		// registered yet). Then the client stops reading: it never pongs.
		if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), "SESSION_ESTABLISHED") {
			t.Fatalf("first frame: %s, %v", b, err)
		}
		eventually(t, patience, func() error {
			if e.Ses.Sessions(u) != 0 {
				return fmt.Errorf("still connected")
			}
			return nil
		})
		// And the server has ended the connection: reading again answers
		// pings, so a session still alive would stay and the read time out.
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				if ctx.Err() != nil {
					t.Fatalf("the connection was not ended: %v", err)
				}
				break
			}
		}
	})
}

// TestSessionShutdown: stopping the server closes every session with 1001
// (going away, the SDK reconnects) and refuses new ones the same way.
func TestSessionShutdown(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("shutdown")
	u, v := e.user(ai, "u"), e.user(ai, "v")
	a, b := e.connect(u), e.connect(v)
	ctx, cancel := context.WithTimeout(e.ctx, patience)
	defer cancel()
	noErr(t, e.Ses.Close(ctx))
	a.wantClose(websocket.StatusGoingAway)
	b.wantClose(websocket.StatusGoingAway)
	e.dial(e.presignedURL(u, time.Now().UTC(), nil)).wantClose(websocket.StatusGoingAway)
}
