package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// BenchmarkSignCanonical: the signature of a CreateChannelMembership's
// canonical request, as Verify computes it.
func BenchmarkSignCanonical(b *testing.B) {
	key := SigningKey(testKey.SecretAccessKey, "20240305", "us-east-1", "chime")
	creq := []byte(refCanonicalRequest("POST", CanonicalURI("/channels/"+url.PathEscape(channel)+"/memberships"), "",
		"content-type:application/json\nhost:127.0.0.1:8080\nx-amz-chime-bearer:"+user+"\nx-amz-date:20240305T102030Z\n",
		[]string{"content-type", "host", "x-amz-chime-bearer", "x-amz-date"}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
	b.ReportAllocs()
	for range b.N {
		signCanonical(key, "20240305T102030Z", "20240305/us-east-1/chime/aws4_request", creq)
	}
}

// TestSignCanonical: the canonical request Verify builds and the signature
// it computes in buffers are the specification's, string by string
// (refCanonicalRequest, refStringToSign, refSignature).
func TestSignCanonical(t *testing.T) {
	key := SigningKey(testKey.SecretAccessKey, "20240305", "us-east-1", "chime")
	long := strings.Repeat("header value ", 200)
	for _, c := range []struct {
		method, uri, query, headers string
		signed                      []string
	}{
		{"GET", "/", "", "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n", []string{"host", "x-amz-date"}},
		{"POST", CanonicalURI("/channels/" + url.PathEscape(channel) + "/memberships"), "operation=batch-create", "host:h\nx-long:" + long + "\n", []string{"host", "x-long"}},
		{"", "", "", "", nil},
	} {
		payload := hex.EncodeToString(sha256.New().Sum(nil))
		creq := append(appendCanonicalRequest(nil, c.method, c.uri, c.query, c.headers, c.signed), payload...)
		if want := refCanonicalRequest(c.method, c.uri, c.query, c.headers, c.signed, payload); string(creq) != want {
			t.Fatalf("canonical request %q, want %q", creq, want)
		}
		want := refSignature(key, refStringToSign("20240305T102030Z", "20240305/us-east-1/chime/aws4_request", string(creq)))
		if got := signCanonical(key, "20240305T102030Z", "20240305/us-east-1/chime/aws4_request", creq); string(got[:]) != want {
			t.Fatalf("signature %s, want %s", got, want)
		}
	}
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
