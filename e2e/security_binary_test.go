package e2e

// Issue 6 against the built binary: --credentials with a SIGHUP reload and
// boto3 signing, and the server's limits (header and body sizes, slowloris
// timeouts, the connection cap).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"

	"github.com/belfry/belfry/internal/session"
)

// clientsWith returns SDK clients for the process that sign with id/secret.
func (p *belfryProc) clientsWith(id, secret string) (*chimesdkidentity.Client, *chimesdkmessaging.Client) {
	cfg := awsConfig(p.URL)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	return chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(p.URL) }),
		chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(p.URL) })
}

func writeCredentials(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBoto3SignedCalls: the binary with --credentials and --rate-limits=aws.
// A key added to the file is taken on SIGHUP (no restart); then
// e2e/boto3/auth.py checks, with botocore signing, that a valid key passes,
// a wrong secret and an unknown key are refused, the user-bound key speaks
// only for its user, and 429s are retried by botocore.
func TestBoto3SignedCalls(t *testing.T) {
	ctx := context.Background()
	creds := filepath.Join(t.TempDir(), "credentials")
	admin := "AKIAADMINBOTO3:admin-secret"
	writeCredentials(t, creds, "# admin", "AKIAADMINBOTO3 admin-secret admin")
	p := startBelfry(t, t.TempDir(), "--credentials", creds, "--rate-limits", "aws")
	// The line follows the endpoint line startBelfry waited for: it may not be written yet.
	eventually(t, patience, func() error {
		if !strings.Contains(p.stdout.String(), "SigV4 signatures verified (1 keys: 1 admin, 0 app-instance, 0 user); rate limits aws") {
			return fmt.Errorf("start-up lines: %s", p.stdout)
		}
		return nil
	})
	id, msg := p.clientsWith("AKIAADMINBOTO3", "admin-secret")
	out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("boto3"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	ai := *out.AppInstanceArn
	mk := func(uid string) string {
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(uid), Name: aws.String(uid), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		return *out.AppInstanceUserArn
	}
	user, other := mk("owner@example.com"), mk("other")
	ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("signed"),
		ChimeBearer: aws.String(user), ClientRequestToken: aws.String(token()), MemberArns: []string{other}})
	noErr(t, err)

	_, umsg := p.clientsWith("AKIAUSERBOTO3", "user-secret")
	list := func() error {
		_, err := umsg.ListChannelMembershipsForAppInstanceUser(ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(user)})
		return err
	}
	wantErr(t, list(), "UnrecognizedClientException")
	writeCredentials(t, creds, "AKIAADMINBOTO3 admin-secret admin", "AKIAUSERBOTO3 user-secret user="+user)
	p.signal(syscall.SIGHUP)
	eventually(t, patience, list)

	py := needTool(t, "python3", "the boto3 half needs python3 with boto3 (pip install boto3)")
	if out, err := exec.Command(py, "-c", "import boto3").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("boto3: %v %s", err, out)
		}
		t.Skipf("boto3 is not installed: %s", out)
	}
	root, err := moduleRoot()
	noErr(t, err)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, py, filepath.Join("e2e", "boto3", "auth.py"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "BELFRY_ENDPOINT="+p.URL, "BELFRY_ADMIN_KEY="+admin,
		"BELFRY_USER_KEY=AKIAUSERBOTO3:user-secret", "BELFRY_USER_ARN="+user, "BELFRY_OTHER_ARN="+other,
		"BELFRY_CHANNEL_ARN="+*ch.ChannelArn, "BELFRY_APP_INSTANCE_ARN="+ai)
	b, err := cmd.CombinedOutput()
	t.Logf("auth.py:\n%s", b)
	if err != nil || !strings.HasSuffix(string(b), "OK\n") {
		t.Fatalf("auth.py failed: %v", err)
	}
}

// rawConn is one keep-alive HTTP/1.1 connection driven by hand.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	noErr(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(patience))
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// get sends a GET and reads its response.
func (c *rawConn) get(t *testing.T, path string, header string) *http.Response {
	t.Helper()
	_, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: belfry\r\n%s\r\n", path, header)
	noErr(t, err)
	resp, err := http.ReadResponse(c.br, nil)
	noErr(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// closedByServer waits for the server to close the connection (a read
// returns EOF or a reset) and fails if it is still open after patience.
func (c *rawConn) closedByServer(t *testing.T) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c.br)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", patience)
	}
}

// TestServerLimits: what the binary does with clients that send too much
// or too slowly (issue 6, limits): headers over 64 KiB are refused with
// 431, bodies over 1 MiB with 400 before they are read, a client that sends
// its headers or body too slowly is disconnected after --read-timeout
// (slowloris), and past --max-connections new connections wait until one
// closes.
func TestServerLimits(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	writeCredentials(t, creds, testAccount+" secret admin")
	p := startBelfry(t, t.TempDir(), "--credentials", creds, "--read-timeout", "1s", "--max-connections", "3")
	signed := "Authorization: AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/chime/aws4_request, SignedHeaders=host, Signature=0\r\n"

	t.Run("headers over 64 KiB", func(t *testing.T) {
		c := dialRaw(t, p.Addr)
		resp := c.get(t, "/app-instances", "X-Padding: "+strings.Repeat("a", 65<<10)+"\r\n")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
		// Just under 64 KiB in all: read, and answered (unsigned: 403).
		c = dialRaw(t, p.Addr)
		resp = c.get(t, "/app-instances", "X-Padding: "+strings.Repeat("a", 63<<10)+"\r\n")
		if resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a head under 64 KiB refused with 431")
		}
	})
	t.Run("body over 1 MiB", func(t *testing.T) {
		c := dialRaw(t, p.Addr)
		_, err := fmt.Fprintf(c, "POST /app-instances HTTP/1.1\r\nHost: belfry\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", signed, 2<<20)
		noErr(t, err)
		resp, err := http.ReadResponse(c.br, nil)
		noErr(t, err)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "BadRequestException" || !strings.Contains(string(b), "exceeds 1048576 bytes") {
			t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b)
		}
	})
	t.Run("slow headers", func(t *testing.T) {
		c := dialRaw(t, p.Addr)
		_, err := io.WriteString(c, "GET /app-instances HTTP/1.1\r\nHost: belfry\r\n") // and never the blank line
		noErr(t, err)
		c.closedByServer(t)
	})
	t.Run("slow body", func(t *testing.T) {
		c := dialRaw(t, p.Addr)
		_, err := fmt.Fprintf(c, "POST /app-instances HTTP/1.1\r\nHost: belfry\r\n%sContent-Length: 1000\r\n\r\n{\"Name\":", signed)
		noErr(t, err)
		c.closedByServer(t)
	})
	t.Run("connection cap", func(t *testing.T) {
		// Its own server: headers may take the default 10 s here, so that
		// connections that send nothing hold their slots.
		p := startBelfry(t, t.TempDir(), "--credentials", creds, "--max-connections", "3")
		http.DefaultClient.CloseIdleConnections() // startBelfry's readiness probe holds none of the slots
		var held []*rawConn
		for range 3 {
			held = append(held, dialRaw(t, p.Addr)) // accepted, silent: each holds a slot
		}
		waiting := dialRaw(t, p.Addr) // the kernel accepts it; belfry does not yet
		_, err := io.WriteString(waiting, "GET /endpoints/messaging-session HTTP/1.1\r\nHost: belfry\r\n\r\n")
		noErr(t, err)
		got := make(chan *http.Response, 1)
		go func() {
			resp, err := http.ReadResponse(waiting.br, nil)
			if err != nil {
				close(got)
				return
			}
			resp.Body.Close()
			got <- resp
		}()
		select {
		case <-got:
			t.Fatal("a fourth connection was served past --max-connections 3")
		case <-time.After(300 * time.Millisecond): // an absence check, not a performance bound
		}
		held[0].Close()
		select {
		case resp, ok := <-got:
			if !ok {
				t.Fatal("the waiting connection was closed unanswered")
			}
			// At the cap, connections take turns: this one is closed after its answer.
			if resp.StatusCode != 403 || !resp.Close {
				t.Fatalf("status %d, Connection: close %v", resp.StatusCode, resp.Close)
			}
		case <-time.After(patience):
			t.Fatal("the waiting connection was not served after a slot freed")
		}
	})
}

// skewedSigner is aws-sdk-go-v2's own SigV4 signer on a client whose clock
// is off by skew: what a request replayed (or sent from a wrong clock) that
// long after or before it was signed looks like to the server.
type skewedSigner struct{ skew time.Duration }

func (s skewedSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string,
	at time.Time, opts ...func(*v4.SignerOptions)) error {
	return v4.NewSigner().SignHTTP(ctx, creds, r, payloadHash, service, region, at.Add(s.skew), opts...)
}

// TestSigV4Binary: issue 6's signature and scope cases with the real
// aws-sdk-go-v2 clients against the built binary with --credentials (the
// file read at start, then reloaded on SIGHUP with scoped keys): a valid
// key passes; a wrong secret, an unknown key, a tampered body, a request
// signed more than 15 minutes before (or after) the server's clock and an
// unsigned request are refused with AWS's errors; an expired presigned
// /connect URL is refused with 4401; an app-instance key stays in its app
// instance and a user-bound key speaks only for its user.
func TestSigV4Binary(t *testing.T) {
	ctx := context.Background()
	creds := filepath.Join(t.TempDir(), "credentials")
	writeCredentials(t, creds, "AKIAADMINBIN admin-secret admin")
	p := startBelfry(t, t.TempDir(), "--credentials", creds, "--account-id", "111122223333")
	// The harness's ws client and presigner, pointed at the binary.
	ws := &env{t: t, ctx: ctx, URL: p.URL}
	clients := func(id, secret string, cfgFn func(*aws.Config), signer v4.HTTPSigner) (*chimesdkidentity.Client, *chimesdkmessaging.Client) {
		cfg := awsConfig(p.URL)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
		if cfgFn != nil {
			cfgFn(&cfg)
		}
		return chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) {
				o.BaseEndpoint = aws.String(p.URL)
				if signer != nil {
					o.HTTPSignerV4 = signer
				}
			}), chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) {
				o.BaseEndpoint = aws.String(p.URL)
				if signer != nil {
					o.HTTPSignerV4 = signer
				}
			})
	}
	id, msg := clients("AKIAADMINBIN", "admin-secret", nil, nil)
	mkAI := func(name string) string {
		out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String(name), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		return *out.AppInstanceArn
	}
	mkUser := func(ai, uid string) string {
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(uid), Name: aws.String(uid), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		return *out.AppInstanceUserArn
	}
	ai, other := mkAI("mine"), mkAI("other")
	if !strings.HasPrefix(ai, "arn:aws:chime:us-east-1:111122223333:app-instance/") {
		t.Fatalf("--account-id not in the ARN: %s", ai)
	}
	u1, u2, stranger := mkUser(ai, "u1"), mkUser(ai, "u2"), mkUser(other, "stranger")
	ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("c"),
		ChimeBearer: aws.String(u1), ClientRequestToken: aws.String(token()), MemberArns: []string{u2}})
	noErr(t, err)
	channel := *ch.ChannelArn
	send := func(m *chimesdkmessaging.Client, channel, bearer string) error {
		_, err := m.SendChannelMessage(ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(channel), Content: aws.String("hi"),
			Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(bearer), ClientRequestToken: aws.String(token())})
		return err
	}
	describe := func(c *chimesdkidentity.Client) error {
		_, err := c.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
		return err
	}
	want403 := func(t *testing.T, err error, code string) {
		t.Helper()
		wantErr(t, err, code)
		if errStatus(err) != 403 {
			t.Fatalf("%s with status %d, want 403", code, errStatus(err))
		}
	}

	// Scoped keys, added by a reload.
	writeCredentials(t, creds, "AKIAADMINBIN admin-secret admin", "AKIAAPPBIN app-secret app-instance="+ai, "AKIAU1BIN u1-secret user="+u1)
	p.signal(syscall.SIGHUP)
	_, u1msg := clients("AKIAU1BIN", "u1-secret", nil, nil)
	eventually(t, patience, func() error { return send(u1msg, channel, u1) })

	t.Run("valid key", func(t *testing.T) {
		noErr(t, describe(id))
		noErr(t, send(msg, channel, u2))
	})
	t.Run("wrong secret", func(t *testing.T) {
		c, _ := clients("AKIAADMINBIN", "not-the-secret", nil, nil)
		want403(t, describe(c), "InvalidSignatureException")
	})
	t.Run("unknown key", func(t *testing.T) {
		c, _ := clients("AKIANOBODYBIN", "admin-secret", nil, nil)
		want403(t, describe(c), "UnrecognizedClientException")
	})
	t.Run("tampered body", func(t *testing.T) {
		rec := &recorder{rewrite: func(b []byte) []byte { return bytes.Replace(b, []byte(`"honest"`), []byte(`"forged"`), 1) }}
		c, _ := clients("AKIAADMINBIN", "admin-secret", func(cfg *aws.Config) { cfg.HTTPClient = rec }, nil)
		_, err := c.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String("tampered"), Name: aws.String("honest"), ClientRequestToken: aws.String(token())})
		want403(t, err, "InvalidSignatureException")
		if !bytes.Contains(rec.last().body, []byte("honest")) {
			t.Fatal("the recorder did not see the signed body")
		}
		_, err = id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(ai + "/user/tampered")})
		wantErr(t, err, "NotFoundException")
	})
	t.Run("signed outside the 15 minutes", func(t *testing.T) {
		for _, c := range []struct {
			skew time.Duration
			want string
		}{{-16 * time.Minute, "Signature expired"}, {16 * time.Minute, "Signature not yet current"}, {-14 * time.Minute, ""}, {14 * time.Minute, ""}} {
			cl, _ := clients("AKIAADMINBIN", "admin-secret", nil, skewedSigner{c.skew})
			err := describe(cl)
			if c.want == "" {
				if err != nil {
					t.Fatalf("signed %v off, within the window: %v", c.skew, err)
				}
				continue
			}
			want403(t, err, "InvalidSignatureException")
			var ae smithy.APIError
			if errors.As(err, &ae); !strings.Contains(ae.ErrorMessage(), c.want) {
				t.Fatalf("signed %v off: %q, want %q", c.skew, ae.ErrorMessage(), c.want)
			}
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		c, _ := clients("", "", func(cfg *aws.Config) { cfg.Credentials = aws.AnonymousCredentials{} }, nil)
		want403(t, describe(c), "MissingAuthenticationTokenException")
	})
	t.Run("presigned session", func(t *testing.T) {
		now := time.Now().UTC()
		if f := ws.dial(ws.presignIn("us-east-1", "AKIAU1BIN", "u1-secret", u1, now)).next(); f.Type() != "SESSION_ESTABLISHED" {
			t.Fatalf("valid presigned URL: first frame %s", f.Raw)
		}
		ws.dial(ws.presignIn("us-east-1", "AKIAU1BIN", "u1-secret", u1, now.Add(-11*time.Second))).wantClose(session.CloseUnauthorized) // X-Amz-Expires=10
		ws.dial(ws.presignIn("us-east-1", "AKIAU1BIN", "wrong", u1, now)).wantClose(session.CloseUnauthorized)
		ws.dial(ws.presignIn("us-east-1", "AKIAU1BIN", "u1-secret", u2, now)).wantClose(session.CloseUnauthorized)
		ws.dial(strings.Replace(p.URL, "http", "ws", 1) + "/connect?userArn=" + url.QueryEscape(u1)).wantClose(session.CloseUnauthorized)
	})
	t.Run("app-instance key", func(t *testing.T) {
		aid, amsg := clients("AKIAAPPBIN", "app-secret", nil, nil)
		noErr(t, describe(aid))
		noErr(t, send(amsg, channel, u2))
		_, err := aid.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(other)})
		want403(t, err, "ForbiddenException")
		_, err = aid.DeleteAppInstanceUser(ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(stranger)})
		want403(t, err, "ForbiddenException")
		_, err = aid.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("x"), ClientRequestToken: aws.String(token())})
		want403(t, err, "ForbiddenException")
		_, err = id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(stranger)})
		noErr(t, err)
	})
	t.Run("user-bound key", func(t *testing.T) {
		uid, _ := clients("AKIAU1BIN", "u1-secret", nil, nil)
		noErr(t, send(u1msg, channel, u1))
		want403(t, send(u1msg, channel, u2), "ForbiddenException")
		_, err := uid.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u1)})
		want403(t, err, "ForbiddenException")
	})
	// Last: it revokes the user-bound key. Its sessions end with the reload
	// (4401, which the JS SDK does not reconnect on); other keys' stay.
	t.Run("revoked key ends its sessions", func(t *testing.T) {
		now := time.Now().UTC()
		revoked := ws.dial(ws.presignIn("us-east-1", "AKIAU1BIN", "u1-secret", u1, now))
		kept := ws.dial(ws.presignIn("us-east-1", "AKIAADMINBIN", "admin-secret", u2, now))
		for _, c := range []*wsClient{revoked, kept} {
			if f := c.next(); f.Type() != "SESSION_ESTABLISHED" {
				t.Fatalf("first frame %s", f.Raw)
			}
		}
		writeCredentials(t, creds, "AKIAADMINBIN admin-secret admin", "AKIAAPPBIN app-secret app-instance="+ai)
		p.signal(syscall.SIGHUP)
		revoked.wantClose(session.CloseUnauthorized)
		want403(t, send(u1msg, channel, u1), "UnrecognizedClientException")
		noErr(t, send(msg, channel, u1))
		if f := kept.next(); f.Type() != "CREATE_CHANNEL_MESSAGE" {
			t.Fatalf("the admin key's session: %s, want the message", f.Raw)
		}
	})
}
