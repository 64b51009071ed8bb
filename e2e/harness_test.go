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
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"

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
	Dir string
}

type envOption func(*service.Options)

// withQuotas starts the server with the given resource quotas.
func withQuotas(q service.Quotas) envOption {
	return func(o *service.Options) { o.Quotas = &q }
}

// newEnv starts a server on a fresh store and returns SDK clients for it.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var o service.Options
	for _, f := range opts {
		f(&o)
	}
	svc, err := service.New(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(svc, api.OpenAuth{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	e := &env{t: t, ctx: ctx, URL: srv.URL, Svc: svc, Dir: dir}
	cfg := awsConfig(srv.URL)
	e.ID = chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	e.Msg = chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return e
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

var tokenSeq = time.Now().UnixNano()

// token returns a fresh ClientRequestToken.
func token() string {
	tokenSeq++
	return "tok-" + strings.ReplaceAll(time.Unix(0, tokenSeq).Format("20060102150405.000000000"), ".", "-")
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
