package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The fuzz targets of issue 6 for SigV4 parsing. Their seeds run in every
// `go test`; `go test -fuzz FuzzX ./internal/sigv4` explores further (the
// long runs are recorded in docs/security.md).

// FuzzParseAuthorization: the Authorization header parser never panics,
// refuses only with IncompleteSignature, and what it accepts is complete: a
// 5-part credential, sorted lowercase signed headers including host, and a
// signature. It gives what the reference parser gives (sign_test.go).
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=123456789012/20240305/us-east-1/chime/aws4_request,SignedHeaders=content-length;content-type;host;x-amz-chime-bearer;x-amz-date,Signature=abc",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=",
		"AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
		"AWS4-HMAC-SHA256 SignedHeaders=host;host, Signature=x",
		"AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=Host, Signature=x",
		"AWS4-HMAC-SHA256 ,,,=,",
		"AWS4-HMAC-SHA256",
		"Bearer eyJhbGciOi",
		"",
		"AWS4-HMAC-SHA256 Credential=a/20241301/r/s/aws4_request, SignedHeaders=host, Signature=x",
		"AKIDEXAMPLE/20240229/us-east-1/chime/aws4_request",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if ra, rerr := refParseAuthorization(h); !reflect.DeepEqual(a, ra) || !reflect.DeepEqual(err, rerr) {
			t.Fatalf("%q: %+v, %v; the reference: %+v, %v", h, a, err, ra, rerr)
		}
		c, cerr := ParseCredential(h)
		if rc, rerr := refParseCredential(h); c != rc || !reflect.DeepEqual(cerr, rerr) {
			t.Fatalf("credential %q: %+v, %v; the reference: %+v, %v", h, c, cerr, rc, rerr)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != IncompleteSignature || e.Message == "" {
				t.Fatalf("%q: error %v", h, err)
			}
			return
		}
		if a.Credential.AccessKeyID == "" || len(a.Credential.Date) != 8 || a.Credential.Region == "" || a.Credential.Service == "" || a.Signature == "" {
			t.Fatalf("%q: accepted incomplete %+v", h, a)
		}
		host := false
		for i, s := range a.SignedHeaders {
			host = host || s == "host"
			if s != strings.ToLower(s) || (i > 0 && a.SignedHeaders[i-1] >= s) {
				t.Fatalf("%q: signed headers %v", h, a.SignedHeaders)
			}
		}
		if !host {
			t.Fatalf("%q: host not signed but accepted", h)
		}
	})
}

// FuzzDates: the credential date and X-Amz-Date readers accept what
// time.Parse accepts, with the same time.
func FuzzDates(f *testing.F) {
	for _, s := range []string{"20240305", "20240229", "20230229", "20241301", "00000101", "2024030", "+2024030",
		"20240305T102030Z", "20240305T240000Z", "20240305T102060Z", "20240305T102030.5Z", "20240305T102030,123456789Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkShortDate(t, s)
		checkAmzDate(t, s)
	})
}

// FuzzCanonicalQuery: the canonical query and the escapes are the
// reference's (sign_test.go), and matches tries the second form of a query
// whenever it differs.
func FuzzCanonicalQuery(f *testing.F) {
	f.Add("operation=batch-create", "")
	f.Add("b=2&a=(1)&a=%281%29&X-Amz-Signature=00&c", "X-Amz-Signature")
	f.Add("app-instance-user-arn=arn%3Aaws%3Achime%3Aus-east-1%3A1%3Aapp-instance%2Fa%2Fuser%2Ferin&max-results=5", "")
	f.Add("a=%zz&k=!'()*+~", "a")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, raw, skip string) {
		for _, esc := range []func(string) string{EscapeStrict, EscapeURIComponent} {
			got, err := CanonicalQuery(raw, esc, skip)
			want, werr := refCanonicalQuery(raw, esc, skip)
			if got != want || !reflect.DeepEqual(err, werr) {
				t.Fatalf("CanonicalQuery(%q, skip %q) = %q, %v; want %q, %v", raw, skip, got, err, want, werr)
			}
		}
		if params, err := decodeQuery(nil, raw, skip); err == nil {
			strict, _ := CanonicalQuery(raw, EscapeStrict, skip)
			js, _ := CanonicalQuery(raw, EscapeURIComponent, skip)
			if strict != js && !slices.ContainsFunc(params, escapesDiffer) {
				t.Fatalf("%q: forms %q and %q differ, escapesDiffer says no", raw, strict, js)
			}
		}
		if got, want := EscapeStrict(raw), refEscape(raw, unreserved); got != want {
			t.Fatalf("EscapeStrict(%q) = %q, want %q", raw, got, want)
		}
		if got, want := EscapeURIComponent(raw), refEscape(raw, jsKeep); got != want {
			t.Fatalf("EscapeURIComponent(%q) = %q, want %q", raw, got, want)
		}
	})
}

// FuzzCanonicalHeaders: the canonical headers are the reference's
// (sign_test.go), and headerValues is Header.Values, for any name and value.
func FuzzCanonicalHeaders(f *testing.F) {
	f.Add("x-amz-chime-bearer", "  arn:aws:chime  x ", true)
	f.Add("content-length", "12", false)
	f.Add("X-Amz-Date", "20240305T102030Z", true)
	f.Add("weird key", "v", false)
	f.Add("", "", true)
	f.Fuzz(func(t *testing.T, name, value string, canonical bool) {
		r := &http.Request{Host: "127.0.0.1:8080", Header: http.Header{}, ContentLength: 7}
		if canonical {
			r.Header[textproto.CanonicalMIMEHeaderKey(name)] = []string{value, value + " 2"}
		} else {
			r.Header[name] = []string{value}
		}
		got, want := headerValues(r.Header, name), r.Header.Values(name)
		if len(got) != len(want) || len(got) > 0 && &got[0] != &want[0] {
			t.Fatalf("headerValues(%q) = %q, want %q", name, got, want)
		}
		for _, signed := range [][]string{{name}, {"host", name}, {"content-length", name}} {
			got, err := CanonicalHeaders(r, signed)
			want, werr := refCanonicalHeaders(r, signed)
			if got != want || !reflect.DeepEqual(err, werr) {
				t.Fatalf("CanonicalHeaders(%q) = %q, %v; want %q, %v", signed, got, err, want, werr)
			}
		}
	})
}

// FuzzParsePresigned: the presigned-URL parser never panics, refuses only
// with IncompleteSignature, and accepts only an X-Amz-Expires of 1 s to 7
// days and an X-Amz-Date it can read.
func FuzzParsePresigned(f *testing.F) {
	for _, s := range []string{
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240305%2Fus-east-1%2Fchime%2Faws4_request&X-Amz-Date=20240305T102030Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=00&userArn=arn%3Aaws%3Achime",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/20240305/r/chime/aws4_request&X-Amz-Date=20240305T102030Z&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=1",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/20240305/r/chime/aws4_request&X-Amz-Date=yesterday&X-Amz-Expires=-1&X-Amz-SignedHeaders=&X-Amz-Signature=1",
		"X-Amz-Signature=abc",
		"X-Amz-Algorithm=AWS4-HMAC-SHA1",
		"X-Amz-Expires=99999999999999999999",
		"%zz=1&X-Amz-Date=20240305T102030Z",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		p, err := ParsePresigned(q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != IncompleteSignature {
				t.Fatalf("%q: error %v", raw, err)
			}
			return
		}
		if p.Expires < time.Second || p.Expires > MaxExpires || p.Date.IsZero() || p.Signature == "" || len(p.SignedHeaders) == 0 {
			t.Fatalf("%q: accepted %+v", raw, p)
		}
	})
}

// FuzzVerify: whatever arrives (method, path, query, Authorization, date,
// body), Verify never panics and refuses only with one of the four AWS
// authentication errors; a request it accepts was signed with the key.
func FuzzVerify(f *testing.F) {
	f.Add("POST", "/channels/arn%3Aaws%3Achime/memberships", "operation=batch-create",
		"AWS4-HMAC-SHA256 Credential=AKIDBELFRYTEST/20240305/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20240305T102030Z", `{}`)
	f.Add("GET", "/connect", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDBELFRYTEST%2F20240305%2Fus-east-1%2Fchime%2Faws4_request&X-Amz-Date=20240305T102030Z&X-Amz-Expires=10&X-Amz-SignedHeaders=host&X-Amz-Signature=00", "", "", "")
	f.Add("GET", "/%ZZ", "a=%zz", "AWS4-HMAC-SHA256 Credential=AKIDBELFRYTEST/20240305/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-meta, Signature=00", "20240305T102030Z", "")
	f.Add("PUT", "/", "", "AWS4-HMAC-SHA256 Credential=AKIDBELFRYTEST/20240305/us-east-1/chime/aws4_request, SignedHeaders=content-length;host;x-amz-date, Signature=00", "Tue, 05 Mar 2024 10:20:30 GMT", "x")
	f.Add("GET", "/", "", "", "", "")
	v := verifier(signedAt, testKey)
	f.Fuzz(func(t *testing.T, method, path, query, authz, date, body string) {
		target := "/" + strings.TrimLeft(path, "/")
		r, err := http.NewRequest(method, "http://127.0.0.1:8080/", strings.NewReader(body))
		if err != nil {
			return
		}
		r.RequestURI = target
		r.URL.RawQuery = query
		r.Host = "127.0.0.1:8080"
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if date != "" {
			r.Header["X-Amz-Date"] = []string{date}
		}
		_, err = v.Verify(r, []byte(body))
		if err == nil {
			t.Fatalf("accepted a request not signed with the key: %s %s?%s %q", method, target, query, authz)
		}
		var e *Error
		if !errors.As(err, &e) || e.Code < MissingAuthenticationToken || e.Code > InvalidSignature || e.Message == "" {
			t.Fatalf("error %v", err)
		}
	})
}

// FuzzSignVerify is differential: for any path segment, query and body,
// a request aws-sdk-go-v2's signer signs verifies, header-signed (with a
// bearer, which the server requires signed) and presigned, so Belfry's
// canonical request is the SDK's.
func FuzzSignVerify(f *testing.F) {
	f.Add("arn:aws:chime:us-east-1:123456789012:app-instance/a/channel/c", "next-token", "abc/+= ~!*'()", `{"a":1}`)
	f.Add("erin@example.com", "app-instance-user-arn", "arn:aws:chime:us-east-1:1:app-instance/x/user/erin@example.com", "")
	f.Add("with space and %", "k y", "ü €", "\x00\xff")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, seg, key, value, body string) {
		target := "http://127.0.0.1:8080/channels/" + url.PathEscape(seg) + "/x?" + url.Values{key: {value}, "operation": {"o"}}.Encode()
		req, err := http.NewRequest("POST", target, bytes.NewReader([]byte(body)))
		if err != nil {
			return
		}
		req.Header.Set("x-amz-chime-bearer", user)
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: testKey.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", req.URL.RequestURI(), nil)
		r.Header, r.Host, r.ContentLength = req.Header, req.URL.Host, int64(len(body))
		v := verifier(signedAt, testKey)
		v.MustSign = []string{"x-amz-chime-bearer"}
		if _, err := v.Verify(r, []byte(body)); err != nil {
			t.Fatalf("SDK-signed %s: %v", req.URL.RequestURI(), err)
		}
		empty := sha256.Sum256(nil)
		get, _ := http.NewRequest("GET", target+"&X-Amz-Expires=60", nil)
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, get, hex.EncodeToString(empty[:]), "chime", "us-east-1", signedAt)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(signed)
		if err != nil {
			t.Fatal(err)
		}
		pr := httptest.NewRequest("GET", u.RequestURI(), nil)
		pr.Host = u.Host
		pr.URL.RawQuery = u.RawQuery
		if _, err := verifier(signedAt, testKey).Verify(pr, nil); err != nil {
			t.Fatalf("SDK-presigned %s: %v", u.RequestURI(), err)
		}
	})
}
