package e2e

// The legacy `chime` namespace through the aws-sdk-go v1 client (issue 2,
// item 9): the same paths as chime-sdk-messaging/identity, so the legacy
// client works unchanged once DisableEndpointHostPrefix keeps it off the
// "messaging-"/"identity-" host prefixes.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	credv1 "github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/chime"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
)

// legacyClient returns an aws-sdk-go v1 Chime client for the test server.
func (e *env) legacyClient() *chime.Chime {
	e.t.Helper()
	sess, err := session.NewSession(&awsv1.Config{
		Endpoint:                  awsv1.String(e.URL),
		Region:                    awsv1.String("us-east-1"),
		Credentials:               credv1.NewStaticCredentials(testAccount, "secret", ""),
		DisableEndpointHostPrefix: awsv1.Bool(true),
		MaxRetries:                awsv1.Int(0),
		Logger:                    awsv1.LoggerFunc(func(...any) {}), // silences "has been deprecated"
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return chime.New(sess)
}

// wantLegacyErr fails unless err is a v1 awserr with the given code (the
// x-amzn-ErrorType shape name) and HTTP status.
func wantLegacyErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var rf awserr.RequestFailure
	if !errors.As(err, &rf) {
		t.Fatalf("want %s, got %T %v", code, err, err)
	}
	if rf.Code() != code || rf.StatusCode() != status || rf.Message() == "" || rf.RequestID() == "" {
		t.Fatalf("want %s/%d with a message and request id, got %s/%d %q (request id %q)", code, status, rf.Code(), rf.StatusCode(), rf.Message(), rf.RequestID())
	}
}

// TestLegacyChimeClient walks the seed documents' legacy calls with the v1
// client alone: CreateAppInstance, CreateAppInstanceUser, CreateAppInstanceAdmin,
// CreateChannel, CreateChannelMembership, BatchCreateChannelMembership (with a
// partial failure, D4) and ListChannelMembershipsForAppInstanceUser (paged, D8).
func TestLegacyChimeClient(t *testing.T) {
	e := newEnv(t)
	c := e.legacyClient()

	ai, err := c.CreateAppInstance(&chime.CreateAppInstanceInput{Name: awsv1.String("legacy"), ClientRequestToken: awsv1.String(token())})
	noErr(t, err)
	aiArn := *ai.AppInstanceArn
	if !strings.HasPrefix(aiArn, "arn:aws:chime:us-east-1:"+testAccount+":app-instance/") {
		t.Fatalf("app instance ARN %s: want the 12-digit access key as account (D14)", aiArn)
	}
	newUser := func(id string) string {
		t.Helper()
		out, err := c.CreateAppInstanceUser(&chime.CreateAppInstanceUserInput{AppInstanceArn: awsv1.String(aiArn),
			AppInstanceUserId: awsv1.String(id), Name: awsv1.String("name of " + id), ClientRequestToken: awsv1.String(token())})
		if err != nil {
			t.Fatalf("legacy CreateAppInstanceUser %s: %v", id, err)
		}
		return *out.AppInstanceUserArn
	}
	erin, frank, gina, admin := newUser("erin@example.com"), newUser("frank:1"), newUser("gina"), newUser("admin")
	if erin != aiArn+"/user/erin@example.com" {
		t.Fatalf("user ARN %s", erin)
	}
	_, err = c.CreateAppInstanceAdmin(&chime.CreateAppInstanceAdminInput{AppInstanceArn: awsv1.String(aiArn), AppInstanceAdminArn: awsv1.String(admin)})
	noErr(t, err)

	newChannel := func(bearer, name, privacy string) string {
		t.Helper()
		out, err := c.CreateChannel(&chime.CreateChannelInput{AppInstanceArn: awsv1.String(aiArn), Name: awsv1.String(name),
			Mode: awsv1.String(chime.ChannelModeUnrestricted), Privacy: awsv1.String(privacy),
			ChimeBearer: awsv1.String(bearer), ClientRequestToken: awsv1.String(token())})
		if err != nil {
			t.Fatalf("legacy CreateChannel: %v", err)
		}
		return *out.ChannelArn
	}
	pub := newChannel(erin, "public", chime.ChannelPrivacyPublic)
	priv := newChannel(erin, "private", chime.ChannelPrivacyPrivate)

	// CreateChannelMembership: 201 with the member, and InvitedBy is the bearer.
	m, err := c.CreateChannelMembership(&chime.CreateChannelMembershipInput{ChannelArn: awsv1.String(pub), MemberArn: awsv1.String(frank),
		Type: awsv1.String(chime.ChannelMembershipTypeDefault), ChimeBearer: awsv1.String(erin)})
	noErr(t, err)
	if *m.ChannelArn != pub || *m.Member.Arn != frank || *m.Member.Name != "name of frank:1" {
		t.Fatalf("legacy CreateChannelMembership = %v", m)
	}
	d, err := e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(pub),
		MemberArn: aws.String(frank), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if *d.ChannelMembership.InvitedBy.Arn != erin || d.ChannelMembership.Type != "DEFAULT" {
		t.Fatalf("membership made through the legacy client: %+v", d.ChannelMembership)
	}
	// Adding an existing member again returns the membership as it stands (D1).
	_, err = c.CreateChannelMembership(&chime.CreateChannelMembershipInput{ChannelArn: awsv1.String(pub), MemberArn: awsv1.String(frank),
		Type: awsv1.String(chime.ChannelMembershipTypeDefault), ChimeBearer: awsv1.String(erin)})
	noErr(t, err)

	// BatchCreateChannelMembership: partial success, an unknown user is a Forbidden entry (D4).
	ghost := aiArn + "/user/ghost"
	b, err := c.BatchCreateChannelMembership(&chime.BatchCreateChannelMembershipInput{ChannelArn: awsv1.String(priv),
		MemberArns: awsv1.StringSlice([]string{frank, ghost, gina}), Type: awsv1.String(chime.ChannelMembershipTypeDefault), ChimeBearer: awsv1.String(erin)})
	noErr(t, err)
	bm := b.BatchChannelMemberships
	var added []string
	for _, id := range bm.Members {
		added = append(added, *id.Arn)
	}
	if *bm.ChannelArn != priv || *bm.InvitedBy.Arn != erin || *bm.Type != "DEFAULT" || !slices.Equal(added, []string{frank, gina}) {
		t.Fatalf("legacy batch memberships = %v", bm)
	}
	if len(b.Errors) != 1 || *b.Errors[0].MemberArn != ghost || *b.Errors[0].ErrorCode != chime.ErrorCodeForbidden || *b.Errors[0].ErrorMessage == "" {
		t.Fatalf("legacy batch errors = %v", b.Errors)
	}

	// ListChannelMembershipsForAppInstanceUser: the bearer's own, in the order joined (D7).
	l, err := c.ListChannelMembershipsForAppInstanceUser(&chime.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: awsv1.String(frank)})
	noErr(t, err)
	if len(l.ChannelMemberships) != 2 || l.NextToken != nil {
		t.Fatalf("legacy list = %v", l)
	}
	first, second := l.ChannelMemberships[0], l.ChannelMemberships[1]
	if s := first.ChannelSummary; *s.ChannelArn != pub || *s.Name != "public" || *s.Mode != chime.ChannelModeUnrestricted || *s.Privacy != chime.ChannelPrivacyPublic {
		t.Fatalf("first channel summary %v", s)
	}
	if *first.AppInstanceUserMembershipSummary.Type != chime.ChannelMembershipTypeDefault || *second.ChannelSummary.ChannelArn != priv {
		t.Fatalf("legacy list = %v", l)
	}
	// The same list for someone else: an admin may ask (percent-encoded ARN in the query), paged one at a time.
	var pages int
	var seen []string
	err = c.ListChannelMembershipsForAppInstanceUserPages(&chime.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: awsv1.String(admin),
		AppInstanceUserArn: awsv1.String(frank), MaxResults: awsv1.Int64(1)},
		func(out *chime.ListChannelMembershipsForAppInstanceUserOutput, last bool) bool {
			pages++
			for _, cm := range out.ChannelMemberships {
				seen = append(seen, *cm.ChannelSummary.ChannelArn)
			}
			return true
		})
	noErr(t, err)
	if pages != 2 || !slices.Equal(seen, []string{pub, priv}) {
		t.Fatalf("legacy paged list: %d pages %v", pages, seen)
	}
}

// TestLegacyChimeErrors: errors reach the v1 client typed by x-amzn-ErrorType,
// with the model's status: 403 for a non-member adding others (D9) and for
// an unknown member (D4), 401 for an unknown bearer (D5), 400 for MaxResults
// over 50 (D6) and a forged NextToken (D8), 404 for a missing channel (D3),
// 501 for an operation not built.
func TestLegacyChimeErrors(t *testing.T) {
	e := newEnv(t)
	c := e.legacyClient()
	ai := e.appInstance("legacy-errors")
	erin, frank, gina := e.user(ai, "erin"), e.user(ai, "frank"), e.user(ai, "gina")
	priv := e.channel(ai, erin, "UNRESTRICTED", "PRIVATE")

	add := func(ch, bearer, member string) error {
		_, err := c.CreateChannelMembership(&chime.CreateChannelMembershipInput{ChannelArn: awsv1.String(ch), MemberArn: awsv1.String(member),
			Type: awsv1.String(chime.ChannelMembershipTypeDefault), ChimeBearer: awsv1.String(bearer)})
		return err
	}
	wantLegacyErr(t, add(priv, frank, gina), "ForbiddenException", 403)
	wantLegacyErr(t, add(priv, frank, frank), "ForbiddenException", 403)
	wantLegacyErr(t, add(priv, erin, ai+"/user/ghost"), "ForbiddenException", 403)
	wantLegacyErr(t, add(priv, ai+"/user/ghost", frank), "UnauthorizedClientException", 401)
	wantLegacyErr(t, add(ai+"/channel/missing", erin, frank), "NotFoundException", 404)

	// A member of a RESTRICTED channel may add no one: the whole batch is 403 (D9).
	restricted := e.channel(ai, erin, "RESTRICTED", "PUBLIC")
	_, err := c.BatchCreateChannelMembership(&chime.BatchCreateChannelMembershipInput{ChannelArn: awsv1.String(restricted),
		MemberArns: awsv1.StringSlice([]string{frank}), ChimeBearer: awsv1.String(erin)})
	noErr(t, err)
	_, err = c.BatchCreateChannelMembership(&chime.BatchCreateChannelMembershipInput{ChannelArn: awsv1.String(restricted),
		MemberArns: awsv1.StringSlice([]string{gina}), ChimeBearer: awsv1.String(frank)})
	wantLegacyErr(t, err, "ForbiddenException", 403)
	// Over 100 MemberArns reaches the server (v1 checks only the minimum) and is a 400.
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%s/user/u%d", ai, i)
	}
	_, err = c.BatchCreateChannelMembership(&chime.BatchCreateChannelMembershipInput{ChannelArn: awsv1.String(restricted),
		MemberArns: awsv1.StringSlice(many), ChimeBearer: awsv1.String(erin)})
	wantLegacyErr(t, err, "BadRequestException", 400)

	_, err = c.ListChannelMembershipsForAppInstanceUser(&chime.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: awsv1.String(frank),
		AppInstanceUserArn: awsv1.String(erin)})
	wantLegacyErr(t, err, "ForbiddenException", 403)
	_, err = c.ListChannelMembershipsForAppInstanceUser(&chime.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: awsv1.String(erin), MaxResults: awsv1.Int64(51)})
	wantLegacyErr(t, err, "BadRequestException", 400)
	_, err = c.ListChannelMembershipsForAppInstanceUser(&chime.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: awsv1.String(erin), NextToken: awsv1.String("forged")})
	wantLegacyErr(t, err, "BadRequestException", 400)

	// An operation not built is a 501 naming the call the legacy client made,
	// though it shares its path with a current operation of another name.
	_, err = c.GetAppInstanceStreamingConfigurations(&chime.GetAppInstanceStreamingConfigurationsInput{AppInstanceArn: awsv1.String(ai)})
	wantLegacyErr(t, err, "NotImplementedException", 501)
	if msg := err.(awserr.Error).Message(); !strings.Contains(msg, "GetAppInstanceStreamingConfigurations") {
		t.Errorf("501 message %q does not name GetAppInstanceStreamingConfigurations", msg)
	}
	// The legacy TagResource (same path as the current one) tags meetings, which
	// Belfry does not build: 501, not a 400 that would blame the ARN.
	_, err = c.TagResource(&chime.TagResourceInput{ResourceARN: awsv1.String("arn:aws:chime::" + testAccount + ":meeting/5c7e6bb2-0d43-4a0e-9cb4-0b9d7b2a2f61"),
		Tags: []*chime.Tag{{Key: awsv1.String("k"), Value: awsv1.String("v")}}})
	wantLegacyErr(t, err, "NotImplementedException", 501)
}

// TestLegacyOptionalMembers: members the legacy chime model leaves optional
// and the current one requires (notRequired in internal/api/model.go) may be
// left out by a legacy client, and leaving one out leaves its value as it was.
func TestLegacyOptionalMembers(t *testing.T) {
	e := newEnv(t)
	c := e.legacyClient()
	ai, err := c.CreateAppInstance(&chime.CreateAppInstanceInput{Name: awsv1.String("a"), Metadata: awsv1.String("ai meta"), ClientRequestToken: awsv1.String(token())})
	noErr(t, err)
	u, err := c.CreateAppInstanceUser(&chime.CreateAppInstanceUserInput{AppInstanceArn: ai.AppInstanceArn, AppInstanceUserId: awsv1.String("erin"),
		Name: awsv1.String("Erin"), Metadata: awsv1.String("user meta"), ClientRequestToken: awsv1.String(token())})
	noErr(t, err)

	aiState := func() (name, metadata string) {
		t.Helper()
		da, err := c.DescribeAppInstance(&chime.DescribeAppInstanceInput{AppInstanceArn: ai.AppInstanceArn})
		noErr(t, err)
		return awsv1.StringValue(da.AppInstance.Name), awsv1.StringValue(da.AppInstance.Metadata)
	}
	_, err = c.UpdateAppInstance(&chime.UpdateAppInstanceInput{AppInstanceArn: ai.AppInstanceArn, Name: awsv1.String("renamed")})
	noErr(t, err)
	if name, meta := aiState(); name != "renamed" || meta != "ai meta" {
		t.Errorf("UpdateAppInstance without Metadata: name %q metadata %q, want renamed and the metadata unchanged", name, meta)
	}
	// Metadata given, even empty, is set.
	_, err = c.UpdateAppInstance(&chime.UpdateAppInstanceInput{AppInstanceArn: ai.AppInstanceArn, Name: awsv1.String("renamed"), Metadata: awsv1.String("")})
	noErr(t, err)
	if _, meta := aiState(); meta != "" {
		t.Errorf("UpdateAppInstance with empty Metadata left %q", meta)
	}

	_, err = c.UpdateAppInstanceUser(&chime.UpdateAppInstanceUserInput{AppInstanceUserArn: u.AppInstanceUserArn, Name: awsv1.String("Erin B")})
	noErr(t, err)
	du, err := c.DescribeAppInstanceUser(&chime.DescribeAppInstanceUserInput{AppInstanceUserArn: u.AppInstanceUserArn})
	noErr(t, err)
	if awsv1.StringValue(du.AppInstanceUser.Name) != "Erin B" || awsv1.StringValue(du.AppInstanceUser.Metadata) != "user meta" {
		t.Errorf("UpdateAppInstanceUser without Metadata: name %q metadata %q, want Erin B and the metadata unchanged",
			awsv1.StringValue(du.AppInstanceUser.Name), awsv1.StringValue(du.AppInstanceUser.Metadata))
	}

	ch, err := c.CreateChannel(&chime.CreateChannelInput{AppInstanceArn: ai.AppInstanceArn, Name: awsv1.String("c"),
		ChimeBearer: u.AppInstanceUserArn, ClientRequestToken: awsv1.String(token())})
	noErr(t, err)
	sent, err := c.SendChannelMessage(&chime.SendChannelMessageInput{ChannelArn: ch.ChannelArn, Content: awsv1.String("hello"),
		Metadata: awsv1.String("v1"), Type: awsv1.String(chime.ChannelMessageTypeStandard), Persistence: awsv1.String(chime.ChannelMessagePersistenceTypePersistent),
		ChimeBearer: u.AppInstanceUserArn, ClientRequestToken: awsv1.String(token())})
	noErr(t, err)
	_, err = c.UpdateChannelMessage(&chime.UpdateChannelMessageInput{ChannelArn: ch.ChannelArn, MessageId: sent.MessageId,
		Metadata: awsv1.String("v2"), ChimeBearer: u.AppInstanceUserArn})
	noErr(t, err)
	gm, err := c.GetChannelMessage(&chime.GetChannelMessageInput{ChannelArn: ch.ChannelArn, MessageId: sent.MessageId, ChimeBearer: u.AppInstanceUserArn})
	noErr(t, err)
	if awsv1.StringValue(gm.ChannelMessage.Content) != "hello" || awsv1.StringValue(gm.ChannelMessage.Metadata) != "v2" || gm.ChannelMessage.LastEditedTimestamp == nil {
		t.Errorf("UpdateChannelMessage without Content: content %q metadata %q edited %v, want hello, v2 and an edit time",
			awsv1.StringValue(gm.ChannelMessage.Content), awsv1.StringValue(gm.ChannelMessage.Metadata), gm.ChannelMessage.LastEditedTimestamp)
	}
}
