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

func BenchmarkSignature(b *testing.B) {
	key := SigningKey(testKey.SecretAccessKey, "20240305", "us-east-1", "chime")
	creq := CanonicalRequest("POST", CanonicalURI("/channels/"+url.PathEscape(channel)+"/memberships"), "",
		"content-type:application/json\nhost:127.0.0.1:8080\nx-amz-chime-bearer:"+user+"\nx-amz-date:20240305T102030Z\n",
		[]string{"content-type", "host", "x-amz-chime-bearer", "x-amz-date"}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	b.Run("StringToSign", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			StringToSign("20240305T102030Z", "20240305/us-east-1/chime/aws4_request", creq)
		}
	})
	sts := StringToSign("20240305T102030Z", "20240305/us-east-1/chime/aws4_request", creq)
	b.Run("Signature", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			Signature(key, sts)
		}
	})
}

// TestSignCanonical: the signature Verify computes without the strings
// between is Signature(StringToSign(CanonicalRequest)), and the canonical
// request it builds is CanonicalRequest's.
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
		if want := CanonicalRequest(c.method, c.uri, c.query, c.headers, c.signed, payload); string(creq) != want {
			t.Fatalf("canonical request %q, want %q", creq, want)
		}
		want := Signature(key, StringToSign("20240305T102030Z", "20240305/us-east-1/chime/aws4_request", string(creq)))
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
