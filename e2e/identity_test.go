package e2e

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"

	"github.com/belfry/belfry/internal/service"
)

// clockStart is the fake clock's first reading: it has a millisecond
// fraction, so a lost or rounded fraction shows.
var clockStart = time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

// pathEsc percent-encodes s for one path segment the way the SDKs do
// (':', '/' and '@' included).
func pathEsc(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// epochText is how rule D13 writes t in a REST body: epoch seconds with milliseconds.
func epochText(t time.Time) string {
	return fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6)
}

// wantTime fails unless got is want to the millisecond.
func wantTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: missing, want %s", what, want.Format(time.RFC3339Nano))
	}
	if !got.Equal(want) {
		t.Fatalf("%s: got %s, want %s", what, got.UTC().Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

// missingAppInstance is a well-formed ARN of an app instance that does not exist.
const missingAppInstance = "arn:aws:chime:us-east-1:" + testAccount + ":app-instance/00000000-0000-4000-8000-000000000000"

// lexConfig is a valid bot configuration; the model requires one.
func lexConfig(locale string) *idtypes.Configuration {
	return &idtypes.Configuration{Lex: &idtypes.LexConfiguration{
		LexBotAliasArn: aws.String("arn:aws:lex:us-east-1:" + testAccount + ":bot-alias/ABCDEFGHIJ/KLMNOPQRST"),
		LocaleId:       aws.String(locale),
		InvokedBy:      &idtypes.InvokedBy{StandardMessages: idtypes.StandardMessagesAll, TargetedMessages: idtypes.TargetedMessagesNone},
	}}
}

func TestIdentityAppInstanceLifecycle_D3_D13(t *testing.T) {
	clk := newFakeClock(clockStart)
	e := newEnv(t, withClock(clk))
	out, err := e.ID.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("app"), Metadata: aws.String(`{"k":1}`),
		ClientRequestToken: aws.String(token())})
	noErr(t, err)
	if s := httpStatus(out.ResultMetadata); s != 201 {
		t.Fatalf("CreateAppInstance status %d, want 201", s)
	}
	ai := *out.AppInstanceArn
	d, err := e.ID.DescribeAppInstance(e.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	a := d.AppInstance
	if *a.AppInstanceArn != ai || *a.Name != "app" || aws.ToString(a.Metadata) != `{"k":1}` {
		t.Fatalf("DescribeAppInstance: %+v", a)
	}
	wantTime(t, "CreatedTimestamp", a.CreatedTimestamp, clockStart)
	wantTime(t, "LastUpdatedTimestamp", a.LastUpdatedTimestamp, clockStart)

	// D13: epoch seconds as a JSON number with the milliseconds.
	status, _, body := e.raw("GET", "/app-instances/"+pathEsc(ai), nil, "")
	if status != 200 || !strings.Contains(body, `"CreatedTimestamp":`+epochText(clockStart)) {
		t.Fatalf("raw DescribeAppInstance %d: %s (want CreatedTimestamp %s)", status, body, epochText(clockStart))
	}

	clk.Advance(90*time.Second + 123*time.Millisecond)
	up, err := e.ID.UpdateAppInstance(e.ctx, &chimesdkidentity.UpdateAppInstanceInput{AppInstanceArn: aws.String(ai), Name: aws.String("renamed"), Metadata: aws.String("m2")})
	noErr(t, err)
	if *up.AppInstanceArn != ai {
		t.Fatalf("UpdateAppInstance returned %s", *up.AppInstanceArn)
	}
	d, err = e.ID.DescribeAppInstance(e.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if *d.AppInstance.Name != "renamed" || aws.ToString(d.AppInstance.Metadata) != "m2" {
		t.Fatalf("after update: %+v", d.AppInstance)
	}
	wantTime(t, "CreatedTimestamp after update", d.AppInstance.CreatedTimestamp, clockStart)
	wantTime(t, "LastUpdatedTimestamp after update", d.AppInstance.LastUpdatedTimestamp, clockStart.Add(90*time.Second+123*time.Millisecond))

	list, err := e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{})
	noErr(t, err)
	if len(list.AppInstances) != 1 || *list.AppInstances[0].AppInstanceArn != ai || *list.AppInstances[0].Name != "renamed" || list.NextToken != nil {
		t.Fatalf("ListAppInstances: %+v", list)
	}

	del, err := e.ID.DeleteAppInstance(e.ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if s := httpStatus(del.ResultMetadata); s != 204 {
		t.Fatalf("DeleteAppInstance status %d, want 204", s)
	}
	_, err = e.ID.DescribeAppInstance(e.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	wantErr(t, err, "NotFoundException")
	if errStatus(err) != 404 {
		t.Fatalf("DescribeAppInstance of a deleted app instance: status %d", errStatus(err))
	}
	_, err = e.ID.UpdateAppInstance(e.ctx, &chimesdkidentity.UpdateAppInstanceInput{AppInstanceArn: aws.String(ai), Name: aws.String("x"), Metadata: aws.String("")})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DeleteAppInstance(e.ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(ai)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DescribeAppInstance(e.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(missingAppInstance)})
	wantErr(t, err, "NotFoundException")
	list, err = e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{})
	noErr(t, err)
	if len(list.AppInstances) != 0 {
		t.Fatalf("ListAppInstances after delete: %+v", list.AppInstances)
	}
}

func TestIdentityAppInstanceUserLifecycle_D3(t *testing.T) {
	clk := newFakeClock(clockStart)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("users")
	ids := []string{"erin@example.com", "a:b.c-d_e", "bob"}
	var arns []string
	for _, id := range ids {
		out, err := e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(id), Name: aws.String("name of " + id), Metadata: aws.String("meta " + id),
			ClientRequestToken: aws.String(token())})
		noErr(t, err)
		if s := httpStatus(out.ResultMetadata); s != 201 {
			t.Fatalf("CreateAppInstanceUser status %d", s)
		}
		if want := ai + "/user/" + id; *out.AppInstanceUserArn != want {
			t.Fatalf("user ARN %s, want %s", *out.AppInstanceUserArn, want)
		}
		arns = append(arns, *out.AppInstanceUserArn)
		clk.Advance(time.Millisecond)
	}
	for i, arn := range arns {
		d, err := e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(arn)})
		noErr(t, err)
		u := d.AppInstanceUser
		if *u.AppInstanceUserArn != arn || *u.Name != "name of "+ids[i] || aws.ToString(u.Metadata) != "meta "+ids[i] {
			t.Fatalf("DescribeAppInstanceUser %s: %+v", arn, u)
		}
		at := clockStart.Add(time.Duration(i) * time.Millisecond)
		wantTime(t, "CreatedTimestamp", u.CreatedTimestamp, at)
		wantTime(t, "LastUpdatedTimestamp", u.LastUpdatedTimestamp, at)
	}
	// The ARN arrives fully percent-encoded in one path segment ('@' as %40, ':' as %3A).
	status, _, body := e.raw("GET", "/app-instance-users/"+pathEsc(arns[0]), nil, "")
	if status != 200 || !strings.Contains(body, `"erin@example.com"`) && !strings.Contains(body, arns[0]) {
		t.Fatalf("raw DescribeAppInstanceUser %s: %d %s", pathEsc(arns[0]), status, body)
	}

	list, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(list.AppInstanceUsers) != len(arns) || list.NextToken != nil || aws.ToString(list.AppInstanceArn) != ai {
		t.Fatalf("ListAppInstanceUsers: %+v", list)
	}
	for i, u := range list.AppInstanceUsers { // D7: creation order
		if *u.AppInstanceUserArn != arns[i] || *u.Name != "name of "+ids[i] {
			t.Fatalf("ListAppInstanceUsers[%d] = %s, want %s", i, *u.AppInstanceUserArn, arns[i])
		}
	}

	clk.Advance(time.Hour)
	up, err := e.ID.UpdateAppInstanceUser(e.ctx, &chimesdkidentity.UpdateAppInstanceUserInput{AppInstanceUserArn: aws.String(arns[1]),
		Name: aws.String("new name"), Metadata: aws.String("new meta")})
	noErr(t, err)
	if *up.AppInstanceUserArn != arns[1] {
		t.Fatalf("UpdateAppInstanceUser returned %s", *up.AppInstanceUserArn)
	}
	d, err := e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(arns[1])})
	noErr(t, err)
	if *d.AppInstanceUser.Name != "new name" || aws.ToString(d.AppInstanceUser.Metadata) != "new meta" {
		t.Fatalf("after update: %+v", d.AppInstanceUser)
	}
	wantTime(t, "CreatedTimestamp after update", d.AppInstanceUser.CreatedTimestamp, clockStart.Add(time.Millisecond))
	wantTime(t, "LastUpdatedTimestamp after update", d.AppInstanceUser.LastUpdatedTimestamp, clockStart.Add(time.Hour+3*time.Millisecond))

	// ExpirationSettings round-trip.
	exp, err := e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
		AppInstanceUserId: aws.String("temp"), Name: aws.String("temp"), ClientRequestToken: aws.String(token()),
		ExpirationSettings: &idtypes.ExpirationSettings{ExpirationDays: aws.Int32(7), ExpirationCriterion: idtypes.ExpirationCriterionCreatedTimestamp}})
	noErr(t, err)
	d, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: exp.AppInstanceUserArn})
	noErr(t, err)
	if es := d.AppInstanceUser.ExpirationSettings; es == nil || aws.ToInt32(es.ExpirationDays) != 7 || es.ExpirationCriterion != idtypes.ExpirationCriterionCreatedTimestamp {
		t.Fatalf("ExpirationSettings: %+v", es)
	}

	del, err := e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(arns[0])})
	noErr(t, err)
	if s := httpStatus(del.ResultMetadata); s != 204 {
		t.Fatalf("DeleteAppInstanceUser status %d", s)
	}
	_, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(arns[0])})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.UpdateAppInstanceUser(e.ctx, &chimesdkidentity.UpdateAppInstanceUserInput{AppInstanceUserArn: aws.String(arns[0]), Name: aws.String("x"), Metadata: aws.String("")})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(arns[0])})
	wantErr(t, err, "NotFoundException")
	list, err = e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(list.AppInstanceUsers) != 3 || *list.AppInstanceUsers[0].AppInstanceUserArn != arns[1] {
		t.Fatalf("ListAppInstanceUsers after delete: %+v", list.AppInstanceUsers)
	}

	// D3 for a missing app instance, and a bot is not a user.
	_, err = e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(missingAppInstance),
		AppInstanceUserId: aws.String("x"), Name: aws.String("x"), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(missingAppInstance)})
	wantErr(t, err, "NotFoundException")
	bot := e.bot(ai, "bot")
	_, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(bot)})
	wantErr(t, err, "NotFoundException")
}

func TestIdentityAppInstanceBotLifecycle_D3(t *testing.T) {
	clk := newFakeClock(clockStart)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("bots")
	user := e.user(ai, "human")
	out, err := e.ID.CreateAppInstanceBot(e.ctx, &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(ai), Name: aws.String("helper"),
		Metadata: aws.String("bot meta"), ClientRequestToken: aws.String(token()), Configuration: lexConfig("en_US")})
	noErr(t, err)
	if s := httpStatus(out.ResultMetadata); s != 201 {
		t.Fatalf("CreateAppInstanceBot status %d", s)
	}
	bot := *out.AppInstanceBotArn
	if !strings.HasPrefix(bot, ai+"/bot/") || len(bot) != len(ai+"/bot/")+36 { // D15: a UUID
		t.Fatalf("bot ARN %s", bot)
	}
	d, err := e.ID.DescribeAppInstanceBot(e.ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	noErr(t, err)
	b := d.AppInstanceBot
	if *b.AppInstanceBotArn != bot || aws.ToString(b.Name) != "helper" || aws.ToString(b.Metadata) != "bot meta" {
		t.Fatalf("DescribeAppInstanceBot: %+v", b)
	}
	if b.Configuration == nil || b.Configuration.Lex == nil || aws.ToString(b.Configuration.Lex.LocaleId) != "en_US" ||
		aws.ToString(b.Configuration.Lex.LexBotAliasArn) != aws.ToString(lexConfig("en_US").Lex.LexBotAliasArn) ||
		b.Configuration.Lex.InvokedBy == nil || b.Configuration.Lex.InvokedBy.StandardMessages != idtypes.StandardMessagesAll {
		t.Fatalf("bot Configuration: %+v", b.Configuration)
	}
	wantTime(t, "CreatedTimestamp", b.CreatedTimestamp, clockStart)

	bots, err := e.ID.ListAppInstanceBots(e.ctx, &chimesdkidentity.ListAppInstanceBotsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(bots.AppInstanceBots) != 1 || *bots.AppInstanceBots[0].AppInstanceBotArn != bot || bots.NextToken != nil {
		t.Fatalf("ListAppInstanceBots: %+v", bots)
	}
	users, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(users.AppInstanceUsers) != 1 || *users.AppInstanceUsers[0].AppInstanceUserArn != user {
		t.Fatalf("ListAppInstanceUsers lists bots: %+v", users.AppInstanceUsers)
	}

	clk.Advance(2 * time.Second)
	_, err = e.ID.UpdateAppInstanceBot(e.ctx, &chimesdkidentity.UpdateAppInstanceBotInput{AppInstanceBotArn: aws.String(bot), Name: aws.String("helper 2"),
		Metadata: aws.String("m2"), Configuration: lexConfig("de_DE")})
	noErr(t, err)
	d, err = e.ID.DescribeAppInstanceBot(e.ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	noErr(t, err)
	b = d.AppInstanceBot
	if aws.ToString(b.Name) != "helper 2" || aws.ToString(b.Metadata) != "m2" || aws.ToString(b.Configuration.Lex.LocaleId) != "de_DE" {
		t.Fatalf("after update: %+v %+v", b, b.Configuration.Lex)
	}
	wantTime(t, "CreatedTimestamp after update", b.CreatedTimestamp, clockStart)
	wantTime(t, "LastUpdatedTimestamp after update", b.LastUpdatedTimestamp, clockStart.Add(2*time.Second))

	// A user is not a bot.
	_, err = e.ID.DescribeAppInstanceBot(e.ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(user)})
	wantErr(t, err, "NotFoundException")

	del, err := e.ID.DeleteAppInstanceBot(e.ctx, &chimesdkidentity.DeleteAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	noErr(t, err)
	if s := httpStatus(del.ResultMetadata); s != 204 {
		t.Fatalf("DeleteAppInstanceBot status %d", s)
	}
	_, err = e.ID.DescribeAppInstanceBot(e.ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DeleteAppInstanceBot(e.ctx, &chimesdkidentity.DeleteAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.UpdateAppInstanceBot(e.ctx, &chimesdkidentity.UpdateAppInstanceBotInput{AppInstanceBotArn: aws.String(bot), Name: aws.String("x"), Metadata: aws.String("")})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.CreateAppInstanceBot(e.ctx, &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(missingAppInstance),
		ClientRequestToken: aws.String(token()), Configuration: lexConfig("en_US")})
	wantErr(t, err, "NotFoundException")
}

func TestIdentityAppInstanceAdminLifecycle_D3_D4(t *testing.T) {
	clk := newFakeClock(clockStart)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("admins")
	erin := e.user(ai, "erin@example.com")
	bob := e.user(ai, "bob")
	bot := e.bot(ai, "bot")
	other := e.user(e.appInstance("other"), "stranger")

	out, err := e.ID.CreateAppInstanceAdmin(e.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(erin)})
	noErr(t, err)
	if s := httpStatus(out.ResultMetadata); s != 201 {
		t.Fatalf("CreateAppInstanceAdmin status %d", s)
	}
	if *out.AppInstanceArn != ai || *out.AppInstanceAdmin.Arn != erin || aws.ToString(out.AppInstanceAdmin.Name) != "name of erin@example.com" {
		t.Fatalf("CreateAppInstanceAdmin: %+v %+v", out, out.AppInstanceAdmin)
	}
	clk.Advance(time.Second)
	e.admin(ai, bot) // bots can be admins too

	d, err := e.ID.DescribeAppInstanceAdmin(e.ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(erin)})
	noErr(t, err)
	if a := d.AppInstanceAdmin; *a.AppInstanceArn != ai || *a.Admin.Arn != erin || aws.ToString(a.Admin.Name) != "name of erin@example.com" {
		t.Fatalf("DescribeAppInstanceAdmin: %+v", a)
	}
	wantTime(t, "admin CreatedTimestamp", d.AppInstanceAdmin.CreatedTimestamp, clockStart)

	list, err := e.ID.ListAppInstanceAdmins(e.ctx, &chimesdkidentity.ListAppInstanceAdminsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(list.AppInstanceAdmins) != 2 || *list.AppInstanceAdmins[0].Admin.Arn != erin || *list.AppInstanceAdmins[1].Admin.Arn != bot ||
		aws.ToString(list.AppInstanceArn) != ai || list.NextToken != nil {
		t.Fatalf("ListAppInstanceAdmins: %+v", list)
	}

	// Not an admin, another app instance's user (D4), a missing app instance (D3).
	_, err = e.ID.DescribeAppInstanceAdmin(e.ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(bob)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.CreateAppInstanceAdmin(e.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(other)})
	wantErr(t, err, "ForbiddenException")
	_, err = e.ID.CreateAppInstanceAdmin(e.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(ai + "/user/ghost")})
	wantErr(t, err, "ForbiddenException")
	_, err = e.ID.CreateAppInstanceAdmin(e.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(missingAppInstance), AppInstanceAdminArn: aws.String(bob)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.ListAppInstanceAdmins(e.ctx, &chimesdkidentity.ListAppInstanceAdminsInput{AppInstanceArn: aws.String(missingAppInstance)})
	wantErr(t, err, "NotFoundException")

	del, err := e.ID.DeleteAppInstanceAdmin(e.ctx, &chimesdkidentity.DeleteAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(erin)})
	noErr(t, err)
	if s := httpStatus(del.ResultMetadata); s != 204 {
		t.Fatalf("DeleteAppInstanceAdmin status %d", s)
	}
	_, err = e.ID.DescribeAppInstanceAdmin(e.ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(erin)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DeleteAppInstanceAdmin(e.ctx, &chimesdkidentity.DeleteAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(erin)})
	wantErr(t, err, "NotFoundException")
	// The user stays.
	_, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(erin)})
	noErr(t, err)
	list, err = e.ID.ListAppInstanceAdmins(e.ctx, &chimesdkidentity.ListAppInstanceAdminsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(list.AppInstanceAdmins) != 1 || *list.AppInstanceAdmins[0].Admin.Arn != bot {
		t.Fatalf("ListAppInstanceAdmins after delete: %+v", list.AppInstanceAdmins)
	}
}

// TestIdentityDeleteAppInstanceCascade_D3: deleting an app instance removes
// its users, bots, admins and channels, and nothing of another app instance.
func TestIdentityDeleteAppInstanceCascade_D3(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("doomed")
	erin := e.user(ai, "erin@example.com")
	bob := e.user(ai, "bob")
	bot := e.bot(ai, "bot")
	e.admin(ai, bob)
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch), MemberArn: aws.String(bob),
		Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	noErr(t, err)

	keep := e.appInstance("kept")
	keepUser := e.user(keep, "erin@example.com")
	keepCh := e.channel(keep, keepUser, "UNRESTRICTED", "PUBLIC")

	_, err = e.ID.DeleteAppInstance(e.ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)

	_, err = e.ID.DescribeAppInstance(e.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	wantErr(t, err, "NotFoundException")
	for _, u := range []string{erin, bob} {
		_, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)})
		wantErr(t, err, "NotFoundException")
	}
	_, err = e.ID.DescribeAppInstanceBot(e.ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DescribeAppInstanceAdmin(e.ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(bob)})
	wantErr(t, err, "NotFoundException")
	// The channel is gone (its bearer is too, so ask through the tag API).
	_, err = e.Msg.ListTagsForResource(e.ctx, &chimesdkmessaging.ListTagsForResourceInput{ResourceARN: aws.String(ch)})
	wantErr(t, err, "NotFoundException")
	// A bearer of the deleted app instance is no bearer at all (D5).
	_, err = e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	wantErr(t, err, "UnauthorizedClientException")

	// The other app instance is untouched.
	d, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(keepCh), ChimeBearer: aws.String(keepUser)})
	noErr(t, err)
	if *d.Channel.ChannelArn != keepCh {
		t.Fatalf("DescribeChannel of the kept channel: %+v", d.Channel)
	}
	m, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(keepCh), ChimeBearer: aws.String(keepUser)})
	noErr(t, err)
	if len(m.ChannelMemberships) != 1 || *m.ChannelMemberships[0].Member.Arn != keepUser {
		t.Fatalf("kept channel memberships: %+v", m.ChannelMemberships)
	}

	_, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(keepUser)})
	noErr(t, err)
}

// TestIdentityDeleteAppInstanceUserCascade: deleting a user removes its
// memberships, moderator roles and admin role, seen through the messaging API.
func TestIdentityDeleteAppInstanceUserCascade(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("cascade")
	erin := e.user(ai, "erin@example.com")
	bob := e.user(ai, "bob")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch), MemberArn: aws.String(bob),
		Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	_, err = e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(ch), ChannelModeratorArn: aws.String(bob),
		ChimeBearer: aws.String(erin)})
	noErr(t, err)
	bobCh := e.channel(ai, bob, "RESTRICTED", "PRIVATE") // bob is member and moderator there
	e.admin(ai, bob)

	// Before: bob is in both channels and moderates both.
	ms, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	noErr(t, err)
	if len(ms.ChannelMemberships) != 2 {
		t.Fatalf("bob's memberships before: %+v", ms.ChannelMemberships)
	}

	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(bob)})
	noErr(t, err)

	mem, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(mem.ChannelMemberships) != 1 || *mem.ChannelMemberships[0].Member.Arn != erin {
		t.Fatalf("memberships after deleting bob: %+v", mem.ChannelMemberships)
	}
	mods, err := e.Msg.ListChannelModerators(e.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(mods.ChannelModerators) != 1 || *mods.ChannelModerators[0].Moderator.Arn != erin {
		t.Fatalf("moderators after deleting bob: %+v", mods.ChannelModerators)
	}
	_, err = e.Msg.DescribeChannelMembership(e.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch), MemberArn: aws.String(bob), ChimeBearer: aws.String(erin)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DescribeAppInstanceAdmin(e.ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(bob)})
	wantErr(t, err, "NotFoundException")
	admins, err := e.ID.ListAppInstanceAdmins(e.ctx, &chimesdkidentity.ListAppInstanceAdminsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(admins.AppInstanceAdmins) != 0 {
		t.Fatalf("admins after deleting bob: %+v", admins.AppInstanceAdmins)
	}

	// A new user with bob's id starts with nothing: no memberships, no
	// moderated channels, no admin role.
	bob2 := e.user(ai, "bob")
	if bob2 != bob {
		t.Fatalf("recreated ARN %s, want %s", bob2, bob)
	}
	ms, err = e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	noErr(t, err)
	if len(ms.ChannelMemberships) != 0 {
		t.Fatalf("recreated bob's memberships: %+v", ms.ChannelMemberships)
	}
	mod, err := e.Msg.ListChannelsModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelsModeratedByAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	noErr(t, err)
	if len(mod.Channels) != 0 {
		t.Fatalf("recreated bob moderates: %+v", mod.Channels)
	}
	_, err = e.Msg.ListTagsForResource(e.ctx, &chimesdkmessaging.ListTagsForResourceInput{ResourceARN: aws.String(bobCh)})
	noErr(t, err) // bob's channel outlives him
}

func TestCreateAppInstanceIdempotency_D12(t *testing.T) {
	e := newEnv(t)
	tok := token()
	in := func(name string) *chimesdkidentity.CreateAppInstanceInput {
		return &chimesdkidentity.CreateAppInstanceInput{Name: aws.String(name), Metadata: aws.String("m"), ClientRequestToken: aws.String(tok)}
	}
	first, err := e.ID.CreateAppInstance(e.ctx, in("app"))
	noErr(t, err)
	again, err := e.ID.CreateAppInstance(e.ctx, in("app"))
	noErr(t, err)
	if *again.AppInstanceArn != *first.AppInstanceArn {
		t.Fatalf("same token, same params: %s then %s", *first.AppInstanceArn, *again.AppInstanceArn)
	}
	_, err = e.ID.CreateAppInstance(e.ctx, in("different"))
	wantErr(t, err, "ConflictException")
	if errStatus(err) != 409 {
		t.Fatalf("status %d, want 409", errStatus(err))
	}
	other, err := e.ID.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("app"), Metadata: aws.String("m"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	if *other.AppInstanceArn == *first.AppInstanceArn {
		t.Fatal("a new token returned the old app instance")
	}
	list, err := e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{})
	noErr(t, err)
	if len(list.AppInstances) != 2 {
		t.Fatalf("want 2 app instances, got %+v", list.AppInstances)
	}
}

func TestCreateAppInstanceUserIdempotency_D12(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("idem")
	tok := token()
	in := func(id, name string) *chimesdkidentity.CreateAppInstanceUserInput {
		return &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai), AppInstanceUserId: aws.String(id), Name: aws.String(name),
			ClientRequestToken: aws.String(tok)}
	}
	first, err := e.ID.CreateAppInstanceUser(e.ctx, in("erin@example.com", "Erin"))
	noErr(t, err)
	again, err := e.ID.CreateAppInstanceUser(e.ctx, in("erin@example.com", "Erin"))
	noErr(t, err)
	if *again.AppInstanceUserArn != *first.AppInstanceUserArn {
		t.Fatalf("same token, same params: %s then %s", *first.AppInstanceUserArn, *again.AppInstanceUserArn)
	}
	_, err = e.ID.CreateAppInstanceUser(e.ctx, in("erin@example.com", "Someone else"))
	wantErr(t, err, "ConflictException")
	_, err = e.ID.CreateAppInstanceUser(e.ctx, in("frank", "Erin"))
	wantErr(t, err, "ConflictException")
	// The same id with a new token is a duplicate.
	_, err = e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
		AppInstanceUserId: aws.String("erin@example.com"), Name: aws.String("Erin"), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "ConflictException")
	var ce *idtypes.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("want a typed *ConflictException, got %T", err)
	}
	d, err := e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: first.AppInstanceUserArn})
	noErr(t, err)
	if *d.AppInstanceUser.Name != "Erin" {
		t.Fatalf("a conflicting create changed the user: %+v", d.AppInstanceUser)
	}
	list, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(list.AppInstanceUsers) != 1 {
		t.Fatalf("want 1 user, got %+v", list.AppInstanceUsers)
	}
}

func TestCreateAppInstanceBotIdempotency_D12(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("idem")
	tok := token()
	in := func(name string) *chimesdkidentity.CreateAppInstanceBotInput {
		return &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(ai), Name: aws.String(name), ClientRequestToken: aws.String(tok),
			Configuration: lexConfig("en_US")}
	}
	first, err := e.ID.CreateAppInstanceBot(e.ctx, in("bot"))
	noErr(t, err)
	again, err := e.ID.CreateAppInstanceBot(e.ctx, in("bot"))
	noErr(t, err)
	if *again.AppInstanceBotArn != *first.AppInstanceBotArn { // bot ids are random: only a replay gives the same ARN
		t.Fatalf("same token, same params: %s then %s", *first.AppInstanceBotArn, *again.AppInstanceBotArn)
	}
	_, err = e.ID.CreateAppInstanceBot(e.ctx, in("other bot"))
	wantErr(t, err, "ConflictException")
	changed := in("bot")
	changed.Configuration = lexConfig("fr_FR")
	_, err = e.ID.CreateAppInstanceBot(e.ctx, changed)
	wantErr(t, err, "ConflictException")
	bots, err := e.ID.ListAppInstanceBots(e.ctx, &chimesdkidentity.ListAppInstanceBotsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(bots.AppInstanceBots) != 1 {
		t.Fatalf("want 1 bot, got %+v", bots.AppInstanceBots)
	}
}

func TestCreateChannelIdempotency_D12(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("idem")
	erin := e.user(ai, "erin@example.com")
	tok := token()
	in := func(name string) *chimesdkmessaging.CreateChannelInput {
		return &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String(name), ChimeBearer: aws.String(erin),
			ClientRequestToken: aws.String(tok), Mode: types.ChannelModeRestricted, Privacy: types.ChannelPrivacyPrivate}
	}
	first, err := e.Msg.CreateChannel(e.ctx, in("room"))
	noErr(t, err)
	again, err := e.Msg.CreateChannel(e.ctx, in("room"))
	noErr(t, err)
	if *again.ChannelArn != *first.ChannelArn {
		t.Fatalf("same token, same params: %s then %s", *first.ChannelArn, *again.ChannelArn)
	}
	_, err = e.Msg.CreateChannel(e.ctx, in("another room"))
	wantErr(t, err, "ConflictException")
	var ce *types.ConflictException
	if !errors.As(err, &ce) {
		t.Fatalf("want a typed *ConflictException, got %T", err)
	}
	list, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(list.ChannelMemberships) != 1 {
		t.Fatalf("want 1 channel, got %+v", list.ChannelMemberships)
	}
	// A duplicate ChannelId with a new token is a conflict too.
	withID := func(tok string) *chimesdkmessaging.CreateChannelInput {
		return &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("fixed"), ChimeBearer: aws.String(erin),
			ClientRequestToken: aws.String(tok), ChannelId: aws.String("fixed-id")}
	}
	fixed, err := e.Msg.CreateChannel(e.ctx, withID(token()))
	noErr(t, err)
	if *fixed.ChannelArn != ai+"/channel/fixed-id" {
		t.Fatalf("ChannelId ignored: %s", *fixed.ChannelArn)
	}
	_, err = e.Msg.CreateChannel(e.ctx, withID(token()))
	wantErr(t, err, "ConflictException")
}

// TestIdempotencyUnorderedLists_D12: the order of Tags, MemberArns and
// ModeratorArns means nothing, so the same ClientRequestToken with the same
// lists in another order is the same request and returns the original ARN;
// a changed tag value is still a ConflictException. Each failed replay is
// reported, so that the test names every operation that gets it wrong.
func TestIdempotencyUnorderedLists_D12(t *testing.T) {
	e := newEnv(t)
	idTags := func(kv ...string) []idtypes.Tag {
		var tags []idtypes.Tag
		for i := 0; i < len(kv); i += 2 {
			tags = append(tags, idtypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return tags
	}
	ordered, reordered, changed := idTags("env", "prod", "team", "chat", "cost", "7"), idTags("cost", "7", "team", "chat", "env", "prod"),
		idTags("cost", "8", "team", "chat", "env", "prod")

	appTok := token()
	app := func(tags []idtypes.Tag) *chimesdkidentity.CreateAppInstanceInput {
		return &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("app"), ClientRequestToken: aws.String(appTok), Tags: tags}
	}
	first, err := e.ID.CreateAppInstance(e.ctx, app(ordered))
	noErr(t, err)
	again, err := e.ID.CreateAppInstance(e.ctx, app(reordered))
	if err != nil || httpStatus(again.ResultMetadata) != 201 || *again.AppInstanceArn != *first.AppInstanceArn { // 201 as the model's CreateAppInstance
		t.Errorf("CreateAppInstance, tags reordered: %v; want 201 and %s", err, *first.AppInstanceArn)
	}
	_, err = e.ID.CreateAppInstance(e.ctx, app(changed))
	wantErr(t, err, "ConflictException")
	ai := *first.AppInstanceArn

	userTok := token()
	user := func(tags []idtypes.Tag) *chimesdkidentity.CreateAppInstanceUserInput {
		return &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai), AppInstanceUserId: aws.String("erin"), Name: aws.String("Erin"),
			ClientRequestToken: aws.String(userTok), Tags: tags}
	}
	u, err := e.ID.CreateAppInstanceUser(e.ctx, user(ordered))
	noErr(t, err)
	u2, err := e.ID.CreateAppInstanceUser(e.ctx, user(reordered))
	if err != nil || *u2.AppInstanceUserArn != *u.AppInstanceUserArn {
		t.Errorf("CreateAppInstanceUser, tags reordered: %v; want %s", err, *u.AppInstanceUserArn)
	}
	_, err = e.ID.CreateAppInstanceUser(e.ctx, user(changed))
	wantErr(t, err, "ConflictException")

	botTok := token()
	bot := func(tags []idtypes.Tag) *chimesdkidentity.CreateAppInstanceBotInput {
		return &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(ai), Name: aws.String("bot"), ClientRequestToken: aws.String(botTok),
			Configuration: lexConfig("en_US"), Tags: tags}
	}
	b, err := e.ID.CreateAppInstanceBot(e.ctx, bot(ordered))
	noErr(t, err)
	b2, err := e.ID.CreateAppInstanceBot(e.ctx, bot(reordered))
	if err != nil || *b2.AppInstanceBotArn != *b.AppInstanceBotArn { // bot ids are random: only a replay gives the same ARN
		t.Errorf("CreateAppInstanceBot, tags reordered: %v; want %s", err, *b.AppInstanceBotArn)
	}
	_, err = e.ID.CreateAppInstanceBot(e.ctx, bot(changed))
	wantErr(t, err, "ConflictException")

	erin, x, y, z := *u.AppInstanceUserArn, e.user(ai, "x"), e.user(ai, "y"), e.user(ai, "z")
	msgTags := func(tags []idtypes.Tag) []types.Tag {
		out := make([]types.Tag, len(tags))
		for i, tag := range tags {
			out[i] = types.Tag{Key: tag.Key, Value: tag.Value}
		}
		return out
	}
	chTok := token()
	channel := func(members, moderators []string, tags []idtypes.Tag) *chimesdkmessaging.CreateChannelInput {
		return &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("room"), ChimeBearer: aws.String(erin),
			ClientRequestToken: aws.String(chTok), MemberArns: members, ModeratorArns: moderators, Tags: msgTags(tags)}
	}
	ch, err := e.Msg.CreateChannel(e.ctx, channel([]string{x, y, z}, []string{y, z}, ordered))
	noErr(t, err)
	ch2, err := e.Msg.CreateChannel(e.ctx, channel([]string{z, x, y}, []string{z, y}, reordered))
	if err != nil || httpStatus(ch2.ResultMetadata) != 201 || *ch2.ChannelArn != *ch.ChannelArn {
		t.Errorf("CreateChannel, lists reordered: %v; want 201 and %s", err, *ch.ChannelArn)
	}
	_, err = e.Msg.CreateChannel(e.ctx, channel([]string{x, y, z}, []string{y, z}, changed))
	wantErr(t, err, "ConflictException")
	_, err = e.Msg.CreateChannel(e.ctx, channel([]string{x, y}, []string{y, z}, ordered))
	wantErr(t, err, "ConflictException")
	if got := listChannelArns(t, e, ai, erin, ""); len(got) != 1 {
		t.Errorf("channels after replays: %v, want exactly one", got)
	}
}

func TestQuotaAppInstancesPerAccount_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.AppInstancesPerAccount = 2
	e := newEnv(t, withQuotas(q))
	e.appInstance("one")
	e.appInstance("two")
	_, err := e.ID.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("three"), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "ResourceLimitExceededException")
	if errStatus(err) != 400 {
		t.Fatalf("ResourceLimitExceededException status %d, want 400", errStatus(err))
	}
	var rle *idtypes.ResourceLimitExceededException
	if !errors.As(err, &rle) {
		t.Fatalf("want a typed *ResourceLimitExceededException, got %T", err)
	}
	// The quota is per account: another account still has room.
	_, err = e.identityAs("us-east-1", "210987654321").CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("theirs"),
		ClientRequestToken: aws.String(token())})
	noErr(t, err)
}

func TestQuotaUsersPerAppInstance_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.UsersPerAppInstance = 3
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("small")
	a := e.user(ai, "a")
	e.user(ai, "b")
	e.user(ai, "c")
	_, err := e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai), AppInstanceUserId: aws.String("d"),
		Name: aws.String("d"), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "ResourceLimitExceededException")
	if errStatus(err) != 400 {
		t.Fatalf("status %d, want 400", errStatus(err))
	}
	e.bot(ai, "bots count apart") // users and bots have separate quotas
	e.user(e.appInstance("another"), "d")
	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(a)})
	noErr(t, err)
	e.user(ai, "d") // deleting frees a slot
}

func TestQuotaAdminsPerAppInstance_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.AdminsPerAppInstance = 1
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("small")
	a := e.user(ai, "a")
	b := e.user(ai, "b")
	e.admin(ai, a)
	_, err := e.ID.CreateAppInstanceAdmin(e.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(b)})
	wantErr(t, err, "ResourceLimitExceededException")
	if errStatus(err) != 400 {
		t.Fatalf("status %d, want 400", errStatus(err))
	}
	_, err = e.ID.DescribeAppInstanceAdmin(e.ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(b)})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.DeleteAppInstanceAdmin(e.ctx, &chimesdkidentity.DeleteAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(a)})
	noErr(t, err)
	e.admin(ai, b)
}

func TestQuotaTagsPerResource_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.TagsPerResource = 2
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("tags")
	tag := func(k string) *chimesdkidentity.TagResourceInput {
		return &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(ai), Tags: []idtypes.Tag{{Key: aws.String(k), Value: aws.String("v")}}}
	}
	_, err := e.ID.TagResource(e.ctx, tag("a"))
	noErr(t, err)
	_, err = e.ID.TagResource(e.ctx, tag("b"))
	noErr(t, err)
	_, err = e.ID.TagResource(e.ctx, tag("a")) // replacing a value adds nothing
	noErr(t, err)
	_, err = e.ID.TagResource(e.ctx, tag("c"))
	wantErr(t, err, "ResourceLimitExceededException")
	twice := tag("a")
	twice.Tags = append(twice.Tags, idtypes.Tag{Key: aws.String("a"), Value: aws.String("w")})
	_, err = e.ID.TagResource(e.ctx, twice)
	wantErr(t, err, "BadRequestException")
	_, err = e.ID.TagResource(e.ctx, tag("AWS:cost"))
	wantErr(t, err, "BadRequestException")
	tags, err := e.ID.ListTagsForResource(e.ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String(ai)})
	noErr(t, err)
	if len(tags.Tags) != 2 {
		t.Fatalf("a rejected TagResource left tags behind: %+v", tags.Tags)
	}

	// Tags given at creation count the same: three are refused and create
	// nothing; two are taken.
	idTags := func(keys ...string) []idtypes.Tag {
		var out []idtypes.Tag
		for _, k := range keys {
			out = append(out, idtypes.Tag{Key: aws.String(k), Value: aws.String("v")})
		}
		return out
	}
	msgTags := func(keys ...string) []types.Tag {
		var out []types.Tag
		for _, k := range keys {
			out = append(out, types.Tag{Key: aws.String(k), Value: aws.String("v")})
		}
		return out
	}
	owner := e.user(ai, "owner")
	creates := map[string]func(keys ...string) error{
		"CreateAppInstance": func(keys ...string) error {
			_, err := e.ID.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("t"), ClientRequestToken: aws.String(token()),
				Tags: idTags(keys...)})
			return err
		},
		"CreateAppInstanceUser": func(keys ...string) error {
			_, err := e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
				AppInstanceUserId: aws.String("u-" + strings.Join(keys, "")), Name: aws.String("t"), ClientRequestToken: aws.String(token()), Tags: idTags(keys...)})
			return err
		},
		"CreateAppInstanceBot": func(keys ...string) error {
			_, err := e.ID.CreateAppInstanceBot(e.ctx, &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(ai),
				Name: aws.String("t"), ClientRequestToken: aws.String(token()), Configuration: lexConfig("en_US"), Tags: idTags(keys...)})
			return err
		},
		"CreateChannel": func(keys ...string) error {
			_, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(owner),
				Name: aws.String("t"), ClientRequestToken: aws.String(token()), Tags: msgTags(keys...)})
			return err
		},
	}
	count := func() string {
		ais, err := e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{})
		noErr(t, err)
		users, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
		noErr(t, err)
		bots, err := e.ID.ListAppInstanceBots(e.ctx, &chimesdkidentity.ListAppInstanceBotsInput{AppInstanceArn: aws.String(ai)})
		noErr(t, err)
		return fmt.Sprintf("%d app instances, %d users, %d bots, %d channels", len(ais.AppInstances), len(users.AppInstanceUsers), len(bots.AppInstanceBots),
			listedChannels(t, e, ai, owner))
	}
	for name, create := range creates {
		t.Run(name, func(t *testing.T) {
			before := count()
			wantErr(t, create("x", "y", "z"), "ResourceLimitExceededException")
			// A key given twice, or one in AWS's own aws: namespace, is a 400.
			wantErr(t, create("x", "y", "x"), "BadRequestException")
			wantErr(t, create("aws:x"), "BadRequestException")
			if after := count(); after != before {
				t.Errorf("a refused create left %s, before %s", after, before)
			}
			noErr(t, create("x", "y"))
		})
	}
}

// TestAccountRegionFromSigV4_D14: the account is the 12-digit access key
// (else 000000000000), the region the credential scope's; each caller sees
// only its own account and region.
func TestAccountRegionFromSigV4_D14(t *testing.T) {
	e := newEnv(t)
	create := func(c *chimesdkidentity.Client, name string) string {
		t.Helper()
		out, err := c.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String(name), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		return *out.AppInstanceArn
	}
	eu := e.identityAs("eu-central-1", testAccount)
	other := e.identityAs("us-east-1", "210987654321")
	named := e.identityAs("us-east-1", "AKIAIOSFODNN7EXAMPLE")

	home := create(e.ID, "home")
	euArn := create(eu, "eu")
	otherArn := create(other, "other")
	namedArn := create(named, "named")
	for _, c := range []struct{ arn, prefix string }{
		{home, "arn:aws:chime:us-east-1:" + testAccount + ":app-instance/"},
		{euArn, "arn:aws:chime:eu-central-1:" + testAccount + ":app-instance/"},
		{otherArn, "arn:aws:chime:us-east-1:210987654321:app-instance/"},
		{namedArn, "arn:aws:chime:us-east-1:000000000000:app-instance/"},
	} {
		if !strings.HasPrefix(c.arn, c.prefix) {
			t.Errorf("ARN %s, want prefix %s", c.arn, c.prefix)
		}
	}
	// Children inherit the app instance's region and account.
	u, err := eu.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(euArn), AppInstanceUserId: aws.String("erin@example.com"),
		Name: aws.String("Erin"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	if *u.AppInstanceUserArn != euArn+"/user/erin@example.com" {
		t.Fatalf("user ARN %s", *u.AppInstanceUserArn)
	}
	ch, err := e.messagingAs("eu-central-1", testAccount).CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(euArn),
		Name: aws.String("c"), ChimeBearer: u.AppInstanceUserArn, ClientRequestToken: aws.String(token())})
	noErr(t, err)
	if !strings.HasPrefix(*ch.ChannelArn, euArn+"/channel/") || !strings.HasPrefix(*ch.ChannelArn, "arn:aws:chime:eu-central-1:") {
		t.Fatalf("channel ARN %s", *ch.ChannelArn)
	}

	for _, c := range []struct {
		name   string
		client *chimesdkidentity.Client
		want   string
	}{{"home", e.ID, home}, {"eu", eu, euArn}, {"other", other, otherArn}, {"named", named, namedArn}} {
		list, err := c.client.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{})
		noErr(t, err)
		if len(list.AppInstances) != 1 || *list.AppInstances[0].AppInstanceArn != c.want {
			var got []string
			for _, a := range list.AppInstances {
				got = append(got, *a.AppInstanceArn)
			}
			t.Errorf("%s: ListAppInstances = %v, want only %s", c.name, got, c.want)
		}
	}
}

// TestPaginationAppInstanceUsers_D6_D8: pages of 50 by default, no NextToken
// on the last page, and the SDK paginator ends with every user in creation order.
func TestPaginationAppInstanceUsers_D6_D8(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("many")
	var want []string
	for i := 0; i < 120; i++ {
		want = append(want, e.user(ai, fmt.Sprintf("user-%03d@example.com", 119-i))) // ids sort opposite to creation
	}
	var got []string
	var next, lastTok *string
	for i, size := range []int{50, 50, 20} {
		out, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), NextToken: next})
		noErr(t, err)
		if len(out.AppInstanceUsers) != size {
			t.Fatalf("page %d has %d users, want %d", i+1, len(out.AppInstanceUsers), size)
		}
		for _, u := range out.AppInstanceUsers {
			got = append(got, *u.AppInstanceUserArn)
		}
		next = out.NextToken
		if i == 1 {
			lastTok = next
		}
		if i < 2 && (next == nil || *next == "") {
			t.Fatalf("page %d has no NextToken", i+1)
		}
	}
	if next != nil {
		t.Fatalf("the last page has NextToken %q; it must have none", *next)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages out of creation order:\n got %v\nwant %v", got, want)
	}
	status, _, body := e.raw("GET", "/app-instance-users?app-instance-arn="+pathEsc(ai)+"&next-token="+pathEsc(*lastTok), nil, "")
	if status != 200 || strings.Contains(body, "NextToken") || strings.Count(body, `"AppInstanceUserArn"`) != 20 {
		t.Fatalf("raw last page: %d %s", status, body)
	}

	p := chimesdkidentity.NewListAppInstanceUsersPaginator(e.ID, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
	got, pages := nil, 0
	for p.HasMorePages() {
		if pages > 10 {
			t.Fatal("the paginator does not stop")
		}
		out, err := p.NextPage(e.ctx)
		noErr(t, err)
		pages++
		for _, u := range out.AppInstanceUsers {
			got = append(got, *u.AppInstanceUserArn)
		}
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paginator: %d pages, %d users (want 3 pages, 120 users in creation order)", pages, len(got))
	}
	// A smaller page size pages the same list.
	p = chimesdkidentity.NewListAppInstanceUsersPaginator(e.ID, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), MaxResults: aws.Int32(7)})
	got, pages = nil, 0
	for p.HasMorePages() && pages < 30 {
		out, err := p.NextPage(e.ctx)
		noErr(t, err)
		pages++
		for _, u := range out.AppInstanceUsers {
			got = append(got, *u.AppInstanceUserArn)
		}
	}
	if pages != 18 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paginator with MaxResults 7: %d pages, %d users (want 18 pages, 120 users)", pages, len(got))
	}
}

// mustToken returns the NextToken after the first n users of ai.
func mustToken(t *testing.T, e *env, ai string, n int32) *string {
	t.Helper()
	out, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), MaxResults: aws.Int32(n)})
	noErr(t, err)
	if out.NextToken == nil {
		t.Fatalf("no NextToken after %d users", n)
	}
	return out.NextToken
}

// TestPaginationMaxResultsRange_D6: MaxResults outside 1..50 is a 400 that names it.
func TestPaginationMaxResultsRange_D6(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("range")
	e.user(ai, "u")
	base := "/app-instance-users?app-instance-arn=" + pathEsc(ai)
	for _, mr := range []string{"0", "51", "-1", "1000", "abc", "1.5"} {
		status, h, body := e.raw("GET", base+"&max-results="+mr, nil, "")
		if status != 400 || h.Get("x-amzn-ErrorType") != "BadRequestException" || !strings.Contains(body, "MaxResults") {
			t.Errorf("max-results=%s: %d %s %s", mr, status, h.Get("x-amzn-ErrorType"), body)
		}
	}
	for _, mr := range []string{"1", "50"} {
		if status, _, body := e.raw("GET", base+"&max-results="+mr, nil, ""); status != 200 {
			t.Errorf("max-results=%s: %d %s", mr, status, body)
		}
	}
	_, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), MaxResults: aws.Int32(51)})
	wantErr(t, err, "BadRequestException")
	_, err = e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{MaxResults: aws.Int32(51)})
	wantErr(t, err, "BadRequestException")
	erin := e.user(ai, "erin@example.com")
	_, err = e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(erin),
		MaxResults: aws.Int32(51)})
	wantErr(t, err, "BadRequestException")
}

// TestPaginationForgedNextToken_D8: a garbled, forged or foreign NextToken is
// a 400 BadRequestException, never a 500 and never someone else's page.
func TestPaginationForgedNextToken_D8(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("tokens")
	e.appInstance("second")
	for _, id := range []string{"a", "b", "c"} {
		e.user(ai, id)
	}
	e.bot(ai, "b1")
	e.bot(ai, "b2")
	other := e.appInstance("other")
	ou := e.user(other, "x")
	e.user(other, "y")
	och := e.channel(other, ou, "UNRESTRICTED", "PUBLIC")
	_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(och),
		MemberArn: aws.String(other + "/user/y"), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(ou)})
	noErr(t, err)

	good := *mustToken(t, e, ai, 1)
	botTok, err := e.ID.ListAppInstanceBots(e.ctx, &chimesdkidentity.ListAppInstanceBotsInput{AppInstanceArn: aws.String(ai), MaxResults: aws.Int32(1)})
	noErr(t, err)
	otherTok := *mustToken(t, e, other, 1)
	aiTok, err := e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{MaxResults: aws.Int32(1)})
	noErr(t, err)
	memTok, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(och), ChimeBearer: aws.String(ou),
		MaxResults: aws.Int32(1)})
	noErr(t, err)
	if botTok.NextToken == nil || aiTok.NextToken == nil || memTok.NextToken == nil {
		t.Fatal("setup: a list of 2 with MaxResults 1 gave no NextToken")
	}
	// A token as the server might write one, with a made-up signature.
	forged := base64.RawURLEncoding.EncodeToString(append([]byte(`{"o":"ListAppInstanceUsers","f":"`+ai+`","a":1}`), make([]byte, 32)...))
	// The same bytes written another way: the last character's unused low
	// bits set. A lenient decoder reads it as the good token (D8: tamper-evident).
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	spare := map[int]int{2: 4, 3: 2}[len(good)%4]
	if spare == 0 {
		t.Fatalf("setup: a token of %d characters has no unused bits to set", len(good))
	}
	last := strings.IndexByte(b64, good[len(good)-1])
	noncanonical := good[:len(good)-1] + string(b64[last|(1<<spare-1)])
	flip := []byte(good)
	i := len(flip) / 2
	if flip[i] == 'A' {
		flip[i] = 'B'
	} else {
		flip[i] = 'A'
	}

	// The good token works.
	out, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), NextToken: aws.String(good)})
	noErr(t, err)
	if len(out.AppInstanceUsers) != 2 || *out.AppInstanceUsers[0].AppInstanceUserArn != ai+"/user/b" {
		t.Fatalf("second page: %+v", out.AppInstanceUsers)
	}

	for name, tok := range map[string]string{
		"garbage":                "garbage",
		"not base64":             "!!!***",
		"base64 of junk":         "eyJvIjoiTGlzdEFwcEluc3RhbmNlVXNlcnMiLCJmIjoiIiwiYSI6MX0",
		"unsigned lookalike":     forged,
		"flipped character":      string(flip),
		"non-canonical base64":   noncanonical,
		"truncated":              good[:len(good)-4],
		"extended":               good + "AAAA",
		"bots token":             *botTok.NextToken,
		"other app instance":     otherTok,
		"ListAppInstances":       *aiTok.NextToken,
		"ListChannelMemberships": *memTok.NextToken,
		"percent and slashes":    "a/b%2Fc==",
		"too long":               strings.Repeat("A", 2049),
	} {
		_, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), NextToken: aws.String(tok)})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		var ae interface{ ErrorCode() string }
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || errStatus(err) != 400 {
			t.Errorf("%s: got %v (status %d), want 400 BadRequestException", name, err, errStatus(err))
		}
	}
	// Foreign tokens are refused by other operations too.
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(och), ChimeBearer: aws.String(ou),
		NextToken: aws.String(good)})
	wantErr(t, err, "BadRequestException")
	_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(och), ChimeBearer: aws.String(ou),
		Type: types.ChannelMembershipTypeHidden, NextToken: memTok.NextToken})
	wantErr(t, err, "BadRequestException") // bound to its filters (D8)
	_, err = e.ID.ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{NextToken: aws.String(good)})
	wantErr(t, err, "BadRequestException")
	_, err = e.identityAs("eu-central-1", testAccount).ListAppInstances(e.ctx, &chimesdkidentity.ListAppInstancesInput{NextToken: aiTok.NextToken})
	wantErr(t, err, "BadRequestException")
}

// TestPaginationTokenOfDeletedChannel_D8: a channel deleted and created
// again under the same ChannelId is another channel; a NextToken of the
// first's members, moderators, bans, messages or subchannels is a 400 on the
// second, not a page that mixes the two.
func TestPaginationTokenOfDeletedChannel_D8(t *testing.T) {
	clk := newFakeClock(clockStart)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("recreated")
	owner := e.user(ai, "owner")
	var others []string
	for _, id := range []string{"a", "b", "c", "d"} {
		others = append(others, e.user(ai, id))
	}
	create := func() (string, string) {
		t.Helper()
		// An elastic one too, its four members in two subchannels.
		el, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(owner),
			Name: aws.String("same elastic id"), ClientRequestToken: aws.String(token()), ChannelId: aws.String("same-elastic-id"),
			ElasticChannelConfiguration: &types.ElasticChannelConfiguration{MaximumSubChannels: aws.Int32(2), TargetMembershipsPerSubChannel: aws.Int32(2),
				MinimumMembershipPercentage: aws.Int32(40)}})
		noErr(t, err)
		_, err = e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: el.ChannelArn,
			MemberArns: others, ChimeBearer: aws.String(owner)})
		noErr(t, err)
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(owner),
			Name: aws.String("same id"), ClientRequestToken: aws.String(token()), ChannelId: aws.String("same-id"),
			Mode: types.ChannelModeRestricted, Privacy: types.ChannelPrivacyPrivate, MemberArns: others, ModeratorArns: others[:2]})
		noErr(t, err)
		for _, ban := range others[2:] {
			_, err = e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: out.ChannelArn, MemberArn: aws.String(ban),
				ChimeBearer: aws.String(owner)})
			noErr(t, err)
		}
		for i := 0; i < 2; i++ {
			_, err = e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: out.ChannelArn, Content: aws.String("hi"),
				Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
				ClientRequestToken: aws.String(token()), ChimeBearer: aws.String(owner)})
			noErr(t, err)
		}
		return *out.ChannelArn, *el.ChannelArn
	}
	ch, el := create()
	one := aws.Int32(1)
	lists := map[string]func(tok *string) (any, error){
		"ListChannelMemberships": func(tok *string) (any, error) {
			return e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(owner), MaxResults: one, NextToken: tok})
		},
		"ListChannelModerators": func(tok *string) (any, error) {
			return e.Msg.ListChannelModerators(e.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(owner), MaxResults: one, NextToken: tok})
		},
		"ListChannelBans": func(tok *string) (any, error) {
			return e.Msg.ListChannelBans(e.ctx, &chimesdkmessaging.ListChannelBansInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(owner), MaxResults: one, NextToken: tok})
		},
		"ListChannelMessages": func(tok *string) (any, error) {
			return e.Msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(owner), MaxResults: one, NextToken: tok})
		},
		"ListSubChannels": func(tok *string) (any, error) {
			return e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(el),
				ChimeBearer: aws.String(owner), MaxResults: one, NextToken: tok})
		},
	}
	tokens := map[string]*string{}
	for name, list := range lists {
		out, err := list(nil)
		noErr(t, err)
		tok := nextToken(out)
		if tok == nil {
			t.Fatalf("%s: no NextToken for a first page of 1", name)
		}
		if _, err := list(tok); err != nil { // good on the channel it came from
			t.Fatalf("%s: the token's own channel refused it: %v", name, err)
		}
		tokens[name] = tok
	}
	for _, c := range []string{ch, el} {
		_, err := e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(c), ChimeBearer: aws.String(owner)})
		noErr(t, err)
	}
	clk.Advance(time.Second)
	if again, elAgain := create(); again != ch || elAgain != el {
		t.Fatalf("the channels created again have ARNs %s and %s, want %s and %s", again, elAgain, ch, el)
	}
	for name, list := range lists {
		_, err := list(tokens[name])
		wantErr(t, err, "BadRequestException")
	}
}

// TestPaginationTokenOfDeletedUser_D8: a user deleted and created again
// under the same id is another user; a NextToken of the first's channels
// (memberships, channels moderated) is a 400 for the second.
func TestPaginationTokenOfDeletedUser_D8(t *testing.T) {
	clk := newFakeClock(clockStart)
	e := newEnv(t, withClock(clk))
	ai := e.appInstance("recreated users")
	owner := e.user(ai, "owner")
	u := e.user(ai, "again")
	var channels []string
	for i := 0; i < 3; i++ {
		channels = append(channels, e.channel(ai, owner, "RESTRICTED", "PUBLIC"))
	}
	join := func() {
		t.Helper()
		for _, ch := range channels {
			_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				MemberArn: aws.String(u), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
			noErr(t, err)
			_, err = e.Msg.CreateChannelModerator(e.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(ch),
				ChannelModeratorArn: aws.String(u), ChimeBearer: aws.String(owner)})
			noErr(t, err)
		}
	}
	join()
	lists := map[string]func(tok *string) (any, error){
		"ListChannelMembershipsForAppInstanceUser": func(tok *string) (any, error) {
			return e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{
				ChimeBearer: aws.String(u), MaxResults: aws.Int32(1), NextToken: tok})
		},
		"ListChannelsModeratedByAppInstanceUser": func(tok *string) (any, error) {
			return e.Msg.ListChannelsModeratedByAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelsModeratedByAppInstanceUserInput{
				ChimeBearer: aws.String(u), MaxResults: aws.Int32(1), NextToken: tok})
		},
	}
	tokens := map[string]*string{}
	for name, list := range lists {
		out, err := list(nil)
		noErr(t, err)
		tok := nextToken(out)
		if tok == nil {
			t.Fatalf("%s: no NextToken for a first page of 1", name)
		}
		if _, err := list(tok); err != nil {
			t.Fatalf("%s: the token's own user had it refused: %v", name, err)
		}
		tokens[name] = tok
	}
	_, err := e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(u)})
	noErr(t, err)
	clk.Advance(time.Second)
	if again := e.user(ai, "again"); again != u {
		t.Fatalf("the user created again has ARN %s, want %s", again, u)
	}
	join()
	for name, list := range lists {
		if _, err := list(tokens[name]); err == nil {
			t.Errorf("%s: the deleted user's token was accepted", name)
		} else {
			wantErr(t, err, "BadRequestException")
		}
	}
}

// nextToken is the NextToken of any List output.
func nextToken(out any) *string {
	return reflect.ValueOf(out).Elem().FieldByName("NextToken").Interface().(*string)
}

// TestPaginationTokenSurvivesRestart_D8: a NextToken issued before a restart
// continues the list after it.
func TestPaginationTokenSurvivesRestart_D8(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("restart")
	var want []string
	for i := 0; i < 5; i++ {
		want = append(want, e.user(ai, fmt.Sprintf("u%d", i)))
	}
	tok := mustToken(t, e, ai, 2)
	e.restart()
	out, err := e.ID.ListAppInstanceUsers(e.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai), NextToken: tok})
	noErr(t, err)
	var got []string
	for _, u := range out.AppInstanceUsers {
		got = append(got, *u.AppInstanceUserArn)
	}
	if strings.Join(got, ",") != strings.Join(want[2:], ",") || out.NextToken != nil {
		t.Fatalf("after restart: %v (NextToken %v), want %v", got, out.NextToken, want[2:])
	}
}

// TestTagResourceAppInstanceUserChannel covers TagResource, UntagResource and
// ListTagsForResource on app instances, users and channels, and tags given at create.
func TestTagResourceAppInstanceUserChannel(t *testing.T) {
	e := newEnv(t)
	tags := func(kv ...string) []idtypes.Tag {
		var out []idtypes.Tag
		for i := 0; i < len(kv); i += 2 {
			out = append(out, idtypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return out
	}
	listed := func(arn string) string {
		t.Helper()
		out, err := e.ID.ListTagsForResource(e.ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		noErr(t, err)
		var parts []string
		for _, tg := range out.Tags {
			parts = append(parts, *tg.Key+"="+*tg.Value)
		}
		return strings.Join(parts, ",")
	}

	ai, err := e.ID.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("tagged"), ClientRequestToken: aws.String(token()),
		Tags: tags("team", "chat", "env", "test")})
	noErr(t, err)
	app := *ai.AppInstanceArn
	if got := listed(app); got != "env=test,team=chat" {
		t.Fatalf("app instance tags from create: %q", got)
	}
	u, err := e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(app), AppInstanceUserId: aws.String("erin@example.com"),
		Name: aws.String("Erin"), ClientRequestToken: aws.String(token()), Tags: tags("role", "owner")})
	noErr(t, err)
	user := *u.AppInstanceUserArn
	if got := listed(user); got != "role=owner" {
		t.Fatalf("user tags from create: %q", got)
	}
	ch, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(app), Name: aws.String("c"), ChimeBearer: aws.String(user),
		ClientRequestToken: aws.String(token()), Tags: []types.Tag{{Key: aws.String("topic"), Value: aws.String("general")}}})
	noErr(t, err)
	channel := *ch.ChannelArn
	mt, err := e.Msg.ListTagsForResource(e.ctx, &chimesdkmessaging.ListTagsForResourceInput{ResourceARN: aws.String(channel)})
	noErr(t, err)
	if len(mt.Tags) != 1 || *mt.Tags[0].Key != "topic" || *mt.Tags[0].Value != "general" {
		t.Fatalf("channel tags from create: %+v", mt.Tags)
	}

	// Tagging adds and replaces; untagging removes; each resource keeps its own.
	tr, err := e.ID.TagResource(e.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(app), Tags: tags("team", "voice", "cost", "42")})
	noErr(t, err)
	if s := httpStatus(tr.ResultMetadata); s != 204 {
		t.Fatalf("TagResource status %d, want 204", s)
	}
	if got := listed(app); got != "cost=42,env=test,team=voice" {
		t.Fatalf("app instance tags after TagResource: %q", got)
	}
	ur, err := e.ID.UntagResource(e.ctx, &chimesdkidentity.UntagResourceInput{ResourceARN: aws.String(app), TagKeys: []string{"env", "absent"}})
	noErr(t, err)
	if s := httpStatus(ur.ResultMetadata); s != 204 {
		t.Fatalf("UntagResource status %d, want 204", s)
	}
	if got := listed(app); got != "cost=42,team=voice" {
		t.Fatalf("app instance tags after UntagResource: %q", got)
	}
	_, err = e.Msg.TagResource(e.ctx, &chimesdkmessaging.TagResourceInput{ResourceARN: aws.String(channel), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	noErr(t, err)
	_, err = e.Msg.UntagResource(e.ctx, &chimesdkmessaging.UntagResourceInput{ResourceARN: aws.String(channel), TagKeys: []string{"topic"}})
	noErr(t, err)
	if got := listed(channel); got != "k=v" { // both clients reach the same tags
		t.Fatalf("channel tags: %q", got)
	}
	_, err = e.ID.UntagResource(e.ctx, &chimesdkidentity.UntagResourceInput{ResourceARN: aws.String(user), TagKeys: []string{"role"}})
	noErr(t, err)
	out, err := e.ID.ListTagsForResource(e.ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String(user)})
	noErr(t, err)
	if len(out.Tags) != 0 {
		t.Fatalf("user tags after removing the last: %+v", out.Tags)
	}
	if got := listed(app); got != "cost=42,team=voice" {
		t.Fatalf("app instance tags changed by other resources: %q", got)
	}

	// Keys are listed in byte order on every store, whatever the PostgreSQL
	// database's collation (which would put "_" and "a" before "B").
	_, err = e.ID.TagResource(e.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(user), Tags: tags("b", "1", "_", "2", "B", "3", "a", "4")})
	noErr(t, err)
	if got := listed(user); got != "B=3,_=2,a=4,b=1" {
		t.Fatalf("tags not in byte order of key: %q", got)
	}

	// A deleted user's tags do not come back with a new user of the same id.
	_, err = e.ID.TagResource(e.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(user), Tags: tags("old", "yes")})
	noErr(t, err)
	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(user)})
	noErr(t, err)
	_, err = e.ID.ListTagsForResource(e.ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String(user)})
	wantErr(t, err, "NotFoundException") // D3
	e.user(app, "erin@example.com")
	if got := listed(user); got != "" {
		t.Fatalf("recreated user inherited tags: %q", got)
	}

	// D3 for missing resources; a non-Chime ARN is a bad request.
	_, err = e.ID.TagResource(e.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(missingAppInstance), Tags: tags("a", "b")})
	wantErr(t, err, "NotFoundException")
	_, err = e.Msg.ListTagsForResource(e.ctx, &chimesdkmessaging.ListTagsForResourceInput{ResourceARN: aws.String(app + "/channel/missing")})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.UntagResource(e.ctx, &chimesdkidentity.UntagResourceInput{ResourceARN: aws.String(app + "/user/ghost"), TagKeys: []string{"a"}})
	wantErr(t, err, "NotFoundException")
	_, err = e.ID.ListTagsForResource(e.ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String("arn:aws:s3:::bucket/key")})
	wantErr(t, err, "BadRequestException")
}
