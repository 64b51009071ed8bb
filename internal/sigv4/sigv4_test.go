package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	signedAt = time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)
	testKey  = Key{AccessKeyID: "AKIDBELFRYTEST", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	channel  = "arn:aws:chime:us-east-1:123456789012:app-instance/4c0f1b7e/channel/chan-1"
	user     = "arn:aws:chime:us-east-1:123456789012:app-instance/4c0f1b7e/user/erin@example.com"
)

func verifier(now time.Time, keys ...Key) *Verifier {
	return &Verifier{Service: "chime", Now: func() time.Time { return now }, Lookup: func(id string) (Key, bool) {
		for _, k := range keys {
			if k.AccessKeyID == id {
				return k, true
			}
		}
		return Key{}, false
	}}
}

// serverRequest turns a client request into what a Go HTTP server's handler
// receives: RequestURI as sent, Host, body.
func serverRequest(t testing.TB, req *http.Request, body []byte) *http.Request {
	t.Helper()
	var raw bytes.Buffer
	if err := req.Write(&raw); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(req.Method, req.URL.RequestURI(), bytes.NewReader(body))
	r.Host = req.Host
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	r.Header = req.Header.Clone()
	r.RequestURI = req.URL.RequestURI()
	r.ContentLength = int64(len(body))
	return r
}

// sdkSigned signs a request with aws-sdk-go-v2's signer, as the Chime clients do.
func sdkSigned(t testing.TB, key Key, method, target string, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:8080"+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-amz-chime-bearer", user)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, SessionToken: key.SessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return serverRequest(t, req, body)
}

func wantCode(t *testing.T, err error, code Code, msgPart string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want %v, got %v", code, err)
	}
	if e.Code != code || !strings.Contains(e.Message, msgPart) {
		t.Fatalf("want %v containing %q, got %v: %s", code, msgPart, e.Code, e.Message)
	}
}

// TestVerifyHeaderSDK: a request aws-sdk-go-v2 signs verifies, including a
// path with a percent-encoded ARN (the path is escaped twice in the
// canonical request, as for every AWS service but S3) and a query with
// characters that need encoding.
func TestVerifyHeaderSDK(t *testing.T) {
	body := []byte(`{"MemberArn":"` + user + `","Type":"DEFAULT"}`)
	for _, target := range []string{
		"/channels/" + url.PathEscape(channel) + "/memberships",
		"/channels/" + strings.NewReplacer(":", "%3A", "/", "%2F", "@", "%40").Replace(channel) + "/memberships?operation=batch-create",
		"/channels?app-instance-user-arn=" + url.QueryEscape(user) + "&max-results=5&next-token=abc%2F%2B%3D&scope=app-instance-user-memberships",
		"/tags?arn=a%20b%28c%29&x=",
	} {
		r := sdkSigned(t, testKey, "POST", target, body, signedAt)
		res, err := verifier(signedAt.Add(time.Minute), testKey).Verify(r, body)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if res.AccessKeyID != testKey.AccessKeyID || res.Region != "us-east-1" || res.Presigned {
			t.Fatalf("%s: result %+v", target, res)
		}
	}
}

// TestCanonicalURIDoubleEscape pins the double escaping of non-S3 services:
// the path as sent is escaped once more, so %3A becomes %253A.
func TestCanonicalURIDoubleEscape(t *testing.T) {
	got := CanonicalURI("/channels/arn%3Aaws%3Achime%3Aus-east-1%3A1%3Aapp-instance%2Fa%2Fchannel%2Fc/memberships")
	want := "/channels/arn%253Aaws%253Achime%253Aus-east-1%253A1%253Aapp-instance%252Fa%252Fchannel%252Fc/memberships"
	if got != want {
		t.Fatalf("CanonicalURI = %s, want %s", got, want)
	}
	if CanonicalURI("") != "/" {
		t.Fatal("empty path must canonicalise to /")
	}
}

// TestKnownAnswer: the get-vanilla case of AWS's SigV4 test suite.
func TestKnownAnswer(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "example.amazonaws.com"
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	v := verifier(time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC), Key{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
	v.Service = "service"
	if _, err := v.Verify(r, nil); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyHeaderRefusals: each way a header-signed request goes wrong
// gets the generic AWS error for it (SEMANTICS.md §8).
func TestVerifyHeaderRefusals(t *testing.T) {
	body := []byte(`{"Name":"x"}`)
	target := "/channels/" + url.PathEscape(channel)
	sign := func(key Key, at time.Time) *http.Request { return sdkSigned(t, key, "PUT", target, body, at) }
	now := signedAt.Add(time.Minute)
	v := verifier(now, testKey)

	t.Run("unsigned", func(t *testing.T) {
		_, err := v.Verify(httptest.NewRequest("PUT", target, nil), body)
		wantCode(t, err, MissingAuthenticationToken, "Missing Authentication Token")
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := v.Verify(sign(Key{AccessKeyID: "AKIDNOBODY", SecretAccessKey: "x"}, signedAt), body)
		wantCode(t, err, UnrecognizedClient, "security token included in the request is invalid")
	})
	t.Run("wrong secret", func(t *testing.T) {
		_, err := v.Verify(sign(Key{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: "not the secret"}, signedAt), body)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("tampered body", func(t *testing.T) {
		_, err := v.Verify(sign(testKey, signedAt), []byte(`{"Name":"y"}`))
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("tampered bearer", func(t *testing.T) {
		r := sign(testKey, signedAt)
		r.Header.Set("x-amz-chime-bearer", strings.Replace(user, "erin", "mallory", 1))
		_, err := v.Verify(r, body)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("tampered path", func(t *testing.T) {
		r := sign(testKey, signedAt)
		r.RequestURI = strings.Replace(r.RequestURI, "chan-1", "chan-2", 1)
		_, err := v.Verify(r, body)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("tampered query", func(t *testing.T) {
		r := sign(testKey, signedAt)
		r.URL.RawQuery = "operation=batch-create"
		_, err := v.Verify(r, body)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("expired", func(t *testing.T) {
		_, err := verifier(signedAt.Add(MaxSkew+time.Second), testKey).Verify(sign(testKey, signedAt), body)
		wantCode(t, err, InvalidSignature, "Signature expired: 20240305T102030Z is now earlier than 20240305T102031Z (20240305T103531Z - 15 min.)")
	})
	t.Run("within the skew window", func(t *testing.T) {
		if _, err := verifier(signedAt.Add(MaxSkew), testKey).Verify(sign(testKey, signedAt), body); err != nil {
			t.Fatal(err)
		}
		if _, err := verifier(signedAt.Add(-MaxSkew), testKey).Verify(sign(testKey, signedAt), body); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("from the future", func(t *testing.T) {
		_, err := verifier(signedAt.Add(-MaxSkew-time.Second), testKey).Verify(sign(testKey, signedAt), body)
		wantCode(t, err, InvalidSignature, "Signature not yet current")
	})
	t.Run("other service", func(t *testing.T) {
		r := sign(testKey, signedAt)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/chime/", "/s3/", 1))
		_, err := v.Verify(r, body)
		wantCode(t, err, InvalidSignature, "Credential should be scoped to correct service: 'chime'")
	})
	t.Run("scope date differs", func(t *testing.T) {
		r := sign(testKey, signedAt)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20240305/", "/20240304/", 1))
		_, err := v.Verify(r, body)
		wantCode(t, err, InvalidSignature, "Date in Credential scope does not match")
	})
	for name, edit := range map[string]func(string) string{
		"no Signature":     func(h string) string { return h[:strings.Index(h, ", Signature=")] },
		"no Credential":    func(h string) string { return strings.Replace(h, "Credential=", "Cred=", 1) },
		"no SignedHeaders": func(h string) string { return strings.Replace(h, "SignedHeaders=", "Signed=", 1) },
		"other algorithm":  func(h string) string { return strings.Replace(h, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1) },
		"bearer token":     func(string) string { return "Bearer abc" },
		"host not signed":  func(h string) string { return strings.Replace(h, "host;", "", 1) },
		"short credential": func(h string) string { return strings.Replace(h, "/us-east-1/chime/aws4_request", "", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			r := sign(testKey, signedAt)
			r.Header.Set("Authorization", edit(r.Header.Get("Authorization")))
			_, err := v.Verify(r, body)
			wantCode(t, err, IncompleteSignature, "")
		})
	}
	t.Run("no date", func(t *testing.T) {
		r := sign(testKey, signedAt)
		r.Header.Del("X-Amz-Date")
		_, err := v.Verify(r, body)
		wantCode(t, err, IncompleteSignature, "'X-Amz-Date' or a 'Date' header")
	})
	t.Run("bearer added after signing", func(t *testing.T) {
		// Signed without a bearer, sent with one: the signature holds, the
		// bearer is nobody's word. With MustSign it is refused.
		req, _ := http.NewRequest("PUT", "http://127.0.0.1:8080"+target, bytes.NewReader(body))
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: testKey.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-amz-chime-bearer", user)
		r := serverRequest(t, req, body)
		if _, err := v.Verify(r, body); err != nil {
			t.Fatalf("without MustSign: %v", err)
		}
		strict := verifier(now, testKey)
		strict.MustSign = []string{"x-amz-chime-bearer"}
		_, err := strict.Verify(r, body)
		wantCode(t, err, IncompleteSignature, "'x-amz-chime-bearer' must be a 'SignedHeader'")
		if _, err := strict.Verify(sign(testKey, signedAt), body); err != nil {
			t.Fatalf("the SDK signs the bearer: %v", err)
		}
		// A presigned request too.
		pr, _ := http.NewRequest("GET", "http://127.0.0.1:8080"+target+"?X-Amz-Expires=300", nil)
		empty := sha256.Sum256(nil)
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, pr, hex.EncodeToString(empty[:]), "chime", "us-east-1", signedAt)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(signed)
		r = httptest.NewRequest("GET", u.RequestURI(), nil)
		r.Host = u.Host
		r.Header.Set("x-amz-chime-bearer", user)
		_, err = strict.Verify(r, nil)
		wantCode(t, err, IncompleteSignature, "'x-amz-chime-bearer' must be a 'SignedHeader'")
	})
	t.Run("session token", func(t *testing.T) {
		withToken := Key{AccessKeyID: "AKIDTEMP", SecretAccessKey: "s", SessionToken: "token-1"}
		v := verifier(now, testKey, withToken)
		if _, err := v.Verify(sign(withToken, signedAt), body); err != nil {
			t.Fatalf("with its token: %v", err)
		}
		_, err := v.Verify(sign(Key{AccessKeyID: "AKIDTEMP", SecretAccessKey: "s", SessionToken: "token-2"}, signedAt), body)
		wantCode(t, err, UnrecognizedClient, "")
		_, err = v.Verify(sign(Key{AccessKeyID: "AKIDTEMP", SecretAccessKey: "s"}, signedAt), body)
		wantCode(t, err, UnrecognizedClient, "")
		_, err = v.Verify(sign(Key{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: testKey.SecretAccessKey, SessionToken: "unexpected"}, signedAt), body)
		wantCode(t, err, UnrecognizedClient, "")
	})
}

// sdkPresigned presigns a /connect URL with aws-sdk-go-v2's signer.
func sdkPresigned(t *testing.T, key Key, at time.Time, expires string, extra url.Values) *http.Request {
	t.Helper()
	q := url.Values{"X-Amz-Expires": {expires}, "userArn": {user}, "sessionId": {"4242"}}
	for k, v := range extra {
		q[k] = v
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:8443/connect?"+q.Encode(), nil)
	empty := sha256.Sum256(nil)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, SessionToken: key.SessionToken},
		req, hex.EncodeToString(empty[:]), "chime", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(signed)
	r := httptest.NewRequest("GET", u.RequestURI(), nil)
	r.Host = u.Host
	return r
}

// jsPresigned presigns a /connect URL exactly as amazon-chime-sdk-js's
// DefaultSigV4.signURL does (SEMANTICS.md §10): encodeURIComponent values,
// entries sorted, SignedHeaders=host, X-Amz-Expires=10.
func jsPresigned(key Key, host string, at time.Time, params map[string]string) *http.Request {
	date := at.Format(TimeFormat)
	scope := date[:8] + "/us-east-1/chime/aws4_request"
	p := map[string]string{
		"X-Amz-Algorithm":     Algorithm,
		"X-Amz-Credential":    EscapeURIComponent(key.AccessKeyID + "/" + scope),
		"X-Amz-Date":          date,
		"X-Amz-Expires":       "10",
		"X-Amz-SignedHeaders": "host",
		"X-Amzn-Version":      EscapeURIComponent("3.29.0"),
		"X-Amzn-User-Agent":   EscapeURIComponent("node(20)*'!'"),
	}
	for k, v := range params {
		p[EscapeURIComponent(k)] = EscapeURIComponent(v)
	}
	var keys []string
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+p[k])
	}
	query := strings.Join(parts, "&")
	empty := sha256.Sum256(nil)
	creq := "GET\n/connect\n" + query + "\nhost:" + strings.ToLower(host) + "\n\nhost\n" + hex.EncodeToString(empty[:])
	sig := refSignature(SigningKey(key.SecretAccessKey, date[:8], "us-east-1", "chime"), refStringToSign(date, scope, creq))
	r := httptest.NewRequest("GET", "/connect?"+query+"&X-Amz-Signature="+sig, nil)
	r.Host = host
	return r
}

// TestVerifyPresigned: presigned URLs verify whether aws-sdk-go-v2 or
// amazon-chime-sdk-js (encodeURIComponent, which leaves !'()* raw) signed
// them, and only within X-Amz-Date .. X-Amz-Date + X-Amz-Expires.
func TestVerifyPresigned(t *testing.T) {
	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", url.Values{"prefetch-on": {"connect"}})
		res, err := verifier(signedAt.Add(5*time.Second), testKey).Verify(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Presigned || res.AccessKeyID != testKey.AccessKeyID {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("amazon-chime-sdk-js", func(t *testing.T) {
		r := jsPresigned(testKey, "127.0.0.1:8443", signedAt, map[string]string{"userArn": user, "sessionId": "4242", "prefetch-on": "connect"})
		if !strings.Contains(r.URL.RawQuery, "node(20)*'!'") {
			t.Fatalf("the JS-style URL should carry raw !'()*: %s", r.URL.RawQuery)
		}
		if _, err := verifier(signedAt.Add(10*time.Second), testKey).Verify(r, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expired one second after X-Amz-Expires", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		_, err := verifier(signedAt.Add(11*time.Second), testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "Signature expired")
	})
	t.Run("replayed an hour later", func(t *testing.T) {
		r := jsPresigned(testKey, "127.0.0.1:8443", signedAt, map[string]string{"userArn": user})
		_, err := verifier(signedAt.Add(time.Hour), testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "Signature expired")
	})
	t.Run("from the future", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		_, err := verifier(signedAt.Add(-MaxSkew-time.Second), testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "not yet current")
	})
	t.Run("another user", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "erin", "mallory", 1)
		_, err := verifier(signedAt, testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("longer expiry", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=10", "X-Amz-Expires=3600", 1)
		_, err := verifier(signedAt.Add(time.Minute), testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("wrong secret", func(t *testing.T) {
		r := jsPresigned(Key{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: "nope"}, "127.0.0.1:8443", signedAt, map[string]string{"userArn": user})
		_, err := verifier(signedAt, testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("other host", func(t *testing.T) {
		r := jsPresigned(testKey, "127.0.0.1:8443", signedAt, map[string]string{"userArn": user})
		r.Host = "evil.example:8443"
		_, err := verifier(signedAt, testKey).Verify(r, nil)
		wantCode(t, err, InvalidSignature, "does not match")
	})
	t.Run("unknown key", func(t *testing.T) {
		r := jsPresigned(Key{AccessKeyID: "AKIDNOBODY", SecretAccessKey: "x"}, "127.0.0.1:8443", signedAt, map[string]string{"userArn": user})
		_, err := verifier(signedAt, testKey).Verify(r, nil)
		wantCode(t, err, UnrecognizedClient, "")
	})
	t.Run("no signature", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		q := r.URL.Query()
		q.Del("X-Amz-Signature")
		r.URL.RawQuery = q.Encode()
		_, err := verifier(signedAt, testKey).Verify(r, nil)
		wantCode(t, err, IncompleteSignature, "'X-Amz-Signature'")
	})
	t.Run("no authentication", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/connect?userArn="+url.QueryEscape(user), nil)
		_, err := verifier(signedAt, testKey).Verify(r, nil)
		wantCode(t, err, MissingAuthenticationToken, "")
		if Signed(r) {
			t.Fatal("Signed reports an unsigned request as signed")
		}
	})
}

// TestSigningKeyCache: the verifier's cached keys are the derived ones, per
// secret, day, region and service, each with its credential scope.
func TestSigningKeyCache(t *testing.T) {
	c := &keyCache{keys: map[keyScope]*signer{}}
	first := map[[4]string]*signer{}
	for range 2 {
		for _, in := range [][4]string{{"s1", "20260101", "us-east-1", "chime"}, {"s2", "20260101", "us-east-1", "chime"},
			{"s1", "20260102", "us-east-1", "chime"}, {"s1", "20260101", "eu-west-1", "chime"}} {
			got, want := c.get(in[0], in[1], in[2], in[3]), SigningKey(in[0], in[1], in[2], in[3])
			if !bytes.Equal(got.key, want) {
				t.Fatalf("%v: cached key %x, derived %x", in, got.key, want)
			}
			if scope := in[1] + "/" + in[2] + "/" + in[3] + "/aws4_request"; got.scope != scope {
				t.Fatalf("%v: scope %q, want %q", in, got.scope, scope)
			}
			if first[in] == nil {
				first[in] = got
			} else if first[in] != got {
				t.Fatalf("%v: a second signer", in)
			}
		}
	}
	if len(c.keys) != 4 {
		t.Fatalf("%d keys cached, want 4", len(c.keys))
	}
}

// TestVerifyAmbiguous: a request that carries one part of its signature
// twice, or both forms of signature, is refused with IncompleteSignature,
// as a presigned URL without X-Amz-Signature is, instead of the first
// value winning: a URL the signer made stays the one accepted form.
func TestVerifyAmbiguous(t *testing.T) {
	v := verifier(signedAt.Add(5*time.Second), testKey)
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token"} {
		t.Run("presigned, two "+k, func(t *testing.T) {
			key := testKey
			if k == "X-Amz-Security-Token" {
				key.SessionToken = "token"
			}
			v := verifier(signedAt.Add(5*time.Second), key)
			r := sdkPresigned(t, key, signedAt, "10", nil)
			if _, err := v.Verify(r, nil); err != nil {
				t.Fatalf("the URL as signed: %v", err)
			}
			val := r.URL.Query().Get(k)
			// The signed URL with the same value again, then with another.
			for _, extra := range []string{val, "0" + val} {
				r := sdkPresigned(t, key, signedAt, "10", nil)
				r.URL.RawQuery += "&" + url.QueryEscape(k) + "=" + url.QueryEscape(extra)
				_, err := v.Verify(r, nil)
				wantCode(t, err, IncompleteSignature, "'"+k+"' must appear once")
			}
		})
	}
	t.Run("presigned, an empty X-Amz-Signature before the real one", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		r.URL.RawQuery = "X-Amz-Signature=&" + r.URL.RawQuery
		_, err := v.Verify(r, nil)
		wantCode(t, err, IncompleteSignature, "'X-Amz-Signature' must appear once")
	})
	t.Run("presigned, a percent-encoded second X-Amz-Signature", func(t *testing.T) {
		r := sdkPresigned(t, testKey, signedAt, "10", nil)
		r.URL.RawQuery += "&X%2DAmz%2DSignature=00"
		_, err := v.Verify(r, nil)
		wantCode(t, err, IncompleteSignature, "'X-Amz-Signature' must appear once")
	})
	body := []byte(`{"Name":"x"}`)
	sign := func() *http.Request { return sdkSigned(t, testKey, "POST", "/channels?operation=x", body, signedAt) }
	t.Run("two Authorization headers", func(t *testing.T) {
		r := sign()
		if _, err := v.Verify(r, body); err != nil {
			t.Fatalf("the request as signed: %v", err)
		}
		for _, second := range []string{r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=x"} {
			r := sign()
			r.Header.Add("Authorization", second)
			_, err := v.Verify(r, body)
			wantCode(t, err, IncompleteSignature, "one Authorization header")
		}
		r = sign()
		r.Header["Authorization"] = append([]string{""}, r.Header["Authorization"]...)
		_, err := v.Verify(r, body)
		wantCode(t, err, IncompleteSignature, "one Authorization header")
	})
	t.Run("a part twice in the Authorization header", func(t *testing.T) {
		for _, part := range []string{"Credential", "SignedHeaders", "Signature"} {
			r := sign()
			h := r.Header.Get("Authorization")
			i := strings.Index(h, part+"=")
			j := strings.IndexByte(h[i:], ',')
			if j < 0 {
				j = len(h) - i
			}
			r.Header.Set("Authorization", h+", "+h[i:i+j])
			_, err := v.Verify(r, body)
			wantCode(t, err, IncompleteSignature, "'"+part+"' parameter once")
		}
	})
	t.Run("two X-Amz-Date or X-Amz-Security-Token headers", func(t *testing.T) {
		for _, h := range []string{"X-Amz-Date", "X-Amz-Security-Token"} {
			r := sign()
			r.Header.Add(h, signedAt.Format(TimeFormat))
			if h == "X-Amz-Security-Token" {
				r.Header.Add(h, "t")
			}
			_, err := v.Verify(r, body)
			wantCode(t, err, IncompleteSignature, "one '"+h+"' header")
		}
	})
	t.Run("Authorization header and presigned query parameters", func(t *testing.T) {
		pre := sdkPresigned(t, testKey, signedAt, "10", nil)
		for _, k := range []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"} {
			r := sign()
			r.URL.RawQuery += "&" + k + "=" + url.QueryEscape(pre.URL.Query().Get(k))
			_, err := v.Verify(r, body)
			wantCode(t, err, IncompleteSignature, "Only one auth mechanism allowed")
		}
		// The presigned URL itself, with the header of a signed request added.
		pre.Header.Set("Authorization", sign().Header.Get("Authorization"))
		pre.Header.Set("X-Amz-Date", signedAt.Format(TimeFormat))
		_, err := v.Verify(pre, nil)
		wantCode(t, err, IncompleteSignature, "Only one auth mechanism allowed")
	})
}
