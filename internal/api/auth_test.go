package api

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belfry/belfry/internal/chime"
)

// FuzzParseKeys: the credentials format (docs/security.md) never panics on
// any text; every key it accepts has a valid id, a secret and a scope that
// allows something, and written back in the same format it parses to the
// same keys.
func FuzzParseKeys(f *testing.F) {
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/abc"
	for _, s := range []string{
		"# comment\nAKIAADMIN secret admin\n",
		"AKIAAPP s app-instance=" + ai + "; AKIAUSER s user=" + ai + "/user/erin@example.com session-token=abc",
		"AKIABOT s user=" + ai + "/bot/b1\n\n\t\n",
		"AKIA1 s admin\nAKIA1 s admin",
		"AKIA-1 s admin",
		"AKIA1 s app-instance=" + ai + "/channel/c",
		"AKIA1 s user=" + ai,
		"AKIA1 s admin=x",
		"AKIA1 s admin token",
		"AKIA1",
		";;;",
		strings.Repeat("A", 200) + " s admin",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		keys, err := ParseKeys(strings.NewReader(text), "fuzz")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("error does not name its source: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, k := range keys {
			if !accessKeyRE.MatchString(k.AccessKeyID) || k.SecretAccessKey == "" || strings.ContainsAny(k.SecretAccessKey, " \t\n;") {
				t.Fatalf("accepted key %+v", k)
			}
			scope := "admin"
			switch k.Scope.Kind {
			case chime.ScopeAccount:
			case chime.ScopeAppInstance:
				scope = "app-instance=" + k.Scope.ARN
			case chime.ScopeUser:
				scope = "user=" + k.Scope.ARN
			default:
				t.Fatalf("accepted key with scope %+v", k.Scope)
			}
			fmt.Fprintf(&b, "%s %s %s", k.AccessKeyID, k.SecretAccessKey, scope)
			if k.SessionToken != "" {
				fmt.Fprintf(&b, " session-token=%s", k.SessionToken)
			}
			b.WriteString("\n")
		}
		again, err := ParseKeys(strings.NewReader(b.String()), "again")
		if err != nil || fmt.Sprint(again) != fmt.Sprint(keys) {
			t.Fatalf("written back and parsed again: %v %v, want %v", again, err, keys)
		}
	})
}

// TestAuthorizeScopes pins the scope rules on operations the e2e tests do
// not reach: every identity operation needs an admin or app-instance key,
// and a user key can reach no operation without a bearer.
func TestAuthorizeScopes(t *testing.T) {
	ops, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/abc"
	user := chime.Principal{AccessKeyID: "AKIAUSER", Scope: chime.Scope{Kind: chime.ScopeUser, ARN: ai + "/user/u"}}
	none := chime.Principal{AccessKeyID: "AKIANONE"}
	for _, op := range ops {
		in := map[string]any{"ChimeBearer": ai + "/user/u", "AppInstanceArn": ai, "ChannelArn": ai + "/channel/c"}
		err := authorize(user, op, in)
		allowed := op.service == messagingService && hasMember(op, bearerMember) || op.name == "GetMessagingSessionEndpoint"
		if (err == nil) != allowed {
			t.Errorf("user key, %s (%s): allowed=%v, want %v", op.name, op.service, err == nil, allowed)
		}
		if err != nil && chime.KindOf(err) != chime.KindForbidden {
			t.Errorf("%s: %v", op.name, err)
		}
		if authorize(none, op, in) == nil {
			t.Errorf("a key without a scope may call %s", op.name)
		}
	}
}

// TestOwnAccount pins ownAccount on every operation: a key of the whole
// account that names an app instance, channel, user, bot or tagged
// resource of another account or region is answered as for a missing one
// (404 NotFoundException, or 401 for a bearer elsewhere, or for an unknown
// bearer of its own account, checked first as the service does); the same
// input in its own account and region passes, and so does any input of an
// unsigned open-mode request; a key held to a scope is of its scope's
// account and held to its signature's region.
func TestOwnAccount(t *testing.T) {
	ops, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	admin := chime.Principal{AccessKeyID: "123456789012", Account: "123456789012", Region: "us-east-1", Scope: chime.Scope{Kind: chime.ScopeAccount}}
	input := func(account, region, bearer string) map[string]any {
		ai := "arn:aws:chime:" + region + ":" + account + ":app-instance/abc"
		in := map[string]any{"AppInstanceArn": ai, "ChannelArn": ai + "/channel/c", "AppInstanceUserArn": ai + "/user/u",
			"AppInstanceBotArn": ai + "/bot/b", "ResourceARN": ai + "/channel/c"}
		if bearer != "" {
			in["ChimeBearer"] = bearer
		}
		return in
	}
	home := "arn:aws:chime:us-east-1:123456789012:app-instance/home/user/me"
	checked := 0
	for _, op := range ops {
		var members []resourceMember
		for _, r := range resourceMembers(op) {
			if hasMember(op, r.member) {
				members = append(members, r)
			}
		}
		bearer := ""
		if hasMember(op, bearerMember) {
			bearer = home
		}
		for _, where := range [][2]string{{"210987654321", "us-east-1"}, {"123456789012", "eu-central-1"}} {
			err := ownAccount(admin, op, input(where[0], where[1], bearer))
			if len(members) == 0 {
				if err != nil {
					t.Errorf("%s names no resource of its own, yet: %v", op.name, err)
				}
				continue
			}
			checked++
			switch {
			case bearer != "":
				// The bearer, of the caller's account, is of another app
				// instance than the resource: 401 (D5), as the service says.
				if chime.KindOf(err) != chime.KindUnauthorized || !strings.Contains(err.Error(), chime.MsgInvalidBearer) {
					t.Errorf("%s, bearer at home and resource in %v: %v, want Unauthorized", op.name, where, err)
				}
			case chime.KindOf(err) != chime.KindNotFound:
				t.Errorf("%s, resource in %v: %v, want NotFound", op.name, where, err)
			default:
				if arn := "arn:aws:chime:" + where[1] + ":" + where[0] + ":app-instance/abc"; !strings.Contains(err.Error(), arn) {
					t.Errorf("%s: message %q does not name the resource", op.name, err)
				}
			}
			if bearer != "" {
				foreignBearer := "arn:aws:chime:" + where[1] + ":" + where[0] + ":app-instance/abc/user/u"
				if err := ownAccount(admin, op, input("123456789012", "us-east-1", foreignBearer)); chime.KindOf(err) != chime.KindUnauthorized || !strings.Contains(err.Error(), chime.MsgInvalidBearer) {
					t.Errorf("%s, bearer in %v: %v, want Unauthorized", op.name, where, err)
				}
			}
		}
		if err := ownAccount(admin, op, input("123456789012", "us-east-1", bearer)); err != nil {
			t.Errorf("%s in its own account and region: %v", op.name, err)
		}
		// An unsigned request is held to no account; a scoped key is of its
		// scope's account (whatever Account says), in its signature's region.
		unsigned := chime.Principal{Account: "000000000000", Region: "us-east-1", Scope: chime.Scope{Kind: chime.ScopeAccount}}
		scoped := chime.Principal{AccessKeyID: "AKIAAPP", Account: "000000000000", Region: "eu-central-1",
			Scope: chime.Scope{Kind: chime.ScopeAppInstance, ARN: "arn:aws:chime:eu-central-1:210987654321:app-instance/abc"}}
		scopedBearer := ""
		if bearer != "" {
			scopedBearer = scoped.Scope.ARN + "/user/u"
		}
		if err := ownAccount(unsigned, op, input("210987654321", "eu-central-1", bearer)); err != nil {
			t.Errorf("%s, unsigned: %v", op.name, err)
		}
		if err := ownAccount(scoped, op, input("210987654321", "eu-central-1", scopedBearer)); err != nil {
			t.Errorf("%s, %+v: %v", op.name, scoped, err)
		}
		if len(members) > 0 || bearer != "" {
			scoped.Region = "us-east-1"
			if err := ownAccount(scoped, op, input("210987654321", "eu-central-1", scopedBearer)); err == nil {
				t.Errorf("%s: a scoped key signed for us-east-1 reached a resource in eu-central-1", op.name)
			}
		}
	}
	// Every identity operation but CreateAppInstance and ListAppInstances
	// names one; the messaging ones on a channel or app instance, the tags.
	if checked < 2*60 {
		t.Fatalf("only %d operation inputs checked", checked)
	}
	if err := AuthorizeConnect(admin, "arn:aws:chime:us-east-1:210987654321:app-instance/abc/user/u"); chime.KindOf(err) != chime.KindUnauthorized {
		t.Errorf("connect as a user of another account: %v", err)
	}
	if err := AuthorizeConnect(admin, "arn:aws:chime:eu-central-1:123456789012:app-instance/abc/user/u"); chime.KindOf(err) != chime.KindUnauthorized {
		t.Errorf("connect as a user of another region: %v", err)
	}
	if err := AuthorizeConnect(admin, home); err != nil {
		t.Errorf("connect as a user of its own: %v", err)
	}
}

// TestIsRegion: isRegion accepts what the regexp it replaced matches.
func TestIsRegion(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	cases := []string{"", "us-east-1", "eu-central-1", "US-EAST-1", "us_east_1", "us-east-1\n", "\nus-east-1", "é", "-", "0",
		strings.Repeat("a", 62), strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("é", 20)}
	for c := 0; c < 256; c++ {
		cases = append(cases, string([]byte{byte(c)}), "us-"+string([]byte{byte(c)})+"-1")
	}
	for _, s := range cases {
		if got, want := isRegion(s), re.MatchString(s); got != want {
			t.Errorf("isRegion(%q) = %v, want %v", s, got, want)
		}
	}
}

// elsewhereRef is elsewhere as it was: ParseARN for every ARN.
func elsewhereRef(p chime.Principal, arn string) bool {
	a, ok := chime.ParseARN(arn)
	return ok && (a.Account != p.Account || a.Region != p.Region)
}

// elsewhereARNs are ARNs of p's account and region or not, valid or not.
var elsewhereARNs = []string{"", "arn", "arn:aws:chime:us-east-1:123456789012", "arn:aws:chime:us-east-1:123456789012:",
	"arn:aws:chime:us-east-1:123456789012:app-instance/a", "arn:aws:chime:us-east-1:123456789012:app-instance/a/user/u",
	"arn:aws:chime:us-east-1:210987654321:app-instance/a/channel/c", "arn:aws:chime:eu-central-1:123456789012:app-instance/a/bot/b",
	"arn:aws:chime:eu-central-1:123456789012:app-instance/a/nope/b", "arn:aws:chime:eu-central-1:123456789012:app-instance//user/u",
	"arn::chime:eu-central-1:123456789012:app-instance/a", "arn:aws:chime::123456789012:app-instance/a", "arn:aws:chime:us-east-1::app-instance/a",
	"arn:aws:s3:eu-central-1:123456789012:app-instance/a", "xarn:aws:chime:eu-central-1:1:app-instance/a", "arn:aws:chime:us-east-1:1:app-instance/a:b/user/u",
	"arn:aws:chime:eu-central-1:123456789012:app-instance/a/channel-flow/f", "arn:aws:chime:eu-central-1:123456789012:app-instance/a/user/u/x",
	"arn:aws:chime:us-east-1:123456789012:app-instance/a/user/", "arn:aws:chime:us:east:1:123456789012:app-instance/a"}

// TestElsewhere: elsewhere answers as ParseARN's answer for every ARN did.
func TestElsewhere(t *testing.T) {
	for _, p := range []chime.Principal{{Account: "123456789012", Region: "us-east-1"}, {Account: "123456789012", Region: "eu-central-1"},
		{Account: "210987654321", Region: "us-east-1"}, {Account: "", Region: ""}, {Account: "1", Region: "us-east-1"}, {Account: "east", Region: "us"}} {
		for _, arn := range elsewhereARNs {
			if got, want := elsewhere(p, arn), elsewhereRef(p, arn); got != want {
				t.Errorf("%+v, %q: %v, want %v", p, arn, got, want)
			}
		}
	}
}

func FuzzElsewhere(f *testing.F) {
	for _, arn := range elsewhereARNs {
		f.Add("123456789012", "us-east-1", arn)
	}
	f.Fuzz(func(t *testing.T, account, region, arn string) {
		p := chime.Principal{Account: account, Region: region}
		if got, want := elsewhere(p, arn), elsewhereRef(p, arn); got != want {
			t.Fatalf("%+v, %q: %v, want %v", p, arn, got, want)
		}
	})
}
