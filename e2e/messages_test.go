package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"

	"github.com/belfry/belfry/internal/session"
)

// Issue 3: messages, read markers, retention and expiration, through the
// aws-sdk-go-v2 clients (SEMANTICS.md §5 and §7, rules D4, D8, D12, D13, D16).

// msgFixture is the role fixture of memberships_test.go plus a user banned
// from every channel it creates.
type msgFixture struct {
	*roleFixture
	banned string
}

func newMsgFixture(e *env, ai string) *msgFixture {
	e.t.Helper()
	return &msgFixture{roleFixture: newRoleFixture(e, ai), banned: e.user(ai, "banned")}
}

// channel creates a channel with the fixture's roles (creator: member and
// moderator; admins and moderators who are not members; two members; a
// HIDDEN member) and bans f.banned after making them a member.
func (f *msgFixture) channel(mode, privacy string) string {
	e := f.e
	e.t.Helper()
	ch := f.roleFixture.channel(mode, privacy)
	if _, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(f.creator), MemberArn: aws.String(f.banned), Type: types.ChannelMembershipTypeDefault}); err != nil {
		e.t.Fatalf("CreateChannelMembership banned: %v", err)
	}
	if _, err := e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(f.creator), MemberArn: aws.String(f.banned)}); err != nil {
		e.t.Fatalf("CreateChannelBan: %v", err)
	}
	return ch
}

// join makes bearer a DEFAULT member of ch (admins and moderators must join
// before they send or set a read marker).
func (f *msgFixture) join(ch, bearer string) {
	e := f.e
	e.t.Helper()
	if _, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(bearer), MemberArn: aws.String(bearer), Type: types.ChannelMembershipTypeDefault}); err != nil {
		e.t.Fatalf("join %s: %v", bearer, err)
	}
}

// msgRole is a bearer of the fixture and what it is in f.channel()'s channels.
type msgRole struct {
	name, arn string
	member    bool // a non-hidden member: may send
	hidden    bool
	privil    bool // moderator or admin (the creator is both moderator and member)
	admin     bool
	outsider  bool // no role at all
	banned    bool
}

func (f *msgFixture) msgRoles() []msgRole {
	return []msgRole{
		{name: "creator", arn: f.creator, member: true, privil: true},
		{name: "admin", arn: f.admin, privil: true, admin: true},
		{name: "admin bot", arn: f.adminBot, privil: true, admin: true},
		{name: "moderator", arn: f.mod, privil: true},
		{name: "moderator bot", arn: f.modBot, privil: true},
		{name: "member", arn: f.member, member: true},
		{name: "member bot", arn: f.memberBot, member: true},
		{name: "hidden member", arn: f.hidden, hidden: true},
		{name: "non-member", arn: f.nonMember, outsider: true},
		{name: "non-member bot", arn: f.nonMemberBot, outsider: true},
		{name: "banned", arn: f.banned, banned: true},
	}
}

// send sends a PERSISTENT STANDARD message and returns its id; the SDK fills ClientRequestToken.
func (e *env) send(ch, bearer, content string) string {
	e.t.Helper()
	out, err := e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer),
		Content: aws.String(content), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent})
	if err != nil {
		e.t.Fatalf("SendChannelMessage as %s: %v", bearer, err)
	}
	return aws.ToString(out.MessageId)
}

func (e *env) sendIn(in chimesdkmessaging.SendChannelMessageInput) (*chimesdkmessaging.SendChannelMessageOutput, error) {
	if in.Type == "" {
		in.Type = types.ChannelMessageTypeStandard
	}
	if in.Persistence == "" {
		in.Persistence = types.ChannelMessagePersistenceTypePersistent
	}
	return e.Msg.SendChannelMessage(e.ctx, &in)
}

func (e *env) getMessage(ch, bearer, id string) (*types.ChannelMessage, error) {
	out, err := e.Msg.GetChannelMessage(e.ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer),
		MessageId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	return out.ChannelMessage, nil
}

// history lists every message of ch as bearer sees it, through the v2
// paginator (which stops only when NextToken is absent, D8).
func (e *env) history(ch, bearer string, in chimesdkmessaging.ListChannelMessagesInput) ([]types.ChannelMessageSummary, error) {
	in.ChannelArn, in.ChimeBearer = aws.String(ch), aws.String(bearer)
	p := chimesdkmessaging.NewListChannelMessagesPaginator(e.Msg, &in)
	var out []types.ChannelMessageSummary
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 1000 {
			e.t.Fatal("ListChannelMessages paginator does not stop")
		}
		page, err := p.NextPage(e.ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.ChannelMessages...)
	}
	return out, nil
}

func (e *env) historyIDs(ch, bearer string) []string {
	e.t.Helper()
	msgs, err := e.history(ch, bearer, chimesdkmessaging.ListChannelMessagesInput{})
	if err != nil {
		e.t.Fatalf("ListChannelMessages as %s: %v", bearer, err)
	}
	return messageIDs(msgs)
}

func messageIDs(msgs []types.ChannelMessageSummary) []string {
	ids := []string{}
	for _, m := range msgs {
		ids = append(ids, aws.ToString(m.MessageId))
	}
	return ids
}

func messageContents(msgs []types.ChannelMessageSummary) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Content))
	}
	return out
}

// messageIDPattern is rule D15 for message ids.
var messageIDPattern = regexp.MustCompile(`^[-_a-zA-Z0-9]{1,128}$`)

// TestSendChannelMessage_Roles: only members send, in PUBLIC and PRIVATE
// channels alike; HIDDEN members, banned users and non-members cannot;
// AppInstanceAdmins and moderators are not members and must join first
// (SEMANTICS.md §5, TOP 10 #7 and #8). Users and bots alike.
func TestSendChannelMessage_Roles(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("send-roles"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		for _, r := range f.msgRoles() {
			t.Run(cfg.mode+"-"+cfg.privacy+"/"+r.name, func(t *testing.T) {
				out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(r.arn),
					Content: aws.String("hello from " + r.name)})
				if !r.member {
					wantErr(t, err, "ForbiddenException")
					if errStatus(err) != http.StatusForbidden {
						t.Errorf("status %d, want 403", errStatus(err))
					}
					return
				}
				noErr(t, err)
				if s := httpStatus(out.ResultMetadata); s != http.StatusCreated {
					t.Errorf("status %d, want 201", s)
				}
				if !messageIDPattern.MatchString(aws.ToString(out.MessageId)) || aws.ToString(out.ChannelArn) != ch {
					t.Errorf("MessageId %q ChannelArn %q", aws.ToString(out.MessageId), aws.ToString(out.ChannelArn))
				}
				if out.Status == nil || out.Status.Value != types.ChannelMessageStatusSent {
					t.Errorf("Status %+v, want SENT", out.Status)
				}
				m, err := e.getMessage(ch, r.arn, aws.ToString(out.MessageId))
				noErr(t, err)
				if aws.ToString(m.Sender.Arn) != r.arn || aws.ToString(m.Content) != "hello from "+r.name {
					t.Errorf("stored message sender %s content %q", aws.ToString(m.Sender.Arn), aws.ToString(m.Content))
				}
			})
		}
		// Admins and moderators (users and bots) who join may send.
		for _, who := range []string{f.admin, f.adminBot, f.mod, f.modBot} {
			f.join(ch, who)
			e.send(ch, who, "joined, now I can send")
		}
	}
}

// TestSendChannelMessage_Fields: what a sender sets is stored and returned:
// Type, Persistence, Content, Metadata, ContentType, MessageAttributes,
// Sender with its name, SENT status; PushNotification is accepted.
func TestSendChannelMessage_Fields(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("fields"))
	ch := f.channel("UNRESTRICTED", "PRIVATE")
	// "none" has no StringValues: it reads back as {} (every response is
	// checked for nulls: noNulls).
	attrs := map[string]types.MessageAttributeValue{"priority": {StringValues: []string{"high"}}, "tags": {StringValues: []string{"a", "b"}}, "none": {}}
	out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.memberBot),
		Content: aws.String(`{"text":"hi"}`), Metadata: aws.String("meta"), ContentType: aws.String("application/json"), MessageAttributes: attrs,
		PushNotification: &types.PushNotificationConfiguration{Title: aws.String("t"), Body: aws.String("b"), Type: types.PushNotificationTypeDefault}})
	noErr(t, err)
	m, err := e.getMessage(ch, f.member, aws.ToString(out.MessageId))
	noErr(t, err)
	if aws.ToString(m.ChannelArn) != ch || aws.ToString(m.MessageId) != aws.ToString(out.MessageId) || aws.ToString(m.Content) != `{"text":"hi"}` ||
		aws.ToString(m.Metadata) != "meta" || aws.ToString(m.ContentType) != "application/json" || m.Type != types.ChannelMessageTypeStandard ||
		m.Persistence != types.ChannelMessagePersistenceTypePersistent || m.Redacted || m.Status == nil || m.Status.Value != types.ChannelMessageStatusSent {
		t.Errorf("message %+v", m)
	}
	if aws.ToString(m.Sender.Arn) != f.memberBot || aws.ToString(m.Sender.Name) != "member-bot" {
		t.Errorf("Sender %+v", m.Sender)
	}
	if _, ok := m.MessageAttributes["none"]; len(m.MessageAttributes) != 3 || !ok || !slices.Equal(m.MessageAttributes["tags"].StringValues, []string{"a", "b"}) ||
		!slices.Equal(m.MessageAttributes["priority"].StringValues, []string{"high"}) {
		t.Errorf("MessageAttributes %+v", m.MessageAttributes)
	}
	wantTime(t, "CreatedTimestamp", m.CreatedTimestamp, clk.Now())
	wantTime(t, "LastUpdatedTimestamp", m.LastUpdatedTimestamp, clk.Now())
	if m.LastEditedTimestamp != nil || len(m.Target) != 0 {
		t.Errorf("LastEditedTimestamp %v Target %+v on a new untargeted message", m.LastEditedTimestamp, m.Target)
	}
	// CONTROL messages are stored and listed too.
	ctl, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("typing"), Type: types.ChannelMessageTypeControl})
	noErr(t, err)
	msgs, err := e.history(ch, f.member, chimesdkmessaging.ListChannelMessagesInput{})
	noErr(t, err)
	if len(msgs) != 2 || aws.ToString(msgs[0].MessageId) != aws.ToString(ctl.MessageId) || msgs[0].Type != types.ChannelMessageTypeControl ||
		aws.ToString(msgs[1].Metadata) != "meta" || len(msgs[1].MessageAttributes) != 3 || aws.ToString(msgs[1].ContentType) != "application/json" {
		t.Errorf("history %+v", msgs)
	}
	// Unknown bearer (D5), unknown channel (D3), SubChannelId outside an elastic channel.
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.ai + "/user/nobody"), Content: aws.String("x")})
	wantErr(t, err, "UnauthorizedClientException")
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(f.ai + "/channel/nope"), ChimeBearer: aws.String(f.member), Content: aws.String("x")})
	wantErr(t, err, "NotFoundException")
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member), Content: aws.String("x"),
		SubChannelId: aws.String("sub")})
	wantErr(t, err, "BadRequestException")
	_, err = e.getMessage(ch, f.member, "no-such-message")
	wantErr(t, err, "NotFoundException")
	_, err = e.history(ch, f.ai+"/user/nobody", chimesdkmessaging.ListChannelMessagesInput{})
	wantErr(t, err, "UnauthorizedClientException")
}

// TestReadChannelMessages_Privacy: anyone in the app instance lists and gets
// a PUBLIC channel's messages; a PRIVATE channel's only its members (HIDDEN
// ones included), moderators and admins; a banned user neither
// (SEMANTICS.md §5 "Listing and sending by privacy").
func TestReadChannelMessages_Privacy(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("read-privacy"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		id := e.send(ch, f.member, "readable?")
		for _, r := range f.msgRoles() {
			t.Run(cfg.mode+"-"+cfg.privacy+"/"+r.name, func(t *testing.T) {
				allowed := !r.banned && (!r.outsider || cfg.privacy == "PUBLIC")
				msgs, lerr := e.history(ch, r.arn, chimesdkmessaging.ListChannelMessagesInput{})
				m, gerr := e.getMessage(ch, r.arn, id)
				if !allowed {
					wantErr(t, lerr, "ForbiddenException")
					wantErr(t, gerr, "ForbiddenException")
					return
				}
				noErr(t, lerr)
				noErr(t, gerr)
				if !slices.Equal(messageIDs(msgs), []string{id}) || aws.ToString(m.Content) != "readable?" {
					t.Errorf("list %v, get %q", messageIDs(msgs), aws.ToString(m.Content))
				}
			})
		}
	}
}

// TestUpdateChannelMessage_OwnOnly: every role edits its own messages only,
// admins and moderators included (SEMANTICS.md §7 "Edit: own messages only,
// for all roles"). The edit sets LastEditedTimestamp and LastUpdatedTimestamp
// and shows in Get and List.
func TestUpdateChannelMessage_OwnOnly(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("update-own"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		// Every role that can become a sender sends one message; admins and moderators join first.
		senders := []string{f.creator, f.admin, f.adminBot, f.mod, f.modBot, f.member, f.memberBot}
		for _, s := range []string{f.admin, f.adminBot, f.mod, f.modBot} {
			f.join(ch, s)
		}
		ids := map[string]string{}
		for _, s := range senders {
			ids[s] = e.send(ch, s, "original")
		}
		for _, r := range f.msgRoles() {
			for _, s := range senders {
				name := fmt.Sprintf("%s-%s/%s edits %s's", cfg.mode, cfg.privacy, r.name, kindName(f, s))
				t.Run(name, func(t *testing.T) {
					clk.Advance(time.Second)
					content := "edited by " + r.name
					out, err := e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(ch),
						ChimeBearer: aws.String(r.arn), MessageId: aws.String(ids[s]), Content: aws.String(content), Metadata: aws.String("m2")})
					got, gerr := e.getMessage(ch, f.creator, ids[s])
					noErr(t, gerr)
					if r.arn != s {
						wantErr(t, err, "ForbiddenException")
						if aws.ToString(got.Content) == content {
							t.Errorf("a denied edit changed the message")
						}
						return
					}
					noErr(t, err)
					if aws.ToString(out.MessageId) != ids[s] || aws.ToString(out.ChannelArn) != ch || out.Status == nil || out.Status.Value != types.ChannelMessageStatusSent {
						t.Errorf("UpdateChannelMessage output %+v", out)
					}
					if aws.ToString(got.Content) != content || aws.ToString(got.Metadata) != "m2" {
						t.Errorf("content %q metadata %q after edit", aws.ToString(got.Content), aws.ToString(got.Metadata))
					}
					wantTime(t, "LastEditedTimestamp", got.LastEditedTimestamp, clk.Now())
					wantTime(t, "LastUpdatedTimestamp", got.LastUpdatedTimestamp, clk.Now())
					if !got.CreatedTimestamp.Before(clk.Now()) {
						t.Errorf("CreatedTimestamp %v moved with the edit", got.CreatedTimestamp)
					}
					msgs, err := e.history(ch, f.member, chimesdkmessaging.ListChannelMessagesInput{})
					noErr(t, err)
					for _, m := range msgs {
						if aws.ToString(m.MessageId) == ids[s] && (aws.ToString(m.Content) != content || m.LastEditedTimestamp == nil) {
							t.Errorf("listed %q edited %v, want the latest version", aws.ToString(m.Content), m.LastEditedTimestamp)
						}
					}
				})
			}
		}
	}
}

// TestUpdateChannelMessage_KeepsWhatIsNotSent: Metadata and ContentType left
// out of an edit stay as they were (as UpdateChannel keeps a Metadata it is
// not sent); sent, even empty, they replace the old ones.
func TestUpdateChannelMessage_KeepsWhatIsNotSent(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("update-keeps"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("v1"), Metadata: aws.String(`{"attachment":"a.png"}`), ContentType: aws.String("text/markdown")})
	noErr(t, err)
	id := aws.ToString(out.MessageId)
	update := func(in chimesdkmessaging.UpdateChannelMessageInput) *types.ChannelMessage {
		t.Helper()
		in.ChannelArn, in.ChimeBearer, in.MessageId = aws.String(ch), aws.String(f.member), aws.String(id)
		_, err := e.Msg.UpdateChannelMessage(e.ctx, &in)
		noErr(t, err)
		m, err := e.getMessage(ch, f.member, id)
		noErr(t, err)
		return m
	}
	m := update(chimesdkmessaging.UpdateChannelMessageInput{Content: aws.String("v2")})
	if aws.ToString(m.Content) != "v2" || aws.ToString(m.Metadata) != `{"attachment":"a.png"}` || aws.ToString(m.ContentType) != "text/markdown" {
		t.Errorf("content-only edit: %q %q %q", aws.ToString(m.Content), aws.ToString(m.Metadata), aws.ToString(m.ContentType))
	}
	m = update(chimesdkmessaging.UpdateChannelMessageInput{Content: aws.String("v3"), Metadata: aws.String(""), ContentType: aws.String("text/plain")})
	if aws.ToString(m.Content) != "v3" || m.Metadata != nil || aws.ToString(m.ContentType) != "text/plain" {
		t.Errorf("edit clearing Metadata: %q %v %q", aws.ToString(m.Content), m.Metadata, aws.ToString(m.ContentType))
	}
}

func kindName(f *msgFixture, arn string) string {
	for _, r := range f.msgRoles() {
		if r.arn == arn {
			return r.name
		}
	}
	return arn
}

// TestUpdateChannelMessage_Errors: an edit obeys the size limits of D16; a
// missing message is 404; a redacted message cannot be edited.
func TestUpdateChannelMessage_Errors(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("update-errors"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	id := e.send(ch, f.member, "short")
	update := func(id, content, metadata string) error {
		in := &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member), MessageId: aws.String(id),
			Content: aws.String(content)}
		if metadata != "" {
			in.Metadata = aws.String(metadata)
		}
		_, err := e.Msg.UpdateChannelMessage(e.ctx, in)
		return err
	}
	noErr(t, update(id, strings.Repeat("a", 4096), ""))
	err := update(id, strings.Repeat("a", 4000), strings.Repeat("m", 97))
	wantErr(t, err, "BadRequestException")
	wantMessage(t, err, "Channel Messages size limit exceeded.")
	wantErr(t, update("missing", "x", ""), "NotFoundException")
	ctl, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("ctl"), Type: types.ChannelMessageTypeControl})
	noErr(t, err)
	wantErr(t, update(aws.ToString(ctl.MessageId), strings.Repeat("c", 31), ""), "BadRequestException")
	wantErr(t, update(aws.ToString(ctl.MessageId), "ok", "meta"), "BadRequestException")
	noErr(t, update(aws.ToString(ctl.MessageId), strings.Repeat("c", 30), ""))
	_, err = e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(f.member), MessageId: aws.String(id)})
	noErr(t, err)
	wantErr(t, update(id, "un-redact", ""), "BadRequestException")
}

// TestRedactChannelMessage_Roles: members redact their own messages only;
// moderators and admins any, without joining; hidden members, non-members
// and banned users none (SEMANTICS.md §7). A redacted message is listed and
// got empty, with Redacted true.
func TestRedactChannelMessage_Roles(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("redact"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		for _, r := range f.msgRoles() {
			for _, sender := range []string{f.member, f.memberBot} {
				own := r.arn == sender
				allowed := !r.banned && (r.privil || own)
				t.Run(fmt.Sprintf("%s-%s/%s redacts %s's", cfg.mode, cfg.privacy, r.name, kindName(f, sender)), func(t *testing.T) {
					out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(sender),
						Content: aws.String("secret"), Metadata: aws.String("secret meta")})
					noErr(t, err)
					id := aws.ToString(out.MessageId)
					red, err := e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(ch),
						ChimeBearer: aws.String(r.arn), MessageId: aws.String(id)})
					m, gerr := e.getMessage(ch, f.creator, id)
					noErr(t, gerr)
					if !allowed {
						wantErr(t, err, "ForbiddenException")
						if m.Redacted || aws.ToString(m.Content) != "secret" {
							t.Errorf("a denied redaction changed the message: %+v", m)
						}
						return
					}
					noErr(t, err)
					if aws.ToString(red.MessageId) != id || aws.ToString(red.ChannelArn) != ch {
						t.Errorf("RedactChannelMessage output %+v", red)
					}
					if !m.Redacted || m.Content != nil || m.Metadata != nil {
						t.Errorf("GetChannelMessage after redaction: Redacted %v Content %v Metadata %v", m.Redacted, m.Content, m.Metadata)
					}
					msgs, err := e.history(ch, f.memberBot, chimesdkmessaging.ListChannelMessagesInput{MaxResults: aws.Int32(1)})
					noErr(t, err)
					found := false
					for _, s := range msgs {
						if aws.ToString(s.MessageId) == id {
							found = true
							if !s.Redacted || s.Content != nil || s.Metadata != nil {
								t.Errorf("listed after redaction: Redacted %v Content %v Metadata %v", s.Redacted, s.Content, s.Metadata)
							}
						}
					}
					if !found {
						t.Errorf("a redacted message must still be listed")
					}
				})
			}
		}
	}
}

// TestDeleteChannelMessage_AdminsOnly: only AppInstanceAdmins delete
// messages, members or not, even targeted messages they cannot see;
// moderators, the creator and the sender cannot (SEMANTICS.md §7, TOP 10 #7).
// A deleted message is absent from the history and a 404 on Get.
func TestDeleteChannelMessage_AdminsOnly(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("delete"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		for _, r := range f.msgRoles() {
			t.Run(cfg.mode+"-"+cfg.privacy+"/"+r.name, func(t *testing.T) {
				id := e.send(ch, f.member, "to delete")
				out, err := e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(ch),
					ChimeBearer: aws.String(r.arn), MessageId: aws.String(id)})
				_, gerr := e.getMessage(ch, f.member, id)
				if !r.admin {
					wantErr(t, err, "ForbiddenException")
					noErr(t, gerr)
					return
				}
				noErr(t, err)
				if s := httpStatus(out.ResultMetadata); s != http.StatusNoContent {
					t.Errorf("status %d, want 204", s)
				}
				wantErr(t, gerr, "NotFoundException")
				if slices.Contains(e.historyIDs(ch, f.member), id) {
					t.Errorf("deleted message %s is still listed", id)
				}
			})
		}
		t.Run(cfg.mode+"-"+cfg.privacy+"/admin deletes a targeted message it cannot see", func(t *testing.T) {
			out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
				Content: aws.String("just for you"), Target: []types.Target{{MemberArn: aws.String(f.memberBot)}}})
			noErr(t, err)
			id := aws.ToString(out.MessageId)
			_, err = e.getMessage(ch, f.admin, id)
			wantErr(t, err, "NotFoundException")
			_, err = e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.admin), MessageId: aws.String(id)})
			noErr(t, err)
			_, err = e.getMessage(ch, f.member, id)
			wantErr(t, err, "NotFoundException")
		})
	}
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	_, err := e.Msg.DeleteChannelMessage(e.ctx, &chimesdkmessaging.DeleteChannelMessageInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(f.admin), MessageId: aws.String("no-such-message")})
	wantErr(t, err, "NotFoundException")
}

// TestGetChannelMessageStatus_SenderOnly: only the sender reads a message's
// status, SENT in a channel without a flow (SEMANTICS.md §7).
func TestGetChannelMessageStatus_SenderOnly(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("status"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		ids := map[string]string{f.member: e.send(ch, f.member, "m"), f.memberBot: e.send(ch, f.memberBot, "b"), f.creator: e.send(ch, f.creator, "c")}
		for _, r := range f.msgRoles() {
			for sender, id := range ids {
				t.Run(fmt.Sprintf("%s-%s/%s asks for %s's", cfg.mode, cfg.privacy, r.name, kindName(f, sender)), func(t *testing.T) {
					out, err := e.Msg.GetChannelMessageStatus(e.ctx, &chimesdkmessaging.GetChannelMessageStatusInput{ChannelArn: aws.String(ch),
						ChimeBearer: aws.String(r.arn), MessageId: aws.String(id)})
					if r.arn != sender {
						wantErr(t, err, "ForbiddenException")
						return
					}
					noErr(t, err)
					if out.Status == nil || out.Status.Value != types.ChannelMessageStatusSent {
						t.Errorf("Status %+v, want SENT", out.Status)
					}
				})
			}
		}
		_, err := e.Msg.GetChannelMessageStatus(e.ctx, &chimesdkmessaging.GetChannelMessageStatusInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.member), MessageId: aws.String("no-such-message")})
		wantErr(t, err, "NotFoundException")
	}
}

// TestFormerMember_ChangesNoMessages_S5: editing, redacting and reading the
// status of one's own messages are member powers (SEMANTICS.md §5 "Member
// powers"). A member who left a PUBLIC channel may still read it, but is
// refused all three on the messages they sent while a member; once they join
// again they may.
func TestFormerMember_ChangesNoMessages_S5(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("former"))
	for _, mode := range []string{"UNRESTRICTED", "RESTRICTED"} {
		ch := f.channel(mode, "PUBLIC")
		id := e.send(ch, f.member, "original")
		_, err := e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.member), MemberArn: aws.String(f.member)})
		noErr(t, err)
		update := func() error {
			_, err := e.Msg.UpdateChannelMessage(e.ctx, &chimesdkmessaging.UpdateChannelMessageInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.member), MessageId: aws.String(id), Content: aws.String("edited")})
			return err
		}
		redact := func() error {
			_, err := e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.member), MessageId: aws.String(id)})
			return err
		}
		status := func() error {
			_, err := e.Msg.GetChannelMessageStatus(e.ctx, &chimesdkmessaging.GetChannelMessageStatusInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.member), MessageId: aws.String(id)})
			return err
		}
		for name, call := range map[string]func() error{"UpdateChannelMessage": update, "RedactChannelMessage": redact, "GetChannelMessageStatus": status} {
			t.Run(mode+"/former member/"+name, func(t *testing.T) {
				wantErr(t, call(), "ForbiddenException")
			})
		}
		// Still readable, and unchanged.
		m, err := e.getMessage(ch, f.member, id)
		noErr(t, err)
		if aws.ToString(m.Content) != "original" || m.Redacted || m.LastEditedTimestamp != nil {
			t.Errorf("%s: a refused change changed the message: %+v", mode, m)
		}
		// A member again (a moderator adds them back in a RESTRICTED channel).
		_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.creator), MemberArn: aws.String(f.member), Type: types.ChannelMembershipTypeDefault})
		noErr(t, err)
		noErr(t, status())
		noErr(t, update())
		noErr(t, redact())
	}
}

// TestListChannelMessages_Pagination: 120 messages one second apart; pages of
// 50/50/20 newest first by default and oldest first with ASCENDING, the last
// page without NextToken (D8) so the v2 paginator stops; NotBefore/NotAfter
// are inclusive bounds on CreatedTimestamp, across page boundaries, in both
// directions; a token is bound to its sort order, bounds, bearer and channel
// (D8), survives a restart, and continues where it was even when newer
// messages arrive.
func TestListChannelMessages_Pagination(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 250_000_000, time.UTC)
	clk := newFakeClock(t0)
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("paging"))
	ch := f.channel("RESTRICTED", "PRIVATE")
	const n = 120
	var ids []string
	var at []time.Time
	senders := []string{f.member, f.memberBot, f.creator}
	for i := range n {
		clk.Advance(time.Second)
		at = append(at, clk.Now())
		ids = append(ids, e.send(ch, senders[i%3], fmt.Sprintf("msg-%03d", i)))
	}
	desc := slices.Clone(ids)
	slices.Reverse(desc)

	list := func(in chimesdkmessaging.ListChannelMessagesInput) *chimesdkmessaging.ListChannelMessagesOutput {
		t.Helper()
		in.ChannelArn, in.ChimeBearer = aws.String(ch), aws.String(f.member)
		out, err := e.Msg.ListChannelMessages(e.ctx, &in)
		if err != nil {
			t.Fatalf("ListChannelMessages: %v", err)
		}
		return out
	}
	// pages walks every page by hand and returns the page sizes and the ids.
	pages := func(in chimesdkmessaging.ListChannelMessagesInput) ([]int, []string) {
		t.Helper()
		var sizes []int
		var got []string
		for {
			out := list(in)
			sizes = append(sizes, len(out.ChannelMessages))
			got = append(got, messageIDs(out.ChannelMessages)...)
			if aws.ToString(out.ChannelArn) != ch {
				t.Errorf("ChannelArn %q", aws.ToString(out.ChannelArn))
			}
			if out.NextToken == nil {
				return sizes, got
			}
			if *out.NextToken == "" {
				t.Fatal("empty NextToken: the v2 paginator would loop (D8)")
			}
			in.NextToken = out.NextToken
			if len(sizes) > 20 {
				t.Fatal("too many pages")
			}
		}
	}

	t.Run("descending by default, 50/50/20", func(t *testing.T) {
		sizes, got := pages(chimesdkmessaging.ListChannelMessagesInput{MaxResults: aws.Int32(50)})
		if !slices.Equal(sizes, []int{50, 50, 20}) || !slices.Equal(got, desc) {
			t.Errorf("pages %v, order ok %v", sizes, slices.Equal(got, desc))
		}
		first := list(chimesdkmessaging.ListChannelMessagesInput{})
		if len(first.ChannelMessages) != 50 || first.NextToken == nil {
			t.Errorf("default page: %d messages, NextToken %v; want 50 (D6)", len(first.ChannelMessages), first.NextToken)
		}
		for i, m := range first.ChannelMessages {
			k := n - 1 - i
			if aws.ToString(m.Content) != fmt.Sprintf("msg-%03d", k) || !aws.ToTime(m.CreatedTimestamp).Equal(at[k]) ||
				aws.ToString(m.Sender.Arn) != senders[k%3] || m.Type != types.ChannelMessageTypeStandard {
				t.Fatalf("message %d: %q at %v by %s", i, aws.ToString(m.Content), m.CreatedTimestamp, aws.ToString(m.Sender.Arn))
			}
		}
		sizes, got = pages(chimesdkmessaging.ListChannelMessagesInput{SortOrder: types.SortOrderDescending, MaxResults: aws.Int32(50)})
		if !slices.Equal(sizes, []int{50, 50, 20}) || !slices.Equal(got, desc) {
			t.Errorf("explicit DESCENDING: pages %v", sizes)
		}
	})
	t.Run("ascending, 50/50/20", func(t *testing.T) {
		sizes, got := pages(chimesdkmessaging.ListChannelMessagesInput{SortOrder: types.SortOrderAscending, MaxResults: aws.Int32(50)})
		if !slices.Equal(sizes, []int{50, 50, 20}) || !slices.Equal(got, ids) {
			t.Errorf("pages %v, order ok %v", sizes, slices.Equal(got, ids))
		}
	})
	t.Run("v2 paginator terminates", func(t *testing.T) {
		for _, order := range []types.SortOrder{types.SortOrderDescending, types.SortOrderAscending} {
			p := chimesdkmessaging.NewListChannelMessagesPaginator(e.Msg, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(f.member), SortOrder: order}, func(o *chimesdkmessaging.ListChannelMessagesPaginatorOptions) { o.Limit = 50 })
			var got []string
			count := 0
			for p.HasMorePages() {
				out, err := p.NextPage(e.ctx)
				noErr(t, err)
				got = append(got, messageIDs(out.ChannelMessages)...)
				if count++; count > 3 {
					t.Fatalf("%s: more than 3 pages", order)
				}
			}
			want := ids
			if order == types.SortOrderDescending {
				want = desc
			}
			if count != 3 || !slices.Equal(got, want) {
				t.Errorf("%s: %d pages, order ok %v", order, count, slices.Equal(got, want))
			}
		}
	})
	t.Run("inclusive bounds across pages", func(t *testing.T) {
		for _, tc := range []struct {
			name          string
			before, after *time.Time // NotBefore, NotAfter
			from, to      int        // the ids[from..to] selected
		}{
			{"both bounds on messages", &at[10], &at[109], 10, 109},
			{"bounds between messages", aws.Time(at[10].Add(time.Millisecond)), aws.Time(at[109].Add(-time.Millisecond)), 11, 108},
			{"NotBefore only", &at[100], nil, 100, 119},
			{"NotAfter only", nil, &at[19], 0, 19},
			{"one instant", &at[42], &at[42], 42, 42},
			{"bounds wider than the history", aws.Time(t0.Add(-time.Hour)), aws.Time(at[n-1].Add(time.Hour)), 0, n - 1},
		} {
			want := ids[tc.from : tc.to+1]
			wantDesc := slices.Clone(want)
			slices.Reverse(wantDesc)
			var wantSizes []int
			for left := len(want); left > 0; left -= 30 {
				wantSizes = append(wantSizes, min(30, left))
			}
			for _, order := range []types.SortOrder{types.SortOrderDescending, types.SortOrderAscending} {
				sizes, got := pages(chimesdkmessaging.ListChannelMessagesInput{SortOrder: order, MaxResults: aws.Int32(30), NotBefore: tc.before, NotAfter: tc.after})
				w := want
				if order == types.SortOrderDescending {
					w = wantDesc
				}
				if !slices.Equal(got, w) || !slices.Equal(sizes, wantSizes) {
					t.Errorf("%s %s: pages %v (want %v), %d ids (want %d), order ok %v", tc.name, order, sizes, wantSizes, len(got), len(w), slices.Equal(got, w))
				}
				all, err := e.history(ch, f.member, chimesdkmessaging.ListChannelMessagesInput{SortOrder: order, NotBefore: tc.before, NotAfter: tc.after})
				noErr(t, err)
				if !slices.Equal(messageIDs(all), w) {
					t.Errorf("%s %s through the paginator: %d ids, want %d", tc.name, order, len(all), len(w))
				}
			}
		}
		// An empty window is an empty page without NextToken.
		out := list(chimesdkmessaging.ListChannelMessagesInput{NotBefore: aws.Time(at[5].Add(time.Millisecond)), NotAfter: aws.Time(at[6].Add(-time.Millisecond))})
		if len(out.ChannelMessages) != 0 || out.NextToken != nil {
			t.Errorf("empty window: %d messages, NextToken %v", len(out.ChannelMessages), out.NextToken)
		}
		// botocore sends microseconds: a NotBefore inside a millisecond starts
		// at the next one (times are kept in milliseconds).
		q := url.Values{"not-before": {at[10].Add(500 * time.Microsecond).Format("2006-01-02T15:04:05.000000Z")},
			"not-after": {at[11].Format("2006-01-02T15:04:05.000Z")}, "sort-order": {"ASCENDING"}}
		status, _, body := e.raw("GET", "/channels/"+pathEsc(ch)+"/messages?"+q.Encode(), map[string]string{"x-amz-chime-bearer": f.member}, "")
		var page struct{ ChannelMessages []struct{ MessageId string } }
		if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil || len(page.ChannelMessages) != 1 || page.ChannelMessages[0].MessageId != ids[11] {
			t.Errorf("NotBefore 0.5 ms after message 10: status %d, %s; want message 11 alone", status, body)
		}
	})
	t.Run("a token is bound to its request (D8)", func(t *testing.T) {
		base := chimesdkmessaging.ListChannelMessagesInput{MaxResults: aws.Int32(10), NotBefore: &at[10], NotAfter: &at[109]}
		tok := list(base).NextToken
		if tok == nil {
			t.Fatal("no NextToken on a first page of 10 out of 100")
		}
		ok := base
		ok.NextToken = tok
		if got := list(ok); len(got.ChannelMessages) != 10 || aws.ToString(got.ChannelMessages[0].MessageId) != ids[99] {
			t.Fatalf("second page starts at %v", messageIDs(got.ChannelMessages))
		}
		// Another page size is the same list: allowed.
		ok.MaxResults = aws.Int32(50)
		if got := list(ok); len(got.ChannelMessages) != 50 {
			t.Errorf("second page with another MaxResults: %d messages", len(got.ChannelMessages))
		}
		for _, tc := range []struct {
			name   string
			change func(in *chimesdkmessaging.ListChannelMessagesInput)
		}{
			{"other sort order", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.SortOrder = types.SortOrderAscending }},
			{"other NotBefore", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.NotBefore = &at[11] }},
			{"other NotAfter", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.NotAfter = &at[108] }},
			{"no NotBefore", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.NotBefore = nil }},
			{"no bounds", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.NotBefore, in.NotAfter = nil, nil }},
			{"other bearer", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.ChimeBearer = aws.String(f.memberBot) }},
			{"other channel", func(in *chimesdkmessaging.ListChannelMessagesInput) {
				in.ChannelArn = aws.String(f.channel("RESTRICTED", "PRIVATE"))
			}},
			{"tampered", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.NextToken = aws.String(tamper(*tok)) }},
			{"forged", func(in *chimesdkmessaging.ListChannelMessagesInput) { in.NextToken = aws.String("forged-token") }},
		} {
			in := base
			in.ChannelArn, in.ChimeBearer, in.NextToken = aws.String(ch), aws.String(f.member), tok
			tc.change(&in)
			_, err := e.Msg.ListChannelMessages(e.ctx, &in)
			wantErr(t, err, "BadRequestException")
			if errStatus(err) != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tc.name, errStatus(err))
			}
		}
		// Bound to the NotBefore the query applies, the next millisecond
		// for one inside a millisecond (botocore sends microseconds): the
		// same bound written another way continues, another one is refused.
		for _, tc := range []struct {
			name   string
			before time.Time
			want   int
		}{
			{"NotBefore 0.5 ms earlier, the same bound", at[10].Add(-500 * time.Microsecond), http.StatusOK},
			{"NotBefore 0.5 ms later, the next millisecond", at[10].Add(500 * time.Microsecond), http.StatusBadRequest},
		} {
			q := url.Values{"not-before": {tc.before.Format("2006-01-02T15:04:05.000000Z")}, "not-after": {at[109].Format("2006-01-02T15:04:05.000Z")},
				"max-results": {"10"}, "next-token": {*tok}}
			status, _, body := e.raw("GET", "/channels/"+pathEsc(ch)+"/messages?"+q.Encode(), map[string]string{"x-amz-chime-bearer": f.member}, "")
			if status != tc.want {
				t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.want, body)
			}
		}
		// A ListChannelMemberships token is not a history token.
		mem, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.member), MaxResults: aws.Int32(1)})
		noErr(t, err)
		in := base
		in.ChannelArn, in.ChimeBearer, in.NextToken = aws.String(ch), aws.String(f.member), mem.NextToken
		_, err = e.Msg.ListChannelMessages(e.ctx, &in)
		wantErr(t, err, "BadRequestException")
		// MaxResults over 50 reaches the server and is a 400 (D6).
		_, err = e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(f.member), MaxResults: aws.Int32(51)})
		wantErr(t, err, "BadRequestException")
	})
	t.Run("a token continues past newer messages and a restart", func(t *testing.T) {
		first := list(chimesdkmessaging.ListChannelMessagesInput{MaxResults: aws.Int32(50)})
		clk.Advance(time.Second)
		newer := e.send(ch, f.member, "newer")
		e.restart()
		sizes, got := pages(chimesdkmessaging.ListChannelMessagesInput{MaxResults: aws.Int32(50), NextToken: first.NextToken})
		if !slices.Equal(sizes, []int{50, 20}) || !slices.Equal(got, desc[50:]) {
			t.Errorf("after the token: pages %v, order ok %v", sizes, slices.Equal(got, desc[50:]))
		}
		if all := e.historyIDs(ch, f.member); len(all) != n+1 || all[0] != newer {
			t.Errorf("history after the newer message: %d, first %v", len(all), all[:1])
		}
	})
}

// TestListChannelMessages_SameInstant: messages sent in the same millisecond
// keep a stable order (D7: creation order) and page without loss or
// repetition in both directions.
func TestListChannelMessages_SameInstant(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("ties"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	e.send(ch, f.member, "before")
	clk.Advance(time.Millisecond)
	var ids []string
	for i := range 7 {
		ids = append(ids, e.send(ch, f.member, fmt.Sprintf("same-%d", i)))
	}
	clk.Advance(time.Millisecond)
	e.send(ch, f.member, "after")
	for _, order := range []types.SortOrder{types.SortOrderAscending, types.SortOrderDescending} {
		msgs, err := e.history(ch, f.nonMember, chimesdkmessaging.ListChannelMessagesInput{SortOrder: order, MaxResults: aws.Int32(3),
			NotBefore: aws.Time(clk.Now().Add(-time.Millisecond)), NotAfter: aws.Time(clk.Now().Add(-time.Millisecond))})
		noErr(t, err)
		want := slices.Clone(ids)
		if order == types.SortOrderDescending {
			slices.Reverse(want)
		}
		if got := messageIDs(msgs); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", order, messageContents(msgs), want)
		}
		all, err := e.history(ch, f.nonMember, chimesdkmessaging.ListChannelMessagesInput{SortOrder: order, MaxResults: aws.Int32(2)})
		noErr(t, err)
		if len(all) != 9 {
			t.Errorf("%s: %d messages in pages of 2, want 9", order, len(all))
		}
	}
}

// TestSendChannelMessage_SizeLimits_D16: STANDARD content plus metadata up to
// 4096 UTF-8 bytes, counted in bytes, not characters; CONTROL up to 30 bytes
// and no metadata; MessageAttributes up to 1 KB in total. Over a limit is a
// 400 "Channel Messages size limit exceeded." and nothing is stored.
func TestSendChannelMessage_SizeLimits_D16(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("sizes"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	const limitMsg = "Channel Messages size limit exceeded."
	for _, tc := range []struct {
		name              string
		typ               types.ChannelMessageType
		content, metadata string
		attrs             map[string]types.MessageAttributeValue
		ok                bool
		msg               string // the error message, when it is fixed
	}{
		{name: "4096 ASCII bytes", content: strings.Repeat("a", 4096), ok: true},
		{name: "4097 ASCII bytes", content: strings.Repeat("a", 4097), msg: limitMsg},
		{name: "content+metadata 4096", content: strings.Repeat("a", 3096), metadata: strings.Repeat("m", 1000), ok: true},
		{name: "content+metadata 4097", content: strings.Repeat("a", 3097), metadata: strings.Repeat("m", 1000), msg: limitMsg},
		{name: "2048 two-byte characters (4096 bytes)", content: strings.Repeat("é", 2048), ok: true},
		{name: "2049 two-byte characters (4098 bytes)", content: strings.Repeat("é", 2049), msg: limitMsg},
		{name: "1365 three-byte characters (4095 bytes)", content: strings.Repeat("€", 1365), ok: true},
		{name: "1366 three-byte characters (4098 bytes, 1366 characters)", content: strings.Repeat("€", 1366), msg: limitMsg},
		{name: "1024 four-byte emoji (4096 bytes)", content: strings.Repeat("😀", 1024), ok: true},
		{name: "1024 emoji plus one byte of metadata", content: strings.Repeat("😀", 1024), metadata: "m", msg: limitMsg},
		{name: "CONTROL 30 bytes", typ: types.ChannelMessageTypeControl, content: strings.Repeat("c", 30), ok: true},
		{name: "CONTROL 31 bytes", typ: types.ChannelMessageTypeControl, content: strings.Repeat("c", 31), msg: limitMsg},
		{name: "CONTROL 10 characters of 3 bytes", typ: types.ChannelMessageTypeControl, content: strings.Repeat("€", 10), ok: true},
		{name: "CONTROL 11 characters of 3 bytes", typ: types.ChannelMessageTypeControl, content: strings.Repeat("€", 11), msg: limitMsg},
		{name: "CONTROL with Metadata", typ: types.ChannelMessageTypeControl, content: "c", metadata: "m"},
		{name: "MessageAttributes under 1 KB", content: "x", ok: true,
			attrs: map[string]types.MessageAttributeValue{"a": {StringValues: []string{strings.Repeat("v", 500)}}, "b": {StringValues: []string{strings.Repeat("w", 400)}}}},
		{name: "MessageAttributes over 1 KB", content: "x",
			attrs: map[string]types.MessageAttributeValue{"a": {StringValues: []string{strings.Repeat("v", 512), strings.Repeat("v", 512)}}, "b": {StringValues: []string{"w"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member), Content: aws.String(tc.content),
				Type: tc.typ, MessageAttributes: tc.attrs}
			if tc.metadata != "" {
				in.Metadata = aws.String(tc.metadata)
			}
			before := len(e.historyIDs(ch, f.member))
			out, err := e.sendIn(in)
			after := e.historyIDs(ch, f.member)
			if tc.ok {
				noErr(t, err)
				m, err := e.getMessage(ch, f.member, aws.ToString(out.MessageId))
				noErr(t, err)
				if aws.ToString(m.Content) != tc.content || aws.ToString(m.Metadata) != tc.metadata {
					t.Errorf("stored content of %d bytes, metadata %q", len(aws.ToString(m.Content)), aws.ToString(m.Metadata))
				}
				return
			}
			wantErr(t, err, "BadRequestException")
			if errStatus(err) != http.StatusBadRequest {
				t.Errorf("status %d, want 400", errStatus(err))
			}
			if tc.msg != "" {
				wantMessage(t, err, tc.msg)
			}
			if len(after) != before {
				t.Errorf("a refused message was stored")
			}
		})
	}
}

// TestSendChannelMessage_Idempotent_D12: the same ClientRequestToken with the
// same message returns the original MessageId and stores one message, also
// after a restart; the same token with another message is a 409.
func TestSendChannelMessage_Idempotent_D12(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("idem"))
	ch := f.channel("UNRESTRICTED", "PRIVATE")
	in := chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member), Content: aws.String("once"),
		Metadata: aws.String("md"), ClientRequestToken: aws.String("resend-token-1")}
	first, err := e.sendIn(in)
	noErr(t, err)
	again, err := e.sendIn(in)
	noErr(t, err)
	if aws.ToString(again.MessageId) != aws.ToString(first.MessageId) || httpStatus(again.ResultMetadata) != http.StatusCreated {
		t.Errorf("resend: MessageId %s status %d, want %s 201", aws.ToString(again.MessageId), httpStatus(again.ResultMetadata), aws.ToString(first.MessageId))
	}
	e.restart()
	again, err = e.sendIn(in)
	noErr(t, err)
	if aws.ToString(again.MessageId) != aws.ToString(first.MessageId) {
		t.Errorf("resend after restart: MessageId %s, want %s", aws.ToString(again.MessageId), aws.ToString(first.MessageId))
	}
	if ids := e.historyIDs(ch, f.member); !slices.Equal(ids, []string{aws.ToString(first.MessageId)}) {
		t.Errorf("history %v, want one message", ids)
	}
	other := in
	other.Content = aws.String("twice?")
	_, err = e.sendIn(other)
	wantErr(t, err, "ConflictException")
	if errStatus(err) != http.StatusConflict {
		t.Errorf("status %d, want 409", errStatus(err))
	}
	other = in
	other.Metadata = aws.String("other metadata")
	_, err = e.sendIn(other)
	wantErr(t, err, "ConflictException")
	// Fresh tokens (the SDK's own) make distinct messages.
	in.ClientRequestToken = nil
	a, err := e.sendIn(in)
	noErr(t, err)
	b, err := e.sendIn(in)
	noErr(t, err)
	if aws.ToString(a.MessageId) == aws.ToString(b.MessageId) {
		t.Error("two sends with SDK-generated tokens got one MessageId")
	}
	if n := len(e.historyIDs(ch, f.member)); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

// TestTargetedMessages: a message with a Target is seen only by its sender
// and its target, in List and Get; anyone else gets a 404 on Get and cannot
// act on it; the target must be a member (SEMANTICS.md §7 "Targeted
// messages"); an ARN that is no user of the app instance is D4's 403.
func TestTargetedMessages(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("targeted"))
	foreign := e.user(e.appInstance("elsewhere"), "member")
	for _, privacy := range []string{"PUBLIC", "PRIVATE"} {
		ch := f.channel("UNRESTRICTED", privacy)
		plain := e.send(ch, f.member, "for everyone")
		out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
			Content: aws.String("psst"), Target: []types.Target{{MemberArn: aws.String(f.hidden)}}})
		noErr(t, err)
		secret := aws.ToString(out.MessageId)
		for _, r := range f.msgRoles() {
			if r.banned || (r.outsider && privacy == "PRIVATE") {
				continue // cannot read the channel at all
			}
			t.Run(privacy+"/"+r.name, func(t *testing.T) {
				sees := r.arn == f.member || r.arn == f.hidden
				ids := e.historyIDs(ch, r.arn)
				m, err := e.getMessage(ch, r.arn, secret)
				if !sees {
					if !slices.Equal(ids, []string{plain}) {
						t.Errorf("listed %v, want only the untargeted message", ids)
					}
					wantErr(t, err, "NotFoundException")
					_, err = e.Msg.RedactChannelMessage(e.ctx, &chimesdkmessaging.RedactChannelMessageInput{ChannelArn: aws.String(ch),
						ChimeBearer: aws.String(r.arn), MessageId: aws.String(secret)})
					if r.privil {
						wantErr(t, err, "NotFoundException") // may redact any message, but cannot see this one
					} else if err == nil {
						t.Error("redacted a targeted message it cannot see")
					}
					return
				}
				if !slices.Equal(ids, []string{secret, plain}) {
					t.Errorf("listed %v, want the targeted and the plain message", ids)
				}
				noErr(t, err)
				if len(m.Target) != 1 || aws.ToString(m.Target[0].MemberArn) != f.hidden || aws.ToString(m.Content) != "psst" {
					t.Errorf("targeted message %+v", m)
				}
			})
		}
		// The target must be a member of the channel; a user of another kind of standing is refused.
		for _, tc := range []struct{ name, target, code string }{
			{"non-member user", f.nonMember, "BadRequestException"},
			{"non-member bot", f.otherBot, "BadRequestException"},
			{"banned user", f.banned, "BadRequestException"},
			{"moderator who is not a member", f.mod, "BadRequestException"},
			{"no such user (D4)", f.ai + "/user/nobody", "ForbiddenException"},
			{"user of another app instance (D4)", foreign, "ForbiddenException"},
		} {
			t.Run(privacy+"/target "+tc.name, func(t *testing.T) {
				_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
					Content: aws.String("psst"), Target: []types.Target{{MemberArn: aws.String(tc.target)}}})
				wantErr(t, err, tc.code)
			})
		}
		// A member may target themself; a bot target works like a user.
		_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
			Content: aws.String("note to self"), Target: []types.Target{{MemberArn: aws.String(f.member)}}})
		noErr(t, err)
		out, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.creator),
			Content: aws.String("bot, do this"), Target: []types.Target{{MemberArn: aws.String(f.memberBot)}}})
		noErr(t, err)
		if _, err := e.getMessage(ch, f.memberBot, aws.ToString(out.MessageId)); err != nil {
			t.Errorf("bot target cannot get its message: %v", err)
		}
		if _, err := e.getMessage(ch, f.member, aws.ToString(out.MessageId)); err == nil {
			t.Error("a member sees a message targeted at a bot")
		}
		// A Target without its MemberArn is a 400, not a message to everyone
		// (alsoRequired in internal/api/model.go).
		before := e.historyIDs(ch, f.creator)
		_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
			Content: aws.String("meant for one"), Target: []types.Target{{}}})
		wantErr(t, err, "BadRequestException")
		var ae smithy.APIError
		if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), "'Target.1.MemberArn' is required") {
			t.Errorf("a Target without MemberArn: %v", err)
		}
		if after := e.historyIDs(ch, f.creator); !slices.Equal(after, before) {
			t.Errorf("a refused targeted message was stored: %v", after)
		}
	}
}

// TestNonPersistentMessages: a NON_PERSISTENT message is accepted (201 with a
// MessageId) but never stored: not listed, not gettable, and it does not move
// LastMessageTimestamp (SEMANTICS.md TOP 10 #10).
func TestNonPersistentMessages(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("transient"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	clk.Advance(time.Minute)
	stored := e.send(ch, f.member, "kept")
	keptAt := clk.Now()
	clk.Advance(time.Minute)
	for _, typ := range []types.ChannelMessageType{types.ChannelMessageTypeStandard, types.ChannelMessageTypeControl} {
		out, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.memberBot),
			Content: aws.String("typing..."), Type: typ, Persistence: types.ChannelMessagePersistenceTypeNonPersistent})
		noErr(t, err)
		if s := httpStatus(out.ResultMetadata); s != http.StatusCreated || !messageIDPattern.MatchString(aws.ToString(out.MessageId)) {
			t.Errorf("%s: status %d MessageId %q", typ, s, aws.ToString(out.MessageId))
		}
		_, err = e.getMessage(ch, f.memberBot, aws.ToString(out.MessageId))
		wantErr(t, err, "NotFoundException")
	}
	if ids := e.historyIDs(ch, f.member); !slices.Equal(ids, []string{stored}) {
		t.Errorf("history %v, want only the persistent message", ids)
	}
	d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	wantTime(t, "LastMessageTimestamp", d.Channel.LastMessageTimestamp, keptAt)
	// Non-persistent messages obey the same rules as the others.
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.hidden),
		Content: aws.String("x"), Persistence: types.ChannelMessagePersistenceTypeNonPersistent})
	wantErr(t, err, "ForbiddenException")
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String(strings.Repeat("x", 4097)), Persistence: types.ChannelMessagePersistenceTypeNonPersistent})
	wantErr(t, err, "BadRequestException")
}

// TestLastMessageAndReadMarker: LastMessageTimestamp is the time of the
// latest persistent, untargeted message, in DescribeChannel, ListChannels and
// ListChannelMembershipsForAppInstanceUser (a targeted one moves it only for
// its sender and target); ReadMarkerTimestamp is null until
// the member calls UpdateChannelReadMarker, which stamps the server's now,
// and shows in ListChannelMembershipsForAppInstanceUser and
// DescribeChannelMembershipForAppInstanceUser for that member only
// (SEMANTICS.md §4, §7 "Read markers").
func TestLastMessageAndReadMarker(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 7, 1, 12, 0, 0, 500_000_000, time.UTC))
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("markers"))
	ch := f.channel("UNRESTRICTED", "PUBLIC")

	lastMessage := func() map[string]*time.Time {
		t.Helper()
		got := map[string]*time.Time{}
		d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member)})
		noErr(t, err)
		got["DescribeChannel"] = d.Channel.LastMessageTimestamp
		l, err := e.Msg.ListChannels(e.ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(f.ai), ChimeBearer: aws.String(f.nonMember)})
		noErr(t, err)
		for _, c := range l.Channels {
			if aws.ToString(c.ChannelArn) == ch {
				got["ListChannels"] = c.LastMessageTimestamp
			}
		}
		u, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
			ChimeBearer: aws.String(f.memberBot)})
		noErr(t, err)
		for _, c := range u.ChannelMemberships {
			if aws.ToString(c.ChannelSummary.ChannelArn) == ch {
				got["ListChannelMembershipsForAppInstanceUser"] = c.ChannelSummary.LastMessageTimestamp
			}
		}
		return got
	}
	wantLast := func(want *time.Time) {
		t.Helper()
		got := lastMessage()
		if len(got) != 3 {
			t.Fatalf("channel missing from a list: %v", got)
		}
		for where, ts := range got {
			if (want == nil) != (ts == nil) || (want != nil && !ts.Equal(*want)) {
				t.Errorf("%s LastMessageTimestamp %v, want %v", where, ts, want)
			}
		}
	}
	readMarker := func(bearer, user string) (*time.Time, *time.Time) {
		t.Helper()
		var listed *time.Time
		u, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
			ChimeBearer: aws.String(bearer), AppInstanceUserArn: aws.String(user)})
		noErr(t, err)
		found := false
		for _, c := range u.ChannelMemberships {
			if aws.ToString(c.ChannelSummary.ChannelArn) == ch {
				listed, found = c.AppInstanceUserMembershipSummary.ReadMarkerTimestamp, true
			}
		}
		if !found {
			t.Fatalf("%s's channels miss %s", user, ch)
		}
		d, err := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
			ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer), AppInstanceUserArn: aws.String(user)})
		noErr(t, err)
		return listed, d.ChannelMembership.AppInstanceUserMembershipSummary.ReadMarkerTimestamp
	}
	wantMarker := func(user string, want *time.Time) {
		t.Helper()
		for _, bearer := range []string{user, f.admin} { // the user, and an admin on their behalf
			listed, described := readMarker(bearer, user)
			for where, ts := range map[string]*time.Time{"List": listed, "Describe": described} {
				if (want == nil) != (ts == nil) || (want != nil && !ts.Equal(*want)) {
					t.Errorf("%s ReadMarkerTimestamp of %s as %s: %v, want %v", where, kindName(f, user), kindName(f, bearer), ts, want)
				}
			}
		}
	}

	wantLast(nil)
	wantMarker(f.member, nil)
	clk.Advance(time.Minute)
	e.send(ch, f.member, "first")
	t1 := clk.Now()
	wantLast(&t1)
	wantMarker(f.member, nil) // sending does not set a read marker

	// A NON_PERSISTENT message does not move it; a targeted one moves it
	// only for its sender and target (memberBot lists its memberships; the
	// others are DescribeChannel's and a non-member's ListChannels:
	// TestLastMessageTimestampVisibleToCaller_S4).
	clk.Advance(time.Minute)
	_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("transient"), Persistence: types.ChannelMessagePersistenceTypeNonPersistent})
	noErr(t, err)
	wantLast(&t1)
	_, err = e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member),
		Content: aws.String("targeted"), Target: []types.Target{{MemberArn: aws.String(f.memberBot)}}})
	noErr(t, err)
	targetedAt := clk.Now()
	if got := lastMessage(); !got["DescribeChannel"].Equal(t1) || !got["ListChannels"].Equal(t1) ||
		!got["ListChannelMembershipsForAppInstanceUser"].Equal(targetedAt) {
		t.Errorf("after a targeted message: %v, want %v for its target's ListChannelMembershipsForAppInstanceUser, %v elsewhere", got, targetedAt, t1)
	}

	clk.Advance(time.Minute)
	_, err = e.Msg.UpdateChannelReadMarker(e.ctx, &chimesdkmessaging.UpdateChannelReadMarkerInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	r1 := clk.Now()
	wantMarker(f.member, &r1)
	wantMarker(f.memberBot, nil) // markers are per member

	clk.Advance(time.Minute)
	e.send(ch, f.memberBot, "second")
	t2 := clk.Now()
	wantLast(&t2)
	wantMarker(f.member, &r1)
	clk.Advance(time.Minute)
	out, err := e.Msg.UpdateChannelReadMarker(e.ctx, &chimesdkmessaging.UpdateChannelReadMarkerInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	if aws.ToString(out.ChannelArn) != ch {
		t.Errorf("UpdateChannelReadMarker ChannelArn %q", aws.ToString(out.ChannelArn))
	}
	r2 := clk.Now()
	wantMarker(f.member, &r2)
}

// TestUpdateChannelReadMarker_Roles: only members have a read marker (HIDDEN
// ones too); admins and moderators must join first; non-members and banned
// users are refused (SEMANTICS.md §5).
func TestUpdateChannelReadMarker_Roles(t *testing.T) {
	e := newEnv(t)
	f := newMsgFixture(e, e.appInstance("marker-roles"))
	for _, cfg := range channelConfigs {
		ch := f.channel(cfg.mode, cfg.privacy)
		for _, r := range f.msgRoles() {
			t.Run(cfg.mode+"-"+cfg.privacy+"/"+r.name, func(t *testing.T) {
				_, err := e.Msg.UpdateChannelReadMarker(e.ctx, &chimesdkmessaging.UpdateChannelReadMarkerInput{ChannelArn: aws.String(ch),
					ChimeBearer: aws.String(r.arn)})
				if r.member || r.hidden {
					noErr(t, err)
					return
				}
				wantErr(t, err, "ForbiddenException")
			})
		}
		for _, who := range []string{f.admin, f.adminBot, f.mod, f.modBot} {
			f.join(ch, who)
			_, err := e.Msg.UpdateChannelReadMarker(e.ctx, &chimesdkmessaging.UpdateChannelReadMarkerInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(who)})
			if err != nil {
				t.Errorf("%s after joining: %v", kindName(f, who), err)
			}
		}
	}
}

// TestRetention_Reaper: Put/GetAppInstanceRetentionSettings; with the clock
// moved past the retention, a reaper pass deletes the messages older than
// it and keeps the newer ones and those of other app instances; before that
// it deletes nothing. Removing the retention stops the deletions.
func TestRetention_Reaper(t *testing.T) {
	t0 := time.Date(2024, 1, 10, 8, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("retention")
	f := newMsgFixture(e, ai)
	ch := f.channel("UNRESTRICTED", "PRIVATE")
	other := newMsgFixture(e, e.appInstance("no-retention"))
	otherCh := other.channel("UNRESTRICTED", "PRIVATE")

	got, err := e.ID.GetAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.GetAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if got.AppInstanceRetentionSettings != nil && got.AppInstanceRetentionSettings.ChannelRetentionSettings != nil {
		t.Errorf("retention before any was put: %+v", got.AppInstanceRetentionSettings.ChannelRetentionSettings)
	}
	put, err := e.ID.PutAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.PutAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(ai),
		AppInstanceRetentionSettings: &idtypes.AppInstanceRetentionSettings{ChannelRetentionSettings: &idtypes.ChannelRetentionSettings{RetentionDays: aws.Int32(10)}}})
	noErr(t, err)
	if aws.ToInt32(put.AppInstanceRetentionSettings.ChannelRetentionSettings.RetentionDays) != 10 {
		t.Errorf("Put returned %+v", put.AppInstanceRetentionSettings)
	}
	wantTime(t, "InitiateDeletionTimestamp", put.InitiateDeletionTimestamp, t0)
	got, err = e.ID.GetAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.GetAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if got.AppInstanceRetentionSettings == nil || aws.ToInt32(got.AppInstanceRetentionSettings.ChannelRetentionSettings.RetentionDays) != 10 {
		t.Errorf("Get returned %+v", got.AppInstanceRetentionSettings)
	}
	_, err = e.ID.GetAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.GetAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(missingAppInstance)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.PutAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.PutAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(missingAppInstance),
		AppInstanceRetentionSettings: &idtypes.AppInstanceRetentionSettings{ChannelRetentionSettings: &idtypes.ChannelRetentionSettings{RetentionDays: aws.Int32(10)}}})
	wantErr(t, err, "NotFoundException")

	old := e.send(ch, f.member, "day 0")
	oldOther := e.send(otherCh, other.member, "day 0 elsewhere")
	clk.Advance(4 * 24 * time.Hour)
	mid := e.send(ch, f.member, "day 4")
	clk.Advance(24 * time.Hour)
	newest := e.send(ch, f.memberBot, "day 5")

	// Day 10 minus a minute: nothing is old enough.
	clk.Advance(5*24*time.Hour - time.Minute)
	e.reap()
	if ids := e.historyIDs(ch, f.member); !slices.Equal(ids, []string{newest, mid, old}) {
		t.Fatalf("before the retention: %v", ids)
	}
	// Day 10 plus a minute: the day-0 message goes, the others stay.
	clk.Advance(2 * time.Minute)
	e.reap()
	if ids := e.historyIDs(ch, f.member); !slices.Equal(ids, []string{newest, mid}) {
		t.Errorf("after the retention: %v, want [%s %s]", ids, newest, mid)
	}
	_, err = e.getMessage(ch, f.member, old)
	wantErr(t, err, "NotFoundException")
	if ids := e.historyIDs(otherCh, other.member); !slices.Equal(ids, []string{oldOther}) {
		t.Errorf("another app instance without retention lost messages: %v", ids)
	}
	// Removing the retention keeps everything from then on.
	_, err = e.ID.PutAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.PutAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(ai),
		AppInstanceRetentionSettings: &idtypes.AppInstanceRetentionSettings{}})
	noErr(t, err)
	got, err = e.ID.GetAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.GetAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if got.AppInstanceRetentionSettings != nil && got.AppInstanceRetentionSettings.ChannelRetentionSettings != nil {
		t.Errorf("retention after removal: %+v", got.AppInstanceRetentionSettings.ChannelRetentionSettings)
	}
	clk.Advance(365 * 24 * time.Hour)
	e.reap()
	if ids := e.historyIDs(ch, f.member); !slices.Equal(ids, []string{newest, mid}) {
		t.Errorf("without retention: %v", ids)
	}
	// RetentionDays outside 1..5475 is a 400 from the model.
	_, err = e.ID.PutAppInstanceRetentionSettings(e.ctx, &chimesdkidentity.PutAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(ai),
		AppInstanceRetentionSettings: &idtypes.AppInstanceRetentionSettings{ChannelRetentionSettings: &idtypes.ChannelRetentionSettings{RetentionDays: aws.Int32(5476)}}})
	wantErr(t, err, "BadRequestException")
}

// TestChannelExpiration_Reaper: PutChannelExpirationSettings by a moderator
// or admin (or without a bearer); a channel expires ExpirationDays after its
// creation (CREATED_TIMESTAMP) or its last message (LAST_MESSAGE_TIMESTAMP):
// a reaper pass before then keeps it, after then deletes it with its
// memberships and messages.
func TestChannelExpiration_Reaper(t *testing.T) {
	t0 := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	e := newEnv(t, withClock(clk))
	f := newMsgFixture(e, e.appInstance("channel-expiry"))
	byCreation := f.channel("UNRESTRICTED", "PUBLIC")
	byLastMessage := f.channel("RESTRICTED", "PRIVATE")
	never := f.channel("UNRESTRICTED", "PRIVATE")

	put := func(ch, bearer string, days int32, crit types.ExpirationCriterion) (*chimesdkmessaging.PutChannelExpirationSettingsOutput, error) {
		in := &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(ch),
			ExpirationSettings: &types.ExpirationSettings{ExpirationDays: aws.Int32(days), ExpirationCriterion: crit}}
		if bearer != "" {
			in.ChimeBearer = aws.String(bearer)
		}
		return e.Msg.PutChannelExpirationSettings(e.ctx, in)
	}
	// Who may: moderators and admins with a bearer, or an administrator without one.
	for _, r := range f.msgRoles() {
		_, err := put(never, r.arn, 30, types.ExpirationCriterionCreatedTimestamp)
		if r.privil {
			noErr(t, err)
		} else {
			wantErr(t, err, "ForbiddenException")
		}
	}
	// Removing the settings: the channel never expires.
	_, err := e.Msg.PutChannelExpirationSettings(e.ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(never)})
	noErr(t, err)

	out, err := put(byCreation, f.admin, 2, types.ExpirationCriterionCreatedTimestamp)
	noErr(t, err)
	if aws.ToString(out.ChannelArn) != byCreation || out.ExpirationSettings == nil || aws.ToInt32(out.ExpirationSettings.ExpirationDays) != 2 ||
		out.ExpirationSettings.ExpirationCriterion != types.ExpirationCriterionCreatedTimestamp {
		t.Errorf("Put output %+v %+v", aws.ToString(out.ChannelArn), out.ExpirationSettings)
	}
	d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(byCreation), ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	if d.Channel.ExpirationSettings == nil || aws.ToInt32(d.Channel.ExpirationSettings.ExpirationDays) != 2 {
		t.Errorf("DescribeChannel ExpirationSettings %+v", d.Channel.ExpirationSettings)
	}
	_, err = put(byLastMessage, "", 2, types.ExpirationCriterionLastMessageTimestamp)
	noErr(t, err)
	_, err = put(f.ai+"/channel/nope", "", 2, types.ExpirationCriterionCreatedTimestamp)
	wantErr(t, err, "NotFoundException")

	// Day 1: a message in the LAST_MESSAGE_TIMESTAMP channel.
	clk.Advance(24 * time.Hour)
	msg := e.send(byLastMessage, f.member, "keeps the channel alive")
	// Day 2 minus a minute: nothing has expired.
	clk.Advance(24*time.Hour - time.Minute)
	e.reap()
	if !e.channelExists(byCreation, f.admin) || !e.channelExists(byLastMessage, f.admin) || !e.channelExists(never, f.admin) {
		t.Fatal("a channel was deleted before it expired")
	}
	// Day 2 plus a minute: the CREATED_TIMESTAMP channel is gone, with its
	// memberships; the other is one day past its last message only.
	clk.Advance(2 * time.Minute)
	e.reap()
	if e.channelExists(byCreation, f.admin) || !e.channelExists(byLastMessage, f.admin) || !e.channelExists(never, f.admin) {
		t.Fatalf("day 2: byCreation %v byLastMessage %v never %v", e.channelExists(byCreation, f.admin), e.channelExists(byLastMessage, f.admin), e.channelExists(never, f.admin))
	}
	u, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(f.member)})
	noErr(t, err)
	for _, c := range u.ChannelMemberships {
		if aws.ToString(c.ChannelSummary.ChannelArn) == byCreation {
			t.Error("the member still lists the expired channel")
		}
	}
	if _, err := e.getMessage(byLastMessage, f.member, msg); err != nil {
		t.Errorf("message of the living channel: %v", err)
	}
	// Day 3 plus a minute: two days after the last message.
	clk.Advance(24 * time.Hour)
	e.reap()
	if e.channelExists(byLastMessage, f.admin) || !e.channelExists(never, f.admin) {
		t.Errorf("day 3: byLastMessage %v never %v", e.channelExists(byLastMessage, f.admin), e.channelExists(never, f.admin))
	}
	_, err = e.getMessage(byLastMessage, f.member, msg)
	wantErr(t, err, "NotFoundException")
}

// TestAppInstanceUserExpiration_Reaper: PutAppInstanceUserExpirationSettings;
// the user is deleted ExpirationDays after its creation, not before, and its
// memberships go with it, as on DeleteAppInstanceUser: the channel's members
// are told and the user's session is closed with 4401.
func TestAppInstanceUserExpiration_Reaper(t *testing.T) {
	t0 := time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("user-expiry")
	f := newMsgFixture(e, ai)
	ch := f.channel("UNRESTRICTED", "PUBLIC")
	temp := e.user(ai, "temporary")
	f.join(ch, temp)
	out, err := e.ID.PutAppInstanceUserExpirationSettings(e.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(temp),
		ExpirationSettings: &idtypes.ExpirationSettings{ExpirationDays: aws.Int32(3), ExpirationCriterion: idtypes.ExpirationCriterionCreatedTimestamp}})
	noErr(t, err)
	if aws.ToString(out.AppInstanceUserArn) != temp || out.ExpirationSettings == nil || aws.ToInt32(out.ExpirationSettings.ExpirationDays) != 3 {
		t.Errorf("Put output %+v", out)
	}
	d, err := e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(temp)})
	noErr(t, err)
	if d.AppInstanceUser.ExpirationSettings == nil || aws.ToInt32(d.AppInstanceUser.ExpirationSettings.ExpirationDays) != 3 {
		t.Errorf("DescribeAppInstanceUser ExpirationSettings %+v", d.AppInstanceUser.ExpirationSettings)
	}
	// A second user whose expiration is set and then removed stays.
	kept := e.user(ai, "kept")
	_, err = e.ID.PutAppInstanceUserExpirationSettings(e.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(kept),
		ExpirationSettings: &idtypes.ExpirationSettings{ExpirationDays: aws.Int32(1), ExpirationCriterion: idtypes.ExpirationCriterionCreatedTimestamp}})
	noErr(t, err)
	_, err = e.ID.PutAppInstanceUserExpirationSettings(e.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(kept)})
	noErr(t, err)
	_, err = e.ID.PutAppInstanceUserExpirationSettings(e.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(ai + "/user/nobody"),
		ExpirationSettings: &idtypes.ExpirationSettings{ExpirationDays: aws.Int32(1), ExpirationCriterion: idtypes.ExpirationCriterionCreatedTimestamp}})
	wantErr(t, err, "NotFoundException")

	describe := func(arn string) error {
		_, err := e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(arn)})
		return err
	}
	clk.Advance(3*24*time.Hour - time.Minute)
	if _, err := e.Svc.Reap(e.ctx); err != nil {
		t.Fatal(err)
	}
	noErr(t, describe(temp))
	creatorS, tempS := e.connect(f.creator), e.connect(temp)
	clk.Advance(2 * time.Minute)
	if _, err := e.Svc.Reap(e.ctx); err != nil {
		t.Fatal(err)
	}
	wantErr(t, describe(temp), "NotFoundException")
	noErr(t, describe(kept))
	if slices.Contains(listMemberArns(t, e, ch, f.creator, ""), temp) {
		t.Error("the expired user is still a member")
	}
	if got := removals(t, "the creator", []wsFrame{creatorS.next()}, temp); !slices.Equal(got, []string{ch}) {
		t.Errorf("the creator was told of the expired user leaving %v, want %s", got, ch)
	}
	if code, frames := tempS.ended(); code != session.CloseUnauthorized || !slices.Equal(removals(t, "the expired user", frames, temp), []string{ch}) {
		t.Errorf("the expired user's session: close code %d after %d frames, want %d after its removal", code, len(frames), session.CloseUnauthorized)
	}
}

// TestSendChannelMessageTokenAttributesWithoutValues_D12: two messages that
// differ only in the name of an attribute without values are different
// requests: the same ClientRequestToken on the second is a 409.
func TestSendChannelMessageTokenAttributesWithoutValues_D12(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("attrs")
	u := e.user(ai, "u")
	ch := e.channel(ai, u, "UNRESTRICTED", "PUBLIC")
	tok := token()
	send := func(attr string) (*chimesdkmessaging.SendChannelMessageOutput, error) {
		return e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(u),
			Content: aws.String("hi"), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
			ClientRequestToken: aws.String(tok), MessageAttributes: map[string]types.MessageAttributeValue{attr: {}}})
	}
	first, err := send("urgent")
	noErr(t, err)
	again, err := send("urgent")
	noErr(t, err)
	if aws.ToString(again.MessageId) != aws.ToString(first.MessageId) {
		t.Errorf("the same request replayed as %s, want %s", aws.ToString(again.MessageId), aws.ToString(first.MessageId))
	}
	_, err = send("silent")
	wantErr(t, err, "ConflictException")
}
