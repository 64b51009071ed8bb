package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"github.com/belfry/belfry/internal/testutil"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestParseConfigSessionFlags: the TLS and session flags, each with its
// BELFRY_* equivalent, and every problem reported at once.
func TestParseConfigSessionFlags(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, _, err := selfSignedCertificate(dir, []string{"127.0.0.1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(dir, selfSignedCert), certPath)
	os.Rename(filepath.Join(dir, selfSignedKey), keyPath)

	c, err := parseConfig([]string{"--listen", "0.0.0.0:9000", "--tls-cert", certPath, "--tls-key", keyPath, "--session-endpoint", "chat.example.com:443",
		"--max-sessions-per-user", "3", "--session-prefetches", "8"}, envOf(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.tls() || c.tlsPair == nil || c.tlsListen != "0.0.0.0:8443" || c.sessionEndpoint != "chat.example.com:443" || c.maxSessions != 3 || c.prefetches != 8 {
		t.Fatalf("flags: %+v", c)
	}
	c, err = parseConfig(nil, envOf(map[string]string{"BELFRY_LISTEN": "127.0.0.1:0", "BELFRY_TLS_SELF_SIGNED": "true",
		"BELFRY_TLS_LISTEN": "127.0.0.1:9443", "BELFRY_SESSION_ENDPOINT": "localhost:9443", "BELFRY_MAX_SESSIONS_PER_USER": "4", "BELFRY_SESSION_PREFETCHES": "5"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.tlsSelfSigned || c.tlsListen != "127.0.0.1:9443" || c.sessionEndpoint != "localhost:9443" || c.maxSessions != 4 || c.prefetches != 5 {
		t.Fatalf("env: %+v", c)
	}
	c, err = parseConfig([]string{"--listen", "127.0.0.1:0", "--tls-self-signed=false"}, envOf(map[string]string{"BELFRY_TLS_SELF_SIGNED": "1"}), nil)
	if err != nil || c.tls() || c.maxSessions != 10 || c.prefetches != 3 || c.tlsListen != "127.0.0.1:0" {
		t.Fatalf("flag over env and defaults: %+v, %v", c, err)
	}

	_, err = parseConfig([]string{"--tls-cert", certPath, "--tls-self-signed", "--session-endpoint", "wss://x:1/connect",
		"--max-sessions-per-user", "0", "--session-prefetches", "x"}, envOf(map[string]string{"BELFRY_TLS_LISTEN": "nowhere"}), nil)
	if err == nil {
		t.Fatal("bad session flags accepted")
	}
	for _, want := range []string{"--tls-cert and --tls-key go together", "--tls-listen \"nowhere\" is not host:port",
		"--session-endpoint \"wss://x:1/connect\" is not a bare host:port", "--max-sessions-per-user \"0\" is not a positive number",
		"--session-prefetches \"x\" is not a positive number"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certPath, "--tls-key", keyPath, "--tls-self-signed"}, "--tls-self-signed and --tls-cert exclude each other"},
		{[]string{"--tls-cert", keyPath, "--tls-key", certPath}, "--tls-cert/--tls-key:"},
		{[]string{"--tls-listen", "127.0.0.1:9443"}, "--tls-listen needs --tls-cert and --tls-key, or --tls-self-signed"},
		{[]string{"--tls-self-signed=maybe"}, `--tls-self-signed "maybe" is not true or false`},
	} {
		if _, err := parseConfig(tc.args, envOf(nil), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestSelfSignedCertificate: the CA is made once and kept, so clients keep
// trusting it; the server certificate covers the hosts and is reissued by
// the same CA when they change.
func TestSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cert, caPath, err := selfSignedCertificate(dir, selfSignedHosts("127.0.0.1:8080", "belfry.test:8443"), now)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(caPath)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA %s unreadable: %v", caPath, err)
	}
	verify := func(c tls.Certificate, host string) error {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return err
		}
		_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host})
		return err
	}
	for _, h := range []string{"127.0.0.1", "::1", "localhost", "belfry.test"} {
		if err := verify(cert, h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if verify(cert, "elsewhere.test") == nil {
		t.Error("the certificate covers a host it should not")
	}
	if fi, err := os.Stat(filepath.Join(dir, selfSignedCAKey)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key: %v %v", fi.Mode(), err)
	}
	again, _, err := selfSignedCertificate(dir, selfSignedHosts("127.0.0.1:8080", "belfry.test:8443"), now)
	if err != nil || string(again.Certificate[0]) != string(cert.Certificate[0]) {
		t.Fatalf("a restart reissued the certificate (%v)", err)
	}
	other, _, err := selfSignedCertificate(dir, selfSignedHosts("0.0.0.0:8080", "other.test:8443"), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(other, "other.test"); err != nil {
		t.Errorf("reissued certificate not trusted through the kept CA: %v", err)
	}
}

// TestRunTLS: with --tls-self-signed the binary serves the API and /connect
// over TLS as well; GetMessagingSessionEndpoint names the TLS listener (the
// SDK builds wss://<Url>/connect from it), a client trusting the CA in the
// data directory connects there, and stopping closes the session with 1001.
func TestRunTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := testutil.NewLineWriter(), testutil.NewLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--data", dir, "--tls-self-signed"}, envOf(nil), stdout, stderr)
	}()
	tlsLine := regexp.MustCompile(`(?m)^belfry: TLS on https://(\S+), messaging sessions at wss://(\S+)/connect, clients trust (.+)$`)
	var m []string
	deadline := time.Now().Add(30 * time.Second)
	for m = tlsLine.FindStringSubmatch(stdout.String()); m == nil; m = tlsLine.FindStringSubmatch(stdout.String()) {
		select {
		case err := <-done:
			t.Fatalf("run returned: %v\nstderr: %s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TLS line; stdout: %s\nstderr: %s", stdout, stderr)
		}
	}
	addr, trust := m[1], m[3]
	if m[2] != addr || trust != filepath.Join(dir, selfSignedCA) {
		t.Fatalf("TLS line %q", m[0])
	}
	pem, err := os.ReadFile(trust)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	plain := endpointLine.FindStringSubmatch(strings.SplitN(stdout.String(), "\n", 2)[0])[1]
	for _, base := range []string{plain, "https://" + addr} {
		resp, err := client.Get(base + "/endpoints/messaging-session")
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Endpoint struct{ Url string } }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out.Endpoint.Url != addr {
			t.Fatalf("GetMessagingSessionEndpoint at %s = %q, want the TLS listener %s", base, out.Endpoint.Url, addr)
		}
	}
	resp, err := client.Post("https://"+addr+"/app-instances", "application/json", strings.NewReader(`{"Name":"tls","ClientRequestToken":"tok-tls-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ai struct{ AppInstanceArn string }
	json.NewDecoder(resp.Body).Decode(&ai)
	resp.Body.Close()
	resp, err = client.Post("https://"+addr+"/app-instance-users", "application/json",
		strings.NewReader(`{"AppInstanceArn":"`+ai.AppInstanceArn+`","AppInstanceUserId":"u","Name":"u","ClientRequestToken":"tok-tls-2"}`))
	if err != nil {
		t.Fatal(err)
	}
	var u struct{ AppInstanceUserArn string }
	json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if u.AppInstanceUserArn == "" {
		t.Fatalf("no user created over TLS (%s)", resp.Status)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	ws, _, err := websocket.Dial(dctx, "wss://"+addr+"/connect?userArn="+url.QueryEscape(u.AppInstanceUserArn), &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer ws.CloseNow()
	_, b, err := ws.Read(dctx)
	if err != nil || !strings.Contains(string(b), "SESSION_ESTABLISHED") {
		t.Fatalf("first frame %s, %v", b, err)
	}
	cancel()
	if _, _, err := ws.Read(dctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("on stop the session ended with %v, want 1001", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}
}
