package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/belfry/belfry/internal/testutil"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
)

// envOf returns a getenv over a fixed map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{arg}, envOf(nil), &stdout, &stderr); err != nil {
			t.Fatalf("run %s: %v", arg, err)
		}
		usage := stdout.String() + stderr.String()
		for _, want := range []string{"Usage: belfry", "-listen", "-data", "-account-id", "BELFRY_LISTEN", "BELFRY_DATA", "BELFRY_ACCOUNT_ID"} {
			if !strings.Contains(usage, want) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, want, usage)
			}
		}
		if strings.Count(usage, "Usage:") != 1 {
			t.Errorf("%s: usage printed %d times", arg, strings.Count(usage, "Usage:"))
		}
	}
}

// TestRunBadConfig: every problem is named in one error, which is a usage
// error (exit status 2), and nothing is served.
func TestRunBadConfig(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"flags", []string{"--listen", "nonsense", "--account-id", "abc", "--bogus"}, nil,
			[]string{`--listen "nonsense"`, `--account-id "abc"`, "-bogus"}},
		{"unknown flag first", []string{"--bogus", "--listen", "nonsense", "--frobnicate=1", "--account-id", "12345"}, nil,
			[]string{"-bogus", "-frobnicate", `--listen "nonsense"`, `--account-id "12345"`}},
		{"env", nil, map[string]string{"BELFRY_LISTEN": "nonsense", "BELFRY_ACCOUNT_ID": "abc", "BELFRY_LOG_LEVEL": "loud"},
			[]string{`"nonsense"`, `"abc"`, `"loud"`}},
		{"empty data and stray argument", []string{"--data", "", "serve"}, nil,
			[]string{"--data", "unexpected arguments: serve"}},
		{"missing value", []string{"--account-id", "abc", "--listen"}, nil,
			[]string{`"abc"`, "needs an argument: -listen"}},
		{"quotas", []string{"--quotas", "MembershipsPerChannel=0"}, nil, []string{"MembershipsPerChannel must be a positive integer"}},
		{"unknown quota", nil, map[string]string{"BELFRY_QUOTAS": "Nope=3"}, []string{`no quota "Nope"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), c.args, envOf(c.env), &stdout, &stderr)
			if err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(err, errUsage) || exitCode(err) != 2 {
				t.Errorf("want a usage error (exit 2), got %v (exit %d)", err, exitCode(err))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(stdout.String(), "serving") {
				t.Errorf("served despite bad config: %s", stdout.String())
			}
		})
	}
}

func TestParseConfigFlagsWinOverEnv(t *testing.T) {
	env := envOf(map[string]string{"BELFRY_LISTEN": "0.0.0.0:9000", "BELFRY_DATA": "/env/data", "BELFRY_ACCOUNT_ID": "111111111111"})
	var stderr bytes.Buffer
	c, err := parseConfig(nil, env, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "0.0.0.0:9000" || c.data != "/env/data" || c.accountID != "111111111111" {
		t.Errorf("env not applied: %+v", c)
	}
	c, err = parseConfig([]string{"--listen", "127.0.0.1:7000", "--data=/flag/data", "-account-id", "222222222222"}, env, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:7000" || c.data != "/flag/data" || c.accountID != "222222222222" {
		t.Errorf("flags did not win: %+v", c)
	}
	c, err = parseConfig(nil, envOf(nil), &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:8080" || c.data != "./belfry-data" || c.accountID != "" {
		t.Errorf("defaults: %+v", c)
	}
}

var endpointLine = regexp.MustCompile(`^belfry: serving Chime SDK Messaging and Identity on (http://\S+) \(data in (.+)\)$`)

// TestRunServes starts run() for real, makes a CreateAppInstance call and
// checks the account in the ARN (rule D14: configured account, else a 12-digit
// access key id, else 000000000000), then stops it through ctx.
func TestRunServes(t *testing.T) {
	cases := []struct {
		name      string
		args      func(dir string) []string
		env       func(dir string) map[string]string
		accessKey string
		account   string
	}{
		{"flags win over env",
			func(dir string) []string {
				return []string{"--listen", "127.0.0.1:0", "--data", dir, "--account-id", "210987654321"}
			},
			func(string) map[string]string {
				return map[string]string{"BELFRY_LISTEN": "nonsense", "BELFRY_DATA": "", "BELFRY_ACCOUNT_ID": "111111111111"}
			},
			"123456789012", "210987654321"},
		{"env only",
			func(string) []string { return nil },
			func(dir string) map[string]string {
				return map[string]string{"BELFRY_LISTEN": "127.0.0.1:0", "BELFRY_DATA": dir, "BELFRY_ACCOUNT_ID": "111111111111"}
			},
			"123456789012", "111111111111"},
		{"12-digit access key",
			func(dir string) []string { return []string{"--listen", "127.0.0.1:0", "--data", dir} },
			func(string) map[string]string { return nil },
			"123456789012", "123456789012"},
		{"other access key",
			func(dir string) []string { return []string{"--listen", "127.0.0.1:0", "--data", dir} },
			func(string) map[string]string { return nil },
			"AKIAIOSFODNN7EXAMPLE", "000000000000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout, stderr := testutil.NewLineWriter(), testutil.NewLineWriter()
			done := make(chan error, 1)
			go func() { done <- run(ctx, c.args(dir), envOf(c.env(dir)), stdout, stderr) }()

			var url string
			select {
			case line := <-stdout.First:
				m := endpointLine.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("unexpected first line %q", line)
				}
				if m[2] != dir {
					t.Errorf("data dir %q, want %q", m[2], dir)
				}
				url = m[1]
			case err := <-done:
				t.Fatalf("run returned before serving: %v\nstderr: %s", err, stderr)
			case <-time.After(30 * time.Second):
				t.Fatalf("no endpoint line within 30s; stderr: %s", stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "belfry.db")); err != nil {
				t.Errorf("store not in the data dir: %v", err)
			}

			id := chimesdkidentity.New(chimesdkidentity.Options{
				Region:       "us-east-1",
				Credentials:  credentials.NewStaticCredentialsProvider(c.accessKey, "secret", ""),
				BaseEndpoint: aws.String(url),
				Retryer:      aws.NopRetryer{},
			})
			out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("run-test"), ClientRequestToken: aws.String("tok-run-test")})
			if err != nil {
				t.Fatalf("CreateAppInstance: %v", err)
			}
			if want := "arn:aws:chime:us-east-1:" + c.account + ":app-instance/"; !strings.HasPrefix(*out.AppInstanceArn, want) {
				t.Errorf("ARN %s, want prefix %s", *out.AppInstanceArn, want)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run after cancel: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("run did not return within 30s of cancel")
			}
			if !strings.Contains(stdout.String(), "belfry: stopped\n") {
				t.Errorf("stdout lacks \"belfry: stopped\":\n%s", stdout)
			}
			// No credentials configured: the open mode says so at start (issue 6).
			if !strings.Contains(stdout.String(), "belfry: WARNING: open development mode: no credentials configured") {
				t.Errorf("stdout lacks the open-mode warning:\n%s", stdout)
			}
		})
	}
}

// TestRunListenError: an address that cannot be bound is an error, not a usage error.
func TestRunListenError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := testutil.NewLineWriter(), testutil.NewLineWriter()
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--data", dir}, envOf(nil), stdout, stderr)
	}()
	var addr string
	select {
	case line := <-stdout.First:
		m := endpointLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected first line %q", line)
		}
		addr = strings.TrimPrefix(m[1], "http://")
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"--listen", addr, "--data", t.TempDir()}, envOf(nil), &out, &errOut)
	if err == nil || errors.Is(err, errUsage) {
		t.Errorf("second server on %s: want a non-usage error, got %v", addr, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
