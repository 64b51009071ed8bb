package e2e

// Issue 6 against the built binary: --credentials with a SIGHUP reload and
// boto3 signing, and the server's limits (header and body sizes, slowloris
// timeouts, the connection cap).

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
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
	if !strings.Contains(p.stdout.String(), "SigV4 signatures verified (1 keys: 1 admin, 0 app-instance, 0 user); rate limits aws") {
		t.Fatalf("start-up lines: %s", p.stdout)
	}
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
		resp := c.get(t, "/app-instances", "X-Padding: "+strings.Repeat("a", 70<<10)+"\r\n")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
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
