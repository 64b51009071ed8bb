// Package e2e drives a real Belfry server with the real AWS SDK clients: the
// acceptance suite. Every test starts its own server on a temporary store.
package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/store"
)

// testAccount is the 12-digit access key id the clients sign with; rule D14
// makes it the account in every ARN.
const testAccount = "123456789012"

type env struct {
	t   *testing.T
	ctx context.Context
	URL string
	ID  *chimesdkidentity.Client
	Msg *chimesdkmessaging.Client
	Svc *service.Service
	Dir string // the store: a data directory, or a PostgreSQL URL (see storeTarget)

	sessionRuntime // the event bus and the messaging sessions (wsclient_test.go)

	auth    api.Authenticator // nil: the open development mode (api.OpenAuth)
	apiOpts []api.Option      // more options for the API server (rate limits)

	opts []envOption
	stop func() // closes the running server and its store
}

type envOption func(*service.Options)

// withQuotas starts the server with the given resource quotas.
func withQuotas(q service.Quotas) envOption {
	return func(o *service.Options) { o.Quotas = &q }
}

// withClock starts the server with c as its clock.
func withClock(c *fakeClock) envOption {
	return func(o *service.Options) { o.Now = c.Now }
}

// newEnv starts a server on a fresh store and returns SDK clients for it.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), Dir: storeTarget(t), opts: opts}
	e.start()
	return e
}

// start opens the store e.Dir names and serves it on a new test server.
func (e *env) start() {
	e.t.Helper()
	st, err := store.Open(e.ctx, e.Dir)
	if err != nil {
		e.t.Fatal(err)
	}
	var o service.Options
	for _, f := range e.opts {
		f(&o)
	}
	o.Bus = e.startBus()
	svc, err := service.New(e.ctx, st, o)
	if err != nil {
		st.Close()
		e.t.Fatal(err)
	}
	h, err := api.New(svc, e.authenticator(), slog.New(slog.NewTextHandler(io.Discard, nil)), append(e.apiOptions(), e.apiOpts...)...)
	if err != nil {
		st.Close()
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(e.startSessions(svc, noNulls(e.t, h)))
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			e.stopSessions()
			srv.Close()
			st.Close()
		})
	}
	e.t.Cleanup(e.stop)
	e.URL, e.Svc = srv.URL, svc
	e.ID = e.identityAs("us-east-1", testAccount)
	e.Msg = e.messagingAs("us-east-1", testAccount)
}

// authenticator is the server's Authenticator: e.auth, else the open mode.
func (e *env) authenticator() api.Authenticator {
	if e.auth != nil {
		return e.auth
	}
	return api.OpenAuth{}
}

// restart stops the server, closes its store and starts a new server on the
// same data directory, as a process restart would. The URL changes; e.ID and
// e.Msg are replaced by clients for the new server.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// identityAs returns an identity client for the server that signs with
// accessKey in region (rule D14 takes account and region from them).
func (e *env) identityAs(region, accessKey string) *chimesdkidentity.Client {
	cfg := awsConfig(e.URL)
	cfg.Region = region
	cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKey, "secret", "")
	return chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(e.URL) })
}

// messagingAs is identityAs for the messaging client.
func (e *env) messagingAs(region, accessKey string) *chimesdkmessaging.Client {
	cfg := awsConfig(e.URL)
	cfg.Region = region
	cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKey, "secret", "")
	return chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(e.URL) })
}

// fakeClock is an injectable clock (see withClock); safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func awsConfig(url string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testAccount, "secret", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// appInstance creates an app instance and returns its ARN.
func (e *env) appInstance(name string) string {
	e.t.Helper()
	out, err := e.ID.CreateAppInstance(e.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String(name), ClientRequestToken: aws.String(token())})
	if err != nil {
		e.t.Fatalf("CreateAppInstance: %v", err)
	}
	return *out.AppInstanceArn
}

// user creates an app instance user with the given id and returns its ARN.
func (e *env) user(appInstance, id string) string {
	e.t.Helper()
	out, err := e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(appInstance),
		AppInstanceUserId: aws.String(id), Name: aws.String("name of " + id), ClientRequestToken: aws.String(token())})
	if err != nil {
		e.t.Fatalf("CreateAppInstanceUser %s: %v", id, err)
	}
	return *out.AppInstanceUserArn
}

// bot creates an app instance bot named name and returns its ARN. Bots can
// be bearers, members, moderators and admins like users.
func (e *env) bot(appInstance, name string) string {
	e.t.Helper()
	out, err := e.ID.CreateAppInstanceBot(e.ctx, &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(appInstance),
		Name: aws.String(name), ClientRequestToken: aws.String(token()),
		Configuration: &idtypes.Configuration{Lex: &idtypes.LexConfiguration{
			LexBotAliasArn: aws.String("arn:aws:lex:us-east-1:" + testAccount + ":bot-alias/ABCDEFGHIJ/KLMNOPQRST"),
			LocaleId:       aws.String("en_US"),
			InvokedBy:      &idtypes.InvokedBy{StandardMessages: idtypes.StandardMessagesAll, TargetedMessages: idtypes.TargetedMessagesAll}}}})
	if err != nil {
		e.t.Fatalf("CreateAppInstanceBot %s: %v", name, err)
	}
	return *out.AppInstanceBotArn
}

// admin makes arn an AppInstanceAdmin of appInstance.
func (e *env) admin(appInstance, arn string) {
	e.t.Helper()
	if _, err := e.ID.CreateAppInstanceAdmin(e.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(appInstance),
		AppInstanceAdminArn: aws.String(arn)}); err != nil {
		e.t.Fatalf("CreateAppInstanceAdmin: %v", err)
	}
}

// channel creates a channel as bearer with the given mode and privacy and returns its ARN.
func (e *env) channel(appInstance, bearer, mode, privacy string) string {
	e.t.Helper()
	out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(appInstance),
		Name: aws.String("channel"), ChimeBearer: aws.String(bearer), ClientRequestToken: aws.String(token()),
		Mode: types.ChannelMode(mode), Privacy: types.ChannelPrivacy(privacy)})
	if err != nil {
		e.t.Fatalf("CreateChannel: %v", err)
	}
	return *out.ChannelArn
}

var tokenSeq = func() *atomic.Int64 { var n atomic.Int64; n.Store(time.Now().UnixNano()); return &n }()

// token returns a fresh ClientRequestToken, from any goroutine: two
// concurrent calls that got the same one would replay each other (rule D12).
func token() string {
	return "tok-" + strings.ReplaceAll(time.Unix(0, tokenSeq.Add(1)).Format("20060102150405.000000000"), ".", "-")
}

// raw sends a request the SDKs would not send and returns status, headers and body.
func (e *env) raw(method, path string, headers map[string]string, body string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// errorCode is err's AWS error code, or "" when err is not an API error.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wantErr fails unless err is an AWS API error with the given error code
// (the x-amzn-ErrorType shape name, e.g. "ForbiddenException").
func wantErr(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got non-API error %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// noErr fails the test on err.
func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// httpStatus returns the HTTP status of the response behind an SDK call's
// result metadata, 0 when there is none.
func httpStatus(md middleware.Metadata) int {
	if r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		return r.StatusCode
	}
	return 0
}

// errStatus returns the HTTP status of the response behind an SDK error, 0 when there is none.
func errStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// reap runs the reaper once (retention and expiration), as the server's
// timer would.
func (e *env) reap() {
	e.t.Helper()
	if _, err := e.Svc.Reap(e.ctx); err != nil {
		e.t.Fatalf("Reap: %v", err)
	}
}

// channelExists describes ch as bearer: true, or false on a 404.
func (e *env) channelExists(ch, bearer string) bool {
	e.t.Helper()
	_, err := e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(bearer)})
	if err != nil {
		wantErr(e.t, err, "NotFoundException")
		return false
	}
	return true
}
