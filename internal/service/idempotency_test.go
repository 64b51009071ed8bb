package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// TestReplayKeepsStoredFingerprints: a ClientRequestToken remembered by an
// earlier build, with the fingerprint of its time (the JSON of the request
// as sent, up to dbb700f; then with its lists sorted), still replays when
// the same request comes again after an upgrade: clients retry just then.
func TestReplayKeepsStoredFingerprints(t *testing.T) {
	ctx := context.Background()
	svc, st := newTestService(t)
	p := chime.Principal{Region: "us-east-1", Account: "123456789012"}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/fp"
	bearer := ai + "/user/u"
	seedUser(t, st, ai, bearer, t0)
	// remember stores the result of a request as the server did before.
	remember := func(scope, token string, params any, result string) {
		t.Helper()
		b, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if err := st.Write(ctx, func(tx *store.Tx) error {
			return tx.PutIdempotent(scope, token, store.Idempotent{Fingerprint: hex.EncodeToString(sum[:]), Result: result, Created: time.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	tags := []chime.Tag{{Key: "a", Value: "2"}, {Key: "b", Value: "1"}}
	unordered := []chime.Tag{tags[1], tags[0]}

	// As the last release (dbb700f) remembered it: the request as sent.
	sent := CreateAppInstanceInput{Name: "sent", ClientRequestToken: "t-sent", Tags: unordered}
	remember("CreateAppInstance:"+owner(p), sent.ClientRequestToken, sent, "stored-sent")
	if got, err := svc.CreateAppInstance(ctx, p, sent); err != nil || got != "stored-sent" {
		t.Errorf("CreateAppInstance, tags as sent: %q, %v; want the stored stored-sent", got, err)
	}

	// As c9c27ab remembered it: the request with its lists sorted; the
	// request comes again with them in another order.
	sorted := CreateAppInstanceInput{Name: "sorted", ClientRequestToken: "t-sorted", Tags: tags}
	remember("CreateAppInstance:"+owner(p), sorted.ClientRequestToken, sorted, "stored-sorted")
	sorted.Tags = unordered
	if got, err := svc.CreateAppInstance(ctx, p, sorted); err != nil || got != "stored-sorted" {
		t.Errorf("CreateAppInstance, remembered sorted, sent unordered: %q, %v; want the stored stored-sorted", got, err)
	}

	app := CreateAppInstanceInput{Name: "app", ClientRequestToken: "t-app", Tags: tags}
	remember("CreateAppInstance:"+owner(p), app.ClientRequestToken, app, "stored-app")
	if got, err := svc.CreateAppInstance(ctx, p, app); err != nil || got != "stored-app" {
		t.Errorf("CreateAppInstance: %q, %v; want the stored stored-app", got, err)
	}

	user := CreateIdentityInput{AppInstanceArn: ai, ID: "v", Name: "v", ClientRequestToken: "t-user", Tags: tags[:1]}
	remember(ai+"/create-"+chime.KindUser, user.ClientRequestToken, user, "stored-user")
	if got, err := svc.CreateAppInstanceUser(ctx, user); err != nil || got != "stored-user" {
		t.Errorf("CreateAppInstanceUser: %q, %v; want the stored stored-user", got, err)
	}

	ch := CreateChannelInput{AppInstanceArn: ai, Name: "c", Mode: chime.ModeUnrestricted, Privacy: chime.PrivacyPublic, ClientRequestToken: "t-ch",
		MemberArns: []string{ai + "/user/a", ai + "/user/b"}, ModeratorArns: []string{ai + "/user/c"}, Tags: tags}
	remember(ai+"/CreateChannel:"+bearer, ch.ClientRequestToken, ch, "stored-channel")
	if got, err := svc.CreateChannel(ctx, chime.Caller{Bearer: bearer}, ch); err != nil || got != "stored-channel" {
		t.Errorf("CreateChannel: %q, %v; want the stored stored-channel", got, err)
	}
}

// TestFingerprintIgnoresEmptyFields: a field added to an input later, empty
// in every request made before, changes no fingerprint; a value does.
func TestFingerprintIgnoresEmptyFields(t *testing.T) {
	type before struct {
		Name string
		Tags []chime.Tag
	}
	type after struct {
		Name    string
		Tags    []chime.Tag
		Elastic *chime.ElasticConfig
		Extra   string
		Count   int
		On      bool
	}
	tags := []chime.Tag{{Key: "k", Value: "v"}}
	if a, b := fingerprint(before{Name: "n", Tags: tags}), fingerprint(after{Name: "n", Tags: tags}); a != b {
		t.Errorf("fingerprints differ by empty fields: %s, %s", a, b)
	}
	// Inside a field, an empty value is data: a message attribute with no values.
	type message struct{ Attributes map[string][]string }
	if fingerprint(message{map[string][]string{"urgent": {}}}) == fingerprint(message{map[string][]string{"silent": {}}}) {
		t.Error("two messages with different attributes without values fingerprint alike")
	}
	for _, changed := range []after{{Name: "n", Tags: tags, Extra: "x"}, {Name: "n", Tags: tags, Count: 1}, {Name: "n", Tags: tags, On: true},
		{Name: "n", Tags: []chime.Tag{{Key: "k", Value: "w"}}}, {Name: "n"}} {
		if fingerprint(before{Name: "n", Tags: tags}) == fingerprint(changed) {
			t.Errorf("%+v fingerprints as the request without its change", changed)
		}
	}
}
