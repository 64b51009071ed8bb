package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// TestSecurityConfig: --credentials, BELFRY_KEYS, --rate-limits, the
// connection cap and the timeouts, with every problem reported at once
// (issue 6; the configuration habit of STYLE.md).
func TestSecurityConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "credentials")
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/abc"
	os.WriteFile(good, []byte("# keys\nAKIAADMIN s3cret admin\n\nAKIAAPP s3cret app-instance="+ai+"\nAKIAUSER s3cret user="+ai+"/user/erin@example.com session-token=tok\n"), 0o600)
	var stderr bytes.Buffer
	c, err := parseConfig([]string{"--credentials", good, "--rate-limits", "aws", "--max-connections", "7", "--read-timeout", "3s"},
		envOf(map[string]string{"BELFRY_KEYS": "AKIABOT s3cret user=" + ai + "/bot/b1; AKIAENV2 x admin", "BELFRY_IDLE_TIMEOUT": "9s"}), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.sec.keys) != 5 || c.sec.rateLimits != "aws" || c.sec.maxConns != 7 || c.sec.readTimeout != 3*time.Second || c.sec.idleTimeout != 9*time.Second || c.sec.writeTimout != 60*time.Second {
		t.Fatalf("parsed %+v", c.sec)
	}
	want := map[string]chime.Scope{
		"AKIAADMIN": {Kind: chime.ScopeAccount},
		"AKIAAPP":   {Kind: chime.ScopeAppInstance, ARN: ai},
		"AKIAUSER":  {Kind: chime.ScopeUser, ARN: ai + "/user/erin@example.com"},
		"AKIABOT":   {Kind: chime.ScopeUser, ARN: ai + "/bot/b1"},
		"AKIAENV2":  {Kind: chime.ScopeAccount},
	}
	for _, k := range c.sec.keys {
		if k.Scope != want[k.AccessKeyID] {
			t.Errorf("%s: scope %+v, want %+v", k.AccessKeyID, k.Scope, want[k.AccessKeyID])
		}
		if k.AccessKeyID == "AKIAUSER" && k.SessionToken != "tok" {
			t.Errorf("session token %q", k.SessionToken)
		}
	}
	if c, err := parseConfig(nil, envOf(nil), &stderr); err != nil || len(c.sec.keys) != 0 || c.sec.rateLimits != "off" || c.sec.maxConns != 10000 {
		t.Fatalf("defaults: %+v %v", c.sec, err)
	}

	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("AKIA1 s admin\nAKIA1 s admin\nAKIA-2 s admin\nAKIA3 s app-instance=arn:aws:chime:us-east-1:1:app-instance/x/user/u\nAKIA4 s user="+ai+"\nAKIA5 s root\nAKIA6 s\n"), 0o600)
	_, err = parseConfig([]string{"--credentials", bad, "--rate-limits", "fast", "--max-connections", "0", "--write-timeout", "soon"},
		envOf(nil), &stderr)
	if err == nil || !errors.Is(err, errUsage) {
		t.Fatalf("want a usage error, got %v", err)
	}
	for _, w := range []string{"line 2: access key id AKIA1 is already defined on line 1", `line 3: access key id "AKIA-2"`, "line 4: scope app-instance=", "not an app instance ARN",
		"line 5: scope user=", "line 6: scope \"root\"", "line 7: want <access-key-id>", `--rate-limits "fast"`, `--max-connections "0"`, `--write-timeout "soon"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %q:\n%v", w, err)
		}
	}
	_, err = parseConfig([]string{"--credentials", good}, envOf(map[string]string{"BELFRY_KEYS": "AKIAAPP other admin"}), &stderr)
	if err == nil || !strings.Contains(err.Error(), "AKIAAPP is defined in both --credentials and BELFRY_KEYS") {
		t.Fatalf("a key in both: %v", err)
	}
	_, err = parseConfig([]string{"--credentials", filepath.Join(dir, "missing")}, envOf(nil), &stderr)
	if err == nil || !strings.Contains(err.Error(), "--credentials") {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("# nothing yet\n"), 0o600)
	if _, err = parseConfig([]string{"--credentials", empty}, envOf(nil), &stderr); err == nil || !strings.Contains(err.Error(), "hold no key") {
		t.Fatalf("empty file: %v", err)
	}
}

// TestConnLimit: past the cap a listener accepts no more connections until
// one closes; the slot is given back on Close.
func TestConnLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := newConnLimit(1)
	ln := lim.wrap(raw)
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c1, _ := net.Dial("tcp", raw.Addr().String())
	defer c1.Close()
	first := <-accepted
	c2, _ := net.Dial("tcp", raw.Addr().String())
	defer c2.Close()
	if len(lim.slots) != 1 {
		t.Fatalf("%d slots taken, want 1", len(lim.slots))
	}
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted past the cap of 1")
	case <-time.After(100 * time.Millisecond): // absence check, not a performance bound
	}
	first.Close() // gives its slot back: the waiting connection is accepted
	second := <-accepted
	second.Close()
}

// TestConnLimitFull: the cap is full when connections take every slot, not
// earlier because each listener waiting in Accept holds one: with a cap of
// 3 and two listeners, two connections leave room for a third.
func TestConnLimitFull(t *testing.T) {
	lim := newConnLimit(3)
	accepted := make(chan net.Conn, 4)
	var addrs []string
	for range 2 {
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln := lim.wrap(raw)
		defer ln.Close()
		addrs = append(addrs, raw.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
	}
	for i, want := range []bool{false, false, true} {
		c, err := net.Dial("tcp", addrs[i%2])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		server := <-accepted
		defer server.Close()
		// The listener that accepted reserves a slot for its next
		// connection if one is free; wait until it has, or cannot.
		deadline := time.Now().Add(5 * time.Second)
		for len(lim.slots) < min(i+1+2, 3) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := lim.full(); got != want {
			t.Fatalf("%d connections: full %v, want %v (slots taken %d, reserved %d)", i+1, got, want, len(lim.slots), lim.reserved.Load())
		}
	}
}
