package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// BenchmarkVerify: a CreateChannelMembership request signed by
// aws-sdk-go-v2 (the signing key cached, as on a busy server).
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"MemberArn":"` + user + `","Type":"DEFAULT"}`)
	r := sdkSigned(b, testKey, "POST", "/channels/"+url.PathEscape(channel)+"/memberships", body, signedAt)
	v := verifier(signedAt.Add(time.Minute), testKey)
	b.ReportAllocs()
	for range b.N {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyQuery: a ListChannelMemberships-like request with a query
// whose values need encoding, signed by aws-sdk-go-v2.
func BenchmarkVerifyQuery(b *testing.B) {
	r := sdkSigned(b, testKey, "GET", "/channels/"+url.PathEscape(channel)+"/memberships?max-results=50&next-token=abc%2F%2B%3D&type=DEFAULT", nil, signedAt)
	v := verifier(signedAt.Add(time.Minute), testKey)
	b.ReportAllocs()
	for range b.N {
		if _, err := v.Verify(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPresigned: a /connect URL presigned as amazon-chime-sdk-js
// does (its query has !'()*, so both forms are tried).
func BenchmarkVerifyPresigned(b *testing.B) {
	r := jsPresigned(testKey, "127.0.0.1:8443", signedAt, map[string]string{"userArn": user, "sessionId": "4242"})
	v := verifier(signedAt.Add(5*time.Second), testKey)
	b.ReportAllocs()
	for range b.N {
		if _, err := v.Verify(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignCanonical: the signature of a CreateChannelMembership's
// canonical request, as Verify computes it.
func BenchmarkSignCanonical(b *testing.B) {
	s := newSigner(SigningKey(testKey.SecretAccessKey, "20240305", "us-east-1", "chime"), "20240305/us-east-1/chime/aws4_request")
	creq := []byte(refCanonicalRequest("POST", CanonicalURI("/channels/"+url.PathEscape(channel)+"/memberships"), "",
		"content-type:application/json\nhost:127.0.0.1:8080\nx-amz-chime-bearer:"+user+"\nx-amz-date:20240305T102030Z\n",
		[]string{"content-type", "host", "x-amz-chime-bearer", "x-amz-date"}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
	b.ReportAllocs()
	for range b.N {
		s.signCanonical("20240305T102030Z", creq)
	}
}

// TestSignCanonical: the canonical request Verify builds and the signature
// it computes in buffers are the specification's, string by string
// (refCanonicalRequest of refEscape, refCanonicalQuery and
// refCanonicalHeaders; refStringToSign, refSignature), also when a signer
// is used again and from several goroutines.
func TestSignCanonical(t *testing.T) {
	key := SigningKey(testKey.SecretAccessKey, "20240305", "us-east-1", "chime")
	s := newSigner(key, "20240305/us-east-1/chime/aws4_request")
	long := strings.Repeat("header value ", 200)
	payload := hex.EncodeToString(sha256.New().Sum(nil))
	var creqs []string
	for _, c := range []struct {
		method, target, skip string
		header               http.Header
		signed               []string
	}{
		{"GET", "/", "", http.Header{"X-Amz-Date": {"20150830T123600Z"}}, []string{"host", "x-amz-date"}},
		{"POST", "/channels/" + url.PathEscape(channel) + "/memberships?operation=batch-create", "", http.Header{"X-Long": {long}}, []string{"host", "x-long"}},
		{"GET", "/connect?b=2&a=x%20y&a=(1)&X-Amz-Signature=00&c", "X-Amz-Signature", nil, []string{"host"}},
		{"PUT", "/a%2Fb/c d", "", http.Header{"Content-Length": {"12"}, "X-Amz-Meta": {" a  b ", "c"}}, []string{"content-length", "host", "x-amz-meta"}},
		{"", "", "", nil, nil},
	} {
		r := &http.Request{Method: c.method, RequestURI: c.target, URL: &url.URL{}, Host: "example.amazonaws.com", Header: c.header}
		if _, q, ok := strings.Cut(c.target, "?"); ok {
			r.URL.RawQuery = q
		}
		params, err := decodeQuery(nil, r.URL.RawQuery, c.skip)
		if err != nil {
			t.Fatal(err)
		}
		creq, q0, q1, err := appendCanonicalRequest(nil, r, params, appendEscapeStrict, c.signed, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		uri := "/"
		if p := rawPath(r); p != "" {
			uri = refEscape(p, func(c byte) bool { return unreserved(c) || c == '/' })
		}
		query, _ := refCanonicalQuery(r.URL.RawQuery, func(s string) string { return refEscape(s, unreserved) }, c.skip)
		headers, err := refCanonicalHeaders(r, c.signed)
		if err != nil {
			t.Fatal(err)
		}
		if want := refCanonicalRequest(c.method, uri, query, headers, c.signed, payload); string(creq) != want {
			t.Fatalf("canonical request %q, want %q", creq, want)
		}
		if string(creq[q0:q1]) != query {
			t.Fatalf("query at [%d:%d] of %q, want %q", q0, q1, creq, query)
		}
		creqs = append(creqs, string(creq))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				for _, creq := range creqs {
					want := refSignature(key, refStringToSign("20240305T102030Z", "20240305/us-east-1/chime/aws4_request", creq))
					if got := s.signCanonical("20240305T102030Z", []byte(creq)); string(got[:]) != want {
						t.Errorf("signature %s, want %s", got, want)
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestVerifyLongCanonicalRequest: a canonical request longer than the
// buffer matches starts with (a long signed header) verifies.
func TestVerifyLongCanonicalRequest(t *testing.T) {
	body := []byte(`{"Content":"hi"}`)
	req, err := http.NewRequest("POST", "http://127.0.0.1:8080/channels/"+url.PathEscape(channel)+"/messages", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-amz-chime-bearer", user)
	req.Header.Set("x-amz-meta-long", strings.Repeat("v", 3000))
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: testKey.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Header.Get("Authorization"), "x-amz-meta-long") {
		t.Fatalf("the long header is not signed: %s", req.Header.Get("Authorization"))
	}
	if _, err := verifier(signedAt, testKey).Verify(serverRequest(t, req, body), body); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-amz-meta-long", strings.Repeat("w", 3000))
	req.Body = io.NopCloser(bytes.NewReader(body))
	if _, err := verifier(signedAt, testKey).Verify(serverRequest(t, req, body), body); err == nil {
		t.Fatal("a changed long header verifies")
	}
}

// The canonical request, string to sign and signature as the SigV4
// specification writes them, string by string: the reference the verifier's
// buffered signCanonical is held to, and what the tests sign with.

func refCanonicalRequest(method, uri, query, headers string, signed []string, payloadHash string) string {
	return method + "\n" + uri + "\n" + query + "\n" + headers + "\n" + strings.Join(signed, ";") + "\n" + payloadHash
}

func refStringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func refSignature(signingKey []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(signingKey, stringToSign))
}

// The escapes, canonical query and headers and the Authorization parser as
// the package first wrote them, string by string: the references their
// buffered forms are held to (canonical_test.go, fuzz_test.go).

func refEscape(s string, keep func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; keep(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func refCanonicalQuery(rawQuery string, esc func(string) string, skip string) (string, error) {
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return "", errorf(InvalidSignature, "The query string is not correctly percent-encoded.")
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", errorf(InvalidSignature, "The query string is not correctly percent-encoded.")
		}
		if skip != "" && dk == skip {
			continue
		}
		params = append(params, kv{esc(dk), esc(dv)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var parts []string
	for _, p := range params {
		parts = append(parts, p.k+"="+p.v)
	}
	return strings.Join(parts, "&"), nil
}

func refCanonicalHeaders(r *http.Request, signed []string) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = r.Header.Values("Content-Length")
			if len(vals) == 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = r.Header.Values(name)
		}
		if len(vals) == 0 {
			return "", errorf(InvalidSignature, "The signed header '%s' is not in the request. %s", truncate(name, 100), MsgBadSignature)
		}
		var collapsed []string
		for _, v := range vals {
			collapsed = append(collapsed, strings.Join(strings.FieldsFunc(v, func(c rune) bool { return c == ' ' }), " "))
		}
		b.WriteString(name + ":" + strings.Join(collapsed, ",") + "\n")
	}
	return b.String(), nil
}

func refParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != Algorithm {
		return a, errorf(IncompleteSignature, "Authorization header requires the %s algorithm; got %q.", Algorithm, truncate(alg, 40))
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			if strings.TrimSpace(part) == "" {
				continue
			}
			return a, errorf(IncompleteSignature, "Authorization header has a malformed part %q: each must be key=value.", truncate(part, 40))
		}
		if (k == "Credential" && haveCred) || (k == "SignedHeaders" && haveSigned) || (k == "Signature" && haveSig) {
			return a, errorf(IncompleteSignature, "Authorization header must have the '%s' parameter once.", k)
		}
		switch k {
		case "Credential":
			cred, haveCred = val, true
		case "SignedHeaders":
			signed, haveSigned = val, true
		case "Signature":
			sig, haveSig = val, true
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, msgMissingPrefix+"'Credential' parameter.")
	}
	if !haveSig {
		missing = append(missing, msgMissingPrefix+"'Signature' parameter.")
	}
	if !haveSigned {
		missing = append(missing, msgMissingPrefix+"'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		return a, errorf(IncompleteSignature, "%s", strings.Join(missing, " "))
	}
	c, err := refParseCredential(cred)
	if err != nil {
		return a, err
	}
	a.Credential = c
	a.SignedHeaders, err = refParseSignedHeaders(signed)
	if err != nil {
		return a, err
	}
	if sig == "" {
		return a, errorf(IncompleteSignature, msgMissingPrefix+"'Signature' parameter.")
	}
	a.Signature = sig
	return a, nil
}

func refParseCredential(s string) (Credential, error) {
	f := strings.Split(s, "/")
	if len(f) != 5 || f[0] == "" || f[2] == "" || f[3] == "" {
		return Credential{}, errorf(IncompleteSignature, "Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request; got %q.", truncate(s, 200))
	}
	if _, err := time.Parse(ShortTimeFormat, f[1]); err != nil || len(f[1]) != 8 {
		return Credential{}, errorf(IncompleteSignature, "Credential date %q is not yyyymmdd.", truncate(f[1], 20))
	}
	return Credential{AccessKeyID: f[0], Date: f[1], Region: f[2], Service: f[3], Terminator: f[4]}, nil
}

func refParseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, errorf(IncompleteSignature, "SignedHeaders must not be empty.")
	}
	hs := strings.Split(s, ";")
	for i, h := range hs {
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, " \t:") {
			return nil, errorf(IncompleteSignature, "SignedHeaders must be lowercase header names separated by ';'; got %q.", truncate(s, 200))
		}
		if i > 0 && hs[i-1] >= h {
			return nil, errorf(IncompleteSignature, "SignedHeaders must be sorted and without duplicates; got %q.", truncate(s, 200))
		}
	}
	for _, h := range hs {
		if h == "host" {
			return hs, nil
		}
	}
	return nil, errorf(IncompleteSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
}
