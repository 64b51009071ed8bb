package api

import (
	"fmt"
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
		in := []byte(`{"ChimeBearer":"` + ai + `/user/u","AppInstanceArn":"` + ai + `","ChannelArn":"` + ai + `/channel/c"}`)
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
