package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

// needTool returns the path of a command the test needs. Without it the
// test is skipped, except in CI (env CI set), where it fails.
func needTool(t *testing.T, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s needs %s on PATH: %v", t.Name(), name, why)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this test must run)")
		}
		t.Skip(msg)
	}
	return p
}

// TestJSMessagingSession runs e2e/js/messaging-session.js: the real
// amazon-chime-sdk-js MessagingSession (from npm, in Node 20 with the ws
// package) against the built binary over wss://, with SigV4 verified (its
// presigned URL, values encoded with encodeURIComponent, SEMANTICS.md §10), with the certificate that
// --tls-self-signed generated trusted through NODE_EXTRA_CA_CERTS. It must
// receive SESSION_ESTABLISHED, the prefetched CHANNEL_DETAILS, and a
// CREATE_CHANNEL_MESSAGE another user sends with
// @aws-sdk/client-chime-sdk-messaging (SEMANTICS.md §10). The npm packages
// come from the committed lockfile (npm ci) when node_modules is missing.
func TestJSMessagingSession(t *testing.T) {
	node := needTool(t, "node", "the messaging session test runs amazon-chime-sdk-js in Node 20 or later (Debian: apt-get install nodejs npm)")
	npm := needTool(t, "npm", "it installs amazon-chime-sdk-js from e2e/js/package-lock.json (Debian: apt-get install npm)")
	out, err := exec.Command(node, "-p", "process.versions.node").Output()
	if err != nil {
		t.Fatal(err)
	}
	if major, _ := strconv.Atoi(strings.SplitN(strings.TrimSpace(string(out)), ".", 2)[0]); major < 20 {
		msg := fmt.Sprintf("node %s is older than 20", strings.TrimSpace(string(out)))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "e2e", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "amazon-chime-sdk-js")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in e2e/js: %v\n%s", err, out)
		}
	}

	// Signatures are verified (issue 6): the JS SDK v3 signs every REST call
	// and amazon-chime-sdk-js presigns the /connect URL with this key.
	data := t.TempDir()
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte(testAccount+" secret admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startBelfry(t, data, "--tls-self-signed", "--tls-listen", "127.0.0.1:0", "--credentials", creds)
	tlsLine := regexp.MustCompile(`(?m)^belfry: TLS on https://(\S+), messaging sessions at wss://\S+/connect, clients trust (.+)$`)
	var m []string
	eventually(t, 30*time.Second, func() error {
		if m = tlsLine.FindStringSubmatch(p.stdout.String()); m == nil {
			return fmt.Errorf("no TLS line in %q", p.stdout.String())
		}
		return nil
	})
	tlsAddr, trust := m[1], m[2]
	if trust != filepath.Join(data, "tls-ca.pem") {
		t.Fatalf("the CA to trust is %s, want it in the data directory", trust)
	}

	// Users, a channel and one message to prefetch, made over plain HTTP.
	id, msg := p.clients()
	ctx := context.Background()
	ai, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("js"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	mkUser := func(name string) string {
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: ai.AppInstanceArn,
			AppInstanceUserId: aws.String(name), Name: aws.String(name), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		return aws.ToString(out.AppInstanceUserArn)
	}
	listener, sender := mkUser("listener"), mkUser("sender")
	ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: ai.AppInstanceArn, Name: aws.String("js"),
		ChimeBearer: aws.String(sender), ClientRequestToken: aws.String(token()), MemberArns: []string{listener}})
	noErr(t, err)
	prefetched := "sent before the session"
	_, err = msg.SendChannelMessage(ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: ch.ChannelArn, Content: aws.String(prefetched),
		Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(sender),
		ClientRequestToken: aws.String(token())})
	noErr(t, err)

	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, node, "messaging-session.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+trust,
		"BELFRY_ENDPOINT=https://"+tlsAddr,
		"BELFRY_USER_ARN="+listener,
		"BELFRY_SENDER_ARN="+sender,
		"BELFRY_CHANNEL_ARN="+aws.ToString(ch.ChannelArn),
		"BELFRY_PREFETCHED="+prefetched,
		"AWS_ACCESS_KEY_ID="+testAccount,
		"AWS_SECRET_ACCESS_KEY=secret",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("messaging-session.js:\n%s", stdout.String())
	if err != nil || !strings.HasSuffix(stdout.String(), "OK\n") {
		t.Fatalf("messaging-session.js: %v\nstderr:\n%s", err, stderr.String())
	}
	for _, want := range []string{`"step":"SESSION_ESTABLISHED"`, `"step":"CHANNEL_DETAILS"`, `"step":"CREATE_CHANNEL_MESSAGE"`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the script did not report %s", want)
		}
	}
}
