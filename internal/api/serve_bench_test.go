package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/belfry/belfry/internal/chime"
)

// benchWriter is a ResponseWriter that keeps nothing between requests but
// its header map's storage.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// benchKey signs the benchmark's requests; its 12-digit id gives the
// account of the fuzz fixtures (rule D14).
var benchKey = Key{AccessKeyID: "000000000000", SecretAccessKey: "bench-secret", Scope: chime.Scope{Kind: chime.ScopeAccount}}

// sdkSignedRequest is method target with body, bearer and Content-Type,
// signed at at by aws-sdk-go-v2 as the Chime clients sign, as a server's
// handler receives it.
func sdkSignedRequest(tb testing.TB, method, target, bearer, body string, at time.Time) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(method, "http://belfry"+target, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-amz-chime-bearer", bearer)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: benchKey.AccessKeyID, SecretAccessKey: benchKey.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", at); err != nil {
		tb.Fatal(err)
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = "belfry"
	r.Header = req.Header.Clone()
	return r
}

// BenchmarkServeHTTP runs the whole handler on a valid CreateChannelMembership
// as the load test sends it: a JSON body, a bearer, an existing member of a
// channel of the fuzz fixtures. Every step of ServeHTTP runs (CORS headers,
// route, body, authentication, decoding and validation, authorize,
// ownAccount, the handler's input struct, the response) with metrics on and
// no rate limits. The operation is:
//   - open, sigv4: a stub returning the membership, so that only this
//     package's path is measured (sigv4 adds signature verification);
//   - store: the real service on the fixtures' store, which finds the
//     membership in place (rule D1, nothing written).
func BenchmarkServeHTTP(b *testing.B) {
	srv, logs, fill := fuzzServer(b)
	signedAt := time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)
	sigv4Auth := NewSigV4Auth([]Key{benchKey}, "", func() time.Time { return signedAt.Add(time.Minute) })
	target := fill("/channels/" + esc(fzPub) + "/memberships")
	body := fill(`{"MemberArn":"` + fzErin + `","Type":"DEFAULT"}`)
	member := chime.Membership{ChannelArn: fill(fzPub), Member: chime.Identity{Arn: fill(fzErin), Name: "erin@example.com"}}
	stub := op(func(ctx context.Context, c chime.Caller, in *membershipIn) (any, error) {
		return createChannelMembershipOutput(member), nil
	})
	stored := srv.impl["CreateChannelMembership"]
	srv.observer = nopObserver{}
	for _, c := range []struct {
		name string
		auth Authenticator
		impl opFunc
	}{
		{"open", OpenAuth{}, stub},
		{"sigv4", sigv4Auth, stub},
		{"store", sigv4Auth, stored},
	} {
		srv.auth = c.auth
		srv.impl["CreateChannelMembership"] = c.impl
		var r *http.Request
		if _, ok := c.auth.(OpenAuth); ok {
			r = httptest.NewRequest("POST", target, nil)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("x-amz-chime-bearer", fill(fzU1))
		} else {
			r = sdkSignedRequest(b, "POST", target, fill(fzU1), body, signedAt)
		}
		src := strings.NewReader(body)
		r.Body, r.ContentLength = io.NopCloser(src), int64(len(body))
		w := &benchWriter{h: http.Header{}}
		srv.ServeHTTP(w, r) // adds the member the first time
		if w.status != http.StatusCreated {
			b.Fatalf("%s: status %d", c.name, w.status)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				src.Reset(body)
				w.reset()
				srv.ServeHTTP(w, r)
			}
			if w.status != http.StatusCreated {
				b.Fatalf("status %d", w.status)
			}
		})
	}
	srv.impl["CreateChannelMembership"] = stored
	if m := logs.take(); len(m) > 0 {
		b.Fatalf("logged errors: %v", m)
	}
}

type nopObserver struct{}

func (nopObserver) ObserveRequest(string, int, time.Duration) {}
