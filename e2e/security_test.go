package e2e

// Issue 6 with the real aws-sdk-go-v2 clients: SigV4 verification (valid
// key, wrong secret, unknown key, tampered body, replayed-but-expired,
// unsigned, incomplete), per-key scopes on the REST API and on /connect,
// and AWS's default rate limits answering 429 ThrottledClientException.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/session"
)

// adminKey is the key the harness's own clients (e.ID, e.Msg) sign with.
var adminKey = api.Key{AccessKeyID: testAccount, SecretAccessKey: "secret", Scope: chime.Scope{Kind: chime.ScopeAccount}}

// newSecureEnv starts a server that verifies signatures with keys (the
// admin key of the harness clients included) on the clock c.
func newSecureEnv(t *testing.T, c *fakeClock, keys ...api.Key) (*env, *api.SigV4Auth) {
	t.Helper()
	e := newEnv(t, withClock(c))
	auth := api.NewSigV4Auth(append([]api.Key{adminKey}, keys...), "", c.Now)
	e.auth = auth
	e.restart()
	return e, auth
}

// recorder is an HTTP client that keeps a copy of every request sent and
// can rewrite a request's body after the SDK has signed it.
type recorder struct {
	mu      sync.Mutex
	sent    []recorded
	rewrite func(body []byte) []byte
}

type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	r.mu.Lock()
	r.sent = append(r.sent, recorded{req.Method, req.URL.String(), req.Header.Clone(), body})
	rewrite := r.rewrite
	r.mu.Unlock()
	if rewrite != nil {
		body = rewrite(body)
		req.ContentLength = int64(len(body))
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return http.DefaultClient.Do(req)
}

func (r *recorder) last() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent[len(r.sent)-1]
}

// clientsFor returns SDK clients that sign with id/secret through rec (nil: the default client).
func (e *env) clientsFor(id, secret string, rec *recorder) (*chimesdkidentity.Client, *chimesdkmessaging.Client) {
	cfg := awsConfig(e.URL)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	if rec != nil {
		cfg.HTTPClient = rec
	}
	return chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(e.URL) }),
		chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(e.URL) })
}

// TestSigV4ValidKey: with credentials configured, requests the SDK signs
// with a configured key pass, on every kind of path: ARNs percent-encoded
// in the path (signed with the path escaped twice), ARNs and a NextToken in
// the query, user ids with @ and :.
func TestSigV4ValidKey(t *testing.T) {
	e, _ := newSecureEnv(t, newFakeClock(time.Now()))
	ai := e.appInstance("signed")
	erin := e.user(ai, "erin@example.com")
	var users []string
	for i := range 4 {
		users = append(users, e.user(ai, fmt.Sprintf("u:%d.x@example.com", i)))
	}
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArns: users, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	var got []string
	pg := chimesdkmessaging.NewListChannelMembershipsPaginator(e.Msg, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
		ChimeBearer: aws.String(erin), MaxResults: aws.Int32(2)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(e.ctx)
		noErr(t, err)
		for _, m := range page.ChannelMemberships {
			got = append(got, *m.Member.Arn)
		}
	}
	if len(got) != 5 {
		t.Fatalf("paged memberships: %v", got)
	}
	_, err = e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
		ChannelArn: aws.String(ch), AppInstanceUserArn: aws.String(users[0]), ChimeBearer: aws.String(users[0])})
	noErr(t, err)
	sent, err := e.Msg.SendChannelMessage(e.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), Content: aws.String("signed (and sealed) *!'"),
		Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(erin), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	_, err = e.Msg.GetChannelMessage(e.ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(ch), MessageId: sent.MessageId, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	_, err = e.ID.DescribeAppInstanceUser(e.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(users[3])})
	noErr(t, err)
	_, err = e.ID.DeleteAppInstanceUser(e.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(users[3])})
	noErr(t, err)
}

// TestSigV4Refusals: what AWS answers when the signature is not right
// (SEMANTICS.md §8: the AWS front end's generic errors, all 403), seen
// through the SDK's typed errors and the raw wire.
func TestSigV4Refusals(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, _ := newSecureEnv(t, clock)
	ai := e.appInstance("refusals")
	ctx := e.ctx
	in := &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)}

	t.Run("wrong secret", func(t *testing.T) {
		id, _ := e.clientsFor(testAccount, "not the secret", nil)
		_, err := id.DescribeAppInstance(ctx, in)
		wantErr(t, err, "InvalidSignatureException")
		if errStatus(err) != 403 {
			t.Fatalf("status %d, want 403", errStatus(err))
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		id, _ := e.clientsFor("AKIANOBODY0000000000", "secret", nil)
		_, err := id.DescribeAppInstance(ctx, in)
		wantErr(t, err, "UnrecognizedClientException")
		if errStatus(err) != 403 {
			t.Fatalf("status %d, want 403", errStatus(err))
		}
	})
	t.Run("tampered body", func(t *testing.T) {
		rec := &recorder{rewrite: func(b []byte) []byte { return bytes.Replace(b, []byte("honest"), []byte("forged"), 1) }}
		id, _ := e.clientsFor(testAccount, "secret", rec)
		_, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String("tampered"), Name: aws.String("honest"), ClientRequestToken: aws.String(token())})
		wantErr(t, err, "InvalidSignatureException")
		_, err = e.ID.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(ai + "/user/tampered")})
		wantErr(t, err, "NotFoundException")
	})
	t.Run("replayed but expired", func(t *testing.T) {
		rec := &recorder{}
		id, _ := e.clientsFor(testAccount, "secret", rec)
		_, err := id.DescribeAppInstance(ctx, in)
		noErr(t, err)
		replay := func() (int, http.Header, string) {
			r := rec.last()
			req, _ := http.NewRequest(r.method, r.url, bytes.NewReader(r.body))
			req.Header = r.header.Clone()
			resp, err := http.DefaultClient.Do(req)
			noErr(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, string(b)
		}
		// Within the 15-minute window a replay is accepted, as at AWS.
		clock.Advance(14 * time.Minute)
		if status, _, body := replay(); status != 200 {
			t.Fatalf("replay within 15 minutes: %d %s", status, body)
		}
		clock.Advance(2 * time.Minute)
		status, h, body := replay()
		if status != 403 || h.Get("x-amzn-ErrorType") != "InvalidSignatureException" || !strings.Contains(body, "Signature expired") {
			t.Fatalf("replay after 16 minutes: %d %s %s", status, h.Get("x-amzn-ErrorType"), body)
		}
		// The SDK, its clock now 16 minutes behind the server's, sees the
		// same typed error (it may correct its clock from the Date header).
		_, err = id.DescribeAppInstance(ctx, in)
		wantErr(t, err, "InvalidSignatureException")
		clock.Advance(-16 * time.Minute)
	})
	t.Run("unsigned", func(t *testing.T) {
		cfg := awsConfig(e.URL)
		cfg.Credentials = aws.AnonymousCredentials{}
		id := chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(e.URL) })
		_, err := id.DescribeAppInstance(ctx, in)
		wantErr(t, err, "MissingAuthenticationTokenException")
		status, h, body := e.raw("POST", "/app-instances", map[string]string{"Content-Type": "application/json"}, `{"Name":"x","ClientRequestToken":"t-unsigned"}`)
		if status != 403 || h.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" || !strings.Contains(body, "Missing Authentication Token") {
			t.Fatalf("unsigned POST: %d %s %s", status, h.Get("x-amzn-ErrorType"), body)
		}
		// Unknown paths too: nothing is told to an unsigned caller.
		if status, h, _ := e.raw("GET", "/no/such/path", nil, ""); status != 403 || h.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Fatalf("unsigned GET of an unknown path: %d %s", status, h.Get("x-amzn-ErrorType"))
		}
	})
	t.Run("incomplete", func(t *testing.T) {
		status, h, body := e.raw("GET", "/app-instances/"+pathEsc(ai), map[string]string{
			"Authorization": "AWS4-HMAC-SHA256 Credential=" + testAccount + "/20240101/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date",
			"X-Amz-Date":    "20240101T000000Z"}, "")
		if status != 403 || h.Get("x-amzn-ErrorType") != "IncompleteSignatureException" || !strings.Contains(body, "'Signature'") {
			t.Fatalf("incomplete signature: %d %s %s", status, h.Get("x-amzn-ErrorType"), body)
		}
	})
	t.Run("bearer not signed", func(t *testing.T) {
		// Signed without the bearer, which is then added: whoever saw the
		// request could make it speak for anyone. Every SDK signs the bearer.
		u := e.user(ai, "signer")
		req, _ := http.NewRequest("GET", e.URL+"/channels?scope=app-instance-user-memberships", nil)
		empty := sha256.Sum256(nil)
		noErr(t, v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: testAccount, SecretAccessKey: "secret"}, req,
			hex.EncodeToString(empty[:]), "chime", "us-east-1", clock.Now()))
		req.Header.Set("x-amz-chime-bearer", u)
		resp, err := http.DefaultClient.Do(req)
		noErr(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != "IncompleteSignatureException" || !strings.Contains(string(b), "x-amz-chime-bearer") {
			t.Fatalf("unsigned bearer: %d %s %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b)
		}
		// The SDK's own request, bearer signed, passes.
		_, err = e.Msg.ListChannelMembershipsForAppInstanceUser(ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(u)})
		noErr(t, err)
	})
	t.Run("CORS preflight needs no signature", func(t *testing.T) {
		if status, _, _ := e.raw("OPTIONS", "/channels", nil, ""); status != http.StatusNoContent {
			t.Fatalf("OPTIONS: %d", status)
		}
	})
}

// TestSigV4Ambiguous: a signature that can be read two ways is refused as
// AWS refuses an incomplete one (403 IncompleteSignatureException on the
// REST API, 4401 on /connect), not read the first way: a presigned URL
// with an X-Amz-* parameter twice, two Authorization headers, or an
// Authorization header with presigned query parameters.
func TestSigV4Ambiguous(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, _ := newSecureEnv(t, clock)
	ai := e.appInstance("ambiguous")
	u := e.user(ai, "u")
	empty := sha256.Sum256(nil)
	creds := aws.Credentials{AccessKeyID: testAccount, SecretAccessKey: "secret"}
	send := func(req *http.Request) (int, http.Header, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		noErr(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	wantIncomplete := func(t *testing.T, what string, req *http.Request, msg string) {
		t.Helper()
		status, h, body := send(req)
		if status != 403 || h.Get("x-amzn-ErrorType") != "IncompleteSignatureException" || !strings.Contains(body, msg) {
			t.Fatalf("%s: %d %s %s", what, status, h.Get("x-amzn-ErrorType"), body)
		}
	}

	t.Run("connect URL with an X-Amz parameter twice", func(t *testing.T) {
		signed := e.presignedURL(u, clock.Now().UTC(), nil)
		c := e.dial(signed)
		if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
			t.Fatalf("the URL as presigned: %s", f.Raw)
		}
		q, _ := url.ParseQuery(signed[strings.IndexByte(signed, '?')+1:])
		for _, k := range []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires"} {
			// The same value again, after the URL's own, and another value.
			e.dial(signed + "&" + k + "=" + url.QueryEscape(q.Get(k))).wantClose(session.CloseUnauthorized)
			e.dial(signed + "&" + k + "=0").wantClose(session.CloseUnauthorized)
		}
	})
	t.Run("presigned REST request with X-Amz-Signature twice", func(t *testing.T) {
		presign := func() string {
			req, _ := http.NewRequest("GET", e.URL+"/app-instances/"+pathEsc(ai)+"?X-Amz-Expires=60", nil)
			signed, _, err := v4.NewSigner().PresignHTTP(e.ctx, creds, req, hex.EncodeToString(empty[:]), "chime", "us-east-1", clock.Now())
			noErr(t, err)
			return signed
		}
		req, _ := http.NewRequest("GET", presign(), nil)
		if status, _, body := send(req); status != 200 {
			t.Fatalf("the request as presigned: %d %s", status, body)
		}
		req, _ = http.NewRequest("GET", presign()+"&X-Amz-Signature=0000", nil)
		wantIncomplete(t, "X-Amz-Signature twice", req, "'X-Amz-Signature' must appear once")
	})
	sign := func(query ...string) *http.Request {
		req, _ := http.NewRequest("GET", e.URL+"/app-instances/"+pathEsc(ai)+"?"+strings.Join(query, "&"), nil)
		noErr(t, v4.NewSigner().SignHTTP(e.ctx, creds, req, hex.EncodeToString(empty[:]), "chime", "us-east-1", clock.Now()))
		return req
	}
	t.Run("two Authorization headers", func(t *testing.T) {
		if status, _, body := send(sign()); status != 200 {
			t.Fatalf("the request as signed: %d %s", status, body)
		}
		req := sign()
		req.Header.Add("Authorization", sign().Header.Get("Authorization"))
		wantIncomplete(t, "two Authorization headers", req, "one Authorization header")
	})
	t.Run("Authorization header and presigned query parameters", func(t *testing.T) {
		// The header signs the query: only the two forms at once are wrong.
		for _, q := range []string{"X-Amz-Signature=0000", "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Date=20240101T000000Z", "X-Amz-Security-Token=t"} {
			wantIncomplete(t, "Authorization header and "+q, sign(q), "Only one auth mechanism allowed")
		}
	})
}

// presignAs returns the ws:// /connect URL for user presigned with id/secret at signedAt.
func (e *env) presignAs(id, secret, user string, signedAt time.Time) string {
	e.t.Helper()
	return e.presignIn("us-east-1", id, secret, user, signedAt)
}

// presignIn is presignAs with the credential scope's region.
func (e *env) presignIn(region, id, secret, user string, signedAt time.Time) string {
	e.t.Helper()
	u, _ := url.Parse(e.URL)
	u.Path = "/connect"
	u.RawQuery = url.Values{"X-Amz-Expires": {"10"}, "sessionId": {"1"}, "userArn": {user}}.Encode()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	empty := sha256.Sum256(nil)
	signed, _, err := v4.NewSigner().PresignHTTP(e.ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req,
		hex.EncodeToString(empty[:]), "chime", region, signedAt)
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Replace(signed, "http", "ws", 1)
}

// TestScopes: each scope allows what it should and refuses the rest with a
// 403 ForbiddenException, in one place for the REST API and /connect
// (issue 6: "user-bound key with another user's bearer → refused").
func TestScopes(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, auth := newSecureEnv(t, clock)
	ai := e.appInstance("scoped")
	other := e.appInstance("other")
	u1, u2 := e.user(ai, "u1"), e.user(ai, "u2")
	stranger := e.user(other, "stranger")
	bot := e.bot(ai, "helper")
	ch := e.channel(ai, u1, "UNRESTRICTED", "PUBLIC")
	_, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArns: []string{u2, bot}, ChimeBearer: aws.String(u1)})
	noErr(t, err)
	otherCh := e.channel(other, stranger, "UNRESTRICTED", "PUBLIC")

	keys := []api.Key{
		adminKey,
		{AccessKeyID: "AKIAAPPINSTANCE", SecretAccessKey: "app-secret", Scope: chime.Scope{Kind: chime.ScopeAppInstance, ARN: ai}},
		{AccessKeyID: "AKIAUSERONE", SecretAccessKey: "u1-secret", Scope: chime.Scope{Kind: chime.ScopeUser, ARN: u1}},
		{AccessKeyID: "AKIABOT", SecretAccessKey: "bot-secret", Scope: chime.Scope{Kind: chime.ScopeUser, ARN: bot}},
	}
	auth.SetKeys(keys)
	ctx := e.ctx
	send := func(msg *chimesdkmessaging.Client, channel, bearer string) error {
		_, err := msg.SendChannelMessage(ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(channel), Content: aws.String("hi"),
			Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(bearer), ClientRequestToken: aws.String(token())})
		return err
	}
	endpoint := func(msg *chimesdkmessaging.Client) error {
		_, err := msg.GetMessagingSessionEndpoint(ctx, &chimesdkmessaging.GetMessagingSessionEndpointInput{})
		return err
	}

	t.Run("app instance key", func(t *testing.T) {
		id, msg := e.clientsFor("AKIAAPPINSTANCE", "app-secret", nil)
		_, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String("new"), Name: aws.String("new"), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		_, err = id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
		noErr(t, err)
		_, err = id.ListAppInstanceUsers(ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
		noErr(t, err)
		noErr(t, send(msg, ch, u2))
		noErr(t, endpoint(msg))
		_, err = msg.TagResource(ctx, &chimesdkmessaging.TagResourceInput{ResourceARN: aws.String(ch), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		noErr(t, err)
		// Outside its app instance, or on the account as a whole: refused.
		_, err = id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(other),
			AppInstanceUserId: aws.String("intruder"), Name: aws.String("x"), ClientRequestToken: aws.String(token())})
		wantErr(t, err, "ForbiddenException")
		_, err = id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(stranger)})
		wantErr(t, err, "ForbiddenException")
		_, err = id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("mine"), ClientRequestToken: aws.String(token())})
		wantErr(t, err, "ForbiddenException")
		_, err = id.ListAppInstances(ctx, &chimesdkidentity.ListAppInstancesInput{})
		wantErr(t, err, "ForbiddenException")
		wantErr(t, send(msg, otherCh, stranger), "ForbiddenException")
		// A resource of its app instance with a bearer from another.
		wantErr(t, send(msg, ch, stranger), "ForbiddenException")
		_, err = msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArn: aws.String(stranger), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(u1)})
		wantErr(t, err, "ForbiddenException")
	})

	t.Run("user-bound key", func(t *testing.T) {
		id, msg := e.clientsFor("AKIAUSERONE", "u1-secret", nil)
		noErr(t, send(msg, ch, u1))
		_, err := msg.ListChannelMembershipsForAppInstanceUser(ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(u1)})
		noErr(t, err)
		_, err = msg.ListChannelMemberships(ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(u1)})
		noErr(t, err)
		noErr(t, endpoint(msg))
		// Another user's bearer: refused, whatever that user may do.
		wantErr(t, send(msg, ch, u2), "ForbiddenException")
		_, err = msg.DeleteChannelMembership(ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArn: aws.String(u2), ChimeBearer: aws.String(u2)})
		wantErr(t, err, "ForbiddenException")
		// Identity operations and the tag operations (no bearer): refused.
		_, err = id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u1)})
		wantErr(t, err, "ForbiddenException")
		_, err = id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String("sock-puppet"), Name: aws.String("x"), ClientRequestToken: aws.String(token())})
		wantErr(t, err, "ForbiddenException")
		_, err = msg.TagResource(ctx, &chimesdkmessaging.TagResourceInput{ResourceARN: aws.String(ch), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		wantErr(t, err, "ForbiddenException")
		_, err = msg.PutChannelExpirationSettings(ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(ch)})
		wantErr(t, err, "ForbiddenException")
		// Its own bearer on a channel of another app instance: refused.
		wantErr(t, send(msg, otherCh, u1), "ForbiddenException")
	})

	t.Run("bot-bound key", func(t *testing.T) {
		_, msg := e.clientsFor("AKIABOT", "bot-secret", nil)
		noErr(t, send(msg, ch, bot))
		wantErr(t, send(msg, ch, u1), "ForbiddenException")
	})

	t.Run("connect", func(t *testing.T) {
		now := clock.Now().UTC()
		for _, tc := range []struct {
			name, id, secret, user string
			ok                     bool
		}{
			{"user key as its user", "AKIAUSERONE", "u1-secret", u1, true},
			{"user key as another user", "AKIAUSERONE", "u1-secret", u2, false},
			{"bot key as its bot", "AKIABOT", "bot-secret", bot, true},
			{"app instance key as its user", "AKIAAPPINSTANCE", "app-secret", u2, true},
			{"app instance key as a user of another", "AKIAAPPINSTANCE", "app-secret", stranger, false},
			{"admin as anyone", testAccount, "secret", stranger, true},
			{"unknown key", "AKIANOBODY", "secret", u1, false},
			{"wrong secret", "AKIAUSERONE", "wrong", u1, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := e.dial(e.presignAs(tc.id, tc.secret, tc.user, now))
				if !tc.ok {
					c.wantClose(session.CloseUnauthorized)
					return
				}
				if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
					t.Fatalf("first frame %s", f.Raw)
				}
			})
		}
		// Valid only for the X-Amz-Expires it carries (10 s).
		e.dial(e.presignAs("AKIAUSERONE", "u1-secret", u1, now.Add(-11*time.Second))).wantClose(session.CloseUnauthorized)
		// Unsigned: refused, where the open mode would let it in.
		e.dial(strings.Replace(e.URL, "http", "ws", 1) + "/connect?userArn=" + url.QueryEscape(u1)).wantClose(session.CloseUnauthorized)
	})

	// Rule D14: the region is the signature's, whatever the key's scope. A
	// scoped key signing for another region than its resources' finds them
	// missing, as an admin key does (TestForeignAccountARNs).
	t.Run("scoped key in another region", func(t *testing.T) {
		for _, k := range []struct{ id, secret, bearer string }{{"AKIAAPPINSTANCE", "app-secret", u2}, {"AKIAUSERONE", "u1-secret", u1}} {
			cfg := awsConfig(e.URL)
			cfg.Region = "eu-west-1"
			cfg.Credentials = credentials.NewStaticCredentialsProvider(k.id, k.secret, "")
			msg := chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(e.URL) })
			wantErr(t, send(msg, ch, k.bearer), "UnauthorizedClientException")
			e.dial(e.presignIn("eu-west-1", k.id, k.secret, k.bearer, clock.Now().UTC())).wantClose(session.CloseUnauthorized)
		}
		cfg := awsConfig(e.URL)
		cfg.Region = "eu-west-1"
		cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAAPPINSTANCE", "app-secret", "")
		id := chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(e.URL) })
		_, err := id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
		wantErr(t, err, "NotFoundException")
	})

	t.Run("revoked key", func(t *testing.T) {
		auth.SetKeys(keys[:1])
		_, msg := e.clientsFor("AKIAUSERONE", "u1-secret", nil)
		wantErr(t, send(msg, ch, u1), "UnrecognizedClientException")
	})
}

// throttleClock is a transport that advances the server's clock by a
// second whenever the server answers 429, so that a retry is let through
// without the test waiting on real time.
type throttleClock struct {
	clock *fakeClock
	n429  int
	mu    sync.Mutex
}

func (tc *throttleClock) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		tc.mu.Lock()
		tc.n429++
		tc.mu.Unlock()
		tc.clock.Advance(time.Second)
	}
	return resp, err
}

// TestRateLimitsAWS: with AWS's default rates on (--rate-limits=aws, rule
// D17, SEMANTICS.md §9), a request over a rate is answered 429
// ThrottledClientException; a second later it passes again. The clock is
// the test's, so nothing depends on the machine's speed. An SDK that
// retries ThrottledClientException gets through.
func TestRateLimitsAWS(t *testing.T) {
	clock := newFakeClock(time.Now())
	e := newEnv(t, withClock(clock))
	limits := api.NewAWSRateLimits(clock.Now)
	e.apiOpts = []api.Option{api.WithRateLimits(limits)}
	e.restart()
	ai := e.appInstance("throttled")
	owner := e.user(ai, "owner")
	var users []string
	for i := range 4 {
		users = append(users, e.user(ai, fmt.Sprintf("m%d", i)))
	}
	ch := e.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	clock.Advance(time.Second)

	batch := func(msg *chimesdkmessaging.Client, members ...string) error {
		_, err := msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArns: members, ChimeBearer: aws.String(owner)})
		return err
	}
	t.Run("batch APIs: 1 per second per channel", func(t *testing.T) {
		noErr(t, batch(e.Msg, users[0]))
		err := batch(e.Msg, users[1])
		wantErr(t, err, "ThrottledClientException")
		if errStatus(err) != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", errStatus(err))
		}
		clock.Advance(time.Second)
		noErr(t, batch(e.Msg, users[1]))
	})

	// Per bearer: 10 messaging requests per second in us-east-1, 5 in eu-central-1.
	perBearer := func(t *testing.T, msg *chimesdkmessaging.Client, channel, bearer string, rate int) {
		clock.Advance(time.Second)
		list := func() error {
			_, err := msg.ListChannelMessages(e.ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(channel), ChimeBearer: aws.String(bearer)})
			return err
		}
		for range rate {
			noErr(t, list())
		}
		_, err := msg.GetMessagingSessionEndpoint(e.ctx, &chimesdkmessaging.GetMessagingSessionEndpointInput{}) // no bearer: not counted
		noErr(t, err)
		err = list()
		wantErr(t, err, "ThrottledClientException")
		if want := fmt.Sprintf("%d requests per second per bearer", rate); !strings.Contains(err.Error(), want) {
			t.Fatalf("want %q in %v", want, err)
		}
		clock.Advance(time.Second)
		noErr(t, list())
	}
	t.Run("per bearer, us-east-1", func(t *testing.T) { perBearer(t, e.Msg, ch, owner, 10) })
	t.Run("per bearer, eu-central-1", func(t *testing.T) {
		id, msg := e.identityAs("eu-central-1", testAccount), e.messagingAs("eu-central-1", testAccount)
		out, err := id.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("eu"), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		u, err := id.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: out.AppInstanceArn,
			AppInstanceUserId: aws.String("b"), Name: aws.String("b"), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		c, err := msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: out.AppInstanceArn, Name: aws.String("eu"),
			ChimeBearer: u.AppInstanceUserArn, ClientRequestToken: aws.String(token())})
		noErr(t, err)
		perBearer(t, msg, *c.ChannelArn, *u.AppInstanceUserArn, 5)
	})

	t.Run("an SDK that retries gets through", func(t *testing.T) {
		// aws-sdk-go-v2's standard retryer lists neither ThrottledClientException
		// nor 429 as retryable; an app adds the code, and then gets through.
		clock.Advance(time.Second)
		tc := &throttleClock{clock: clock}
		cfg := awsConfig(e.URL)
		cfg.HTTPClient = tc
		cfg.Retryer = func() aws.Retryer {
			return retry.AddWithErrorCodes(retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond }), "ThrottledClientException")
		}
		msg := chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(e.URL) })
		noErr(t, batch(e.Msg, users[2]))
		noErr(t, batch(msg, users[3]))
		if tc.n429 == 0 {
			t.Fatal("the batch was not throttled first: the retry path was not exercised")
		}
	})
	t.Run("elastic channel: 30 membership writes, messages per subchannel", func(t *testing.T) {
		// One user a tick: the users' own rate (10 a second per app instance) stays out of the way.
		mk := func(id string) string {
			clock.Advance(200 * time.Millisecond)
			return e.user(ai, id)
		}
		var admins []string
		for i := range 4 {
			admins = append(admins, mk(fmt.Sprintf("adm%d", i)))
			e.admin(ai, admins[i])
		}
		clock.Advance(time.Second)
		out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("elastic"),
			ChimeBearer: aws.String(owner), ClientRequestToken: aws.String(token()), ElasticChannelConfiguration: elasticConfig(10, 4, 1)})
		noErr(t, err)
		el := aws.ToString(out.ChannelArn)
		var joiners []string
		for i := range 31 {
			joiners = append(joiners, mk(fmt.Sprintf("j%02d", i)))
		}
		// 4 admins, 8 adds each in one second: 30 pass (15 in a plain channel), the 31st is 429.
		clock.Advance(time.Second)
		added := 0
		for i, j := range joiners[:32-1] {
			_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(el),
				MemberArn: aws.String(j), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(admins[i/8])})
			if err != nil {
				wantErr(t, err, "ThrottledClientException")
				if !strings.Contains(err.Error(), "30 requests per second per channel") {
					t.Fatalf("add %d: %v", i, err)
				}
				break
			}
			added++
		}
		if added != 30 {
			t.Fatalf("%d adds in one second, want 30", added)
		}
		// Messages: the 30 a second of a subchannel leave another's alone.
		clock.Advance(time.Second)
		subs, err := e.Msg.ListSubChannels(e.ctx, &chimesdkmessaging.ListSubChannelsInput{ChannelArn: aws.String(el), ChimeBearer: aws.String(owner)})
		noErr(t, err)
		members := func(sub string) []string {
			page, err := e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(el),
				SubChannelId: aws.String(sub), ChimeBearer: aws.String(owner)})
			noErr(t, err)
			var arns []string
			for _, m := range page.ChannelMemberships {
				arns = append(arns, aws.ToString(m.Member.Arn))
			}
			return arns
		}
		first, second := members(aws.ToString(subs.SubChannels[0].SubChannelId)), members(aws.ToString(subs.SubChannels[1].SubChannelId))
		if len(first) < 4 || len(second) < 1 {
			t.Fatalf("subchannels of %d and %d members", len(first), len(second))
		}
		clock.Advance(time.Second)
		send := func(bearer string) error {
			_, err := e.sendIn(chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(el), ChimeBearer: aws.String(bearer), Content: aws.String("hi")})
			return err
		}
		for i := range 30 {
			noErr(t, send(first[i/8]))
		}
		wantErr(t, send(first[3]), "ThrottledClientException")
		noErr(t, send(second[0]))
	})
	if limits.Buckets() == 0 {
		t.Fatal("no rate bucket held")
	}
}

// TestForeignAccountARNs: an account sees only its own resources (rule D14
// gives each caller its account and region). In the open mode, a caller of
// another account, or of the same account in another region, that names an
// app instance, user, bot or channel by its well-formed ARN is answered
// exactly as for one that does not exist: NotFoundException with the same
// message (UnauthorizedClientException for a bearer), and nothing it asks
// to change or delete is touched. With credentials, an admin key is held
// to its account the same way.
func TestForeignAccountARNs(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	ai := e.appInstance("home")
	u := e.user(ai, "erin@example.com")
	bot := e.bot(ai, "helper")
	ch := e.channel(ai, u, "UNRESTRICTED", "PUBLIC")

	// answers runs every operation on arns as caller and returns the error
	// codes and messages, the ARNs in the messages replaced by "ARN".
	type arns struct{ ai, user, bot, channel string }
	answers := func(t *testing.T, id *chimesdkidentity.Client, msg *chimesdkmessaging.Client, a arns, bearer string) []string {
		t.Helper()
		var out []string
		add := func(op string, err error) {
			if err == nil {
				t.Errorf("%s succeeded", op)
				out = append(out, op+": success")
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%s: %v", op, err)
			}
			m := ae.ErrorMessage()
			for _, arn := range []string{a.channel, a.user, a.bot, a.ai, bearer} {
				m = strings.ReplaceAll(m, arn, "ARN")
			}
			out = append(out, fmt.Sprintf("%s: %d %s %s", op, errStatus(err), ae.ErrorCode(), m))
		}
		_, err := id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(a.ai)})
		add("DescribeAppInstance", err)
		_, err = id.UpdateAppInstance(ctx, &chimesdkidentity.UpdateAppInstanceInput{AppInstanceArn: aws.String(a.ai), Name: aws.String("taken over"), Metadata: aws.String("x")})
		add("UpdateAppInstance", err)
		_, err = id.ListAppInstanceUsers(ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(a.ai)})
		add("ListAppInstanceUsers", err)
		_, err = id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(a.ai),
			AppInstanceUserId: aws.String("intruder"), Name: aws.String("x"), ClientRequestToken: aws.String(token())})
		add("CreateAppInstanceUser", err)
		_, err = id.GetAppInstanceRetentionSettings(ctx, &chimesdkidentity.GetAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(a.ai)})
		add("GetAppInstanceRetentionSettings", err)
		_, err = id.ListTagsForResource(ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String(a.ai)})
		add("ListTagsForResource", err)
		_, err = id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(a.user)})
		add("DescribeAppInstanceUser", err)
		_, err = id.UpdateAppInstanceUser(ctx, &chimesdkidentity.UpdateAppInstanceUserInput{AppInstanceUserArn: aws.String(a.user), Name: aws.String("taken over"), Metadata: aws.String("x")})
		add("UpdateAppInstanceUser", err)
		_, err = id.DeleteAppInstanceUser(ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(a.user)})
		add("DeleteAppInstanceUser", err)
		_, err = id.DescribeAppInstanceBot(ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(a.bot)})
		add("DescribeAppInstanceBot", err)
		_, err = id.UpdateAppInstanceBot(ctx, &chimesdkidentity.UpdateAppInstanceBotInput{AppInstanceBotArn: aws.String(a.bot), Name: aws.String("taken over"), Metadata: aws.String("x")})
		add("UpdateAppInstanceBot", err)
		_, err = id.DeleteAppInstanceBot(ctx, &chimesdkidentity.DeleteAppInstanceBotInput{AppInstanceBotArn: aws.String(a.bot)})
		add("DeleteAppInstanceBot", err)
		// Messaging: the resource's own bearer, then the caller's own bearer on the resource.
		_, err = msg.SendChannelMessage(ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(a.channel), Content: aws.String("hi"),
			Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(a.user), ClientRequestToken: aws.String(token())})
		add("SendChannelMessage as the resource's user", err)
		_, err = msg.ListChannelMessages(ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(a.channel), ChimeBearer: aws.String(bearer)})
		add("ListChannelMessages", err)
		_, err = msg.DescribeChannel(ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(a.channel), ChimeBearer: aws.String(bearer)})
		add("DescribeChannel", err)
		_, err = msg.ListChannels(ctx, &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(a.ai), ChimeBearer: aws.String(bearer)})
		add("ListChannels", err)
		_, err = msg.PutChannelExpirationSettings(ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(a.channel)})
		add("PutChannelExpirationSettings", err)
		// Deleted last, so that the user and bot above are still there.
		_, err = id.DeleteAppInstance(ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(a.ai)})
		add("DeleteAppInstance", err)
		return out
	}
	for _, c := range []struct{ name, region, key string }{
		{"another account", "us-east-1", "210987654321"},
		{"another region", "eu-central-1", testAccount},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, msg := e.identityAs(c.region, c.key), e.messagingAs(c.region, c.key)
			// The caller's own app instance, user and channel, and ARNs of
			// its account that name nothing.
			out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("theirs"), ClientRequestToken: aws.String(token())})
			noErr(t, err)
			own := *out.AppInstanceArn
			ou, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(own),
				AppInstanceUserId: aws.String("me"), Name: aws.String("me"), ClientRequestToken: aws.String(token())})
			noErr(t, err)
			bearer := *ou.AppInstanceUserArn
			missingAI := strings.TrimSuffix(own, own[strings.LastIndex(own, "/")+1:]) + "4c0f1b7e-8d6a-4c5e-9a53-0b4f3f0e2a11"
			missing := arns{ai: missingAI, user: missingAI + "/user/erin@example.com", bot: missingAI + "/bot/helper", channel: missingAI + "/channel/c"}
			foreign := arns{ai: ai, user: u, bot: bot, channel: ch}
			want := answers(t, id, msg, missing, bearer)
			got := answers(t, id, msg, foreign, bearer)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("foreign ARN:\n  %s\nmissing ARN:\n  %s", got[i], want[i])
				}
			}
			for _, w := range want {
				if !strings.Contains(w, " 404 NotFoundException ") && !strings.Contains(w, " 401 UnauthorizedClientException ") {
					t.Errorf("a missing resource answered %s", w)
				}
			}
			// A session as the other account's user: refused as an unknown user.
			e.dial(e.presignIn(c.region, c.key, "secret", u, time.Now().UTC())).wantClose(session.CloseUnauthorized)
		})
	}
	// Nothing was changed or deleted, and the home account sees it all.
	a, err := e.ID.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if *a.AppInstance.Name != "home" {
		t.Fatalf("app instance renamed to %q by another account", *a.AppInstance.Name)
	}
	du, err := e.ID.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)})
	noErr(t, err)
	if *du.AppInstanceUser.Name != "name of erin@example.com" {
		t.Fatalf("user renamed to %q by another account", *du.AppInstanceUser.Name)
	}
	_, err = e.ID.DescribeAppInstanceBot(ctx, &chimesdkidentity.DescribeAppInstanceBotInput{AppInstanceBotArn: aws.String(bot)})
	noErr(t, err)
	users, err := e.ID.ListAppInstanceUsers(ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(users.AppInstanceUsers) != 1 {
		t.Fatalf("users of the app instance: %d, want 1", len(users.AppInstanceUsers))
	}
	msgs, err := e.Msg.ListChannelMessages(ctx, &chimesdkmessaging.ListChannelMessagesInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(u)})
	noErr(t, err)
	if len(msgs.ChannelMessages) != 0 {
		t.Fatalf("another account sent %d messages", len(msgs.ChannelMessages))
	}
	e.connect(u) // and its sessions
	// The same app instance, named by an admin key of another account.
	t.Run("admin key of another account", func(t *testing.T) {
		e2, auth := newSecureEnv(t, newFakeClock(time.Now()))
		home := e2.appInstance("home")
		auth.SetKeys([]api.Key{adminKey, {AccessKeyID: "210987654321", SecretAccessKey: "theirs", Scope: chime.Scope{Kind: chime.ScopeAccount}}})
		id, _ := e2.clientsFor("210987654321", "theirs", nil)
		_, err := id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(home)})
		wantErr(t, err, "NotFoundException")
		_, err = id.DeleteAppInstance(ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(home)})
		wantErr(t, err, "NotFoundException")
		_, err = e2.ID.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(home)})
		noErr(t, err)
	})
}
