package e2e

// Tests that drive the real belfry binary as a separate process: the boto3
// session script, durability across kill -9, and graceful shutdown.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/belfry/belfry/internal/testutil"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	binPath   string
	buildErr  error
)

// TestMain removes the binary built for this test process.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// moduleRoot is the directory holding go.mod, found upwards from the working
// directory (e2e/ under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// belfryBinary builds ./cmd/belfry once per test process and returns its path.
func belfryBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if binDir, buildErr = os.MkdirTemp("", "belfry-e2e-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "belfry")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/belfry")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/belfry: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// belfryProc is a running belfry binary.
type belfryProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	URL     string // http://127.0.0.1:port
	Addr    string // 127.0.0.1:port
	Dir     string
	stdout  *testutil.LineWriter
	stderr  *testutil.LineWriter
	exited  chan struct{}
	waitErr error
}

var endpointLine = regexp.MustCompile(`^belfry: serving Chime SDK Messaging and Identity on (http://(\S+)) \(data in (.+)\)$`)

// startBelfry starts the binary on a free port with its store in dir (and
// any extra flags) and waits until it answers. The process is killed when
// the test ends.
func startBelfry(t testing.TB, dir string, extra ...string) *belfryProc {
	t.Helper()
	bin := belfryBinary(t)
	p := &belfryProc{t: t, Dir: dir, stdout: testutil.NewLineWriter(), stderr: testutil.NewLineWriter(), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--data", dir}, extra...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BELFRY_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("belfry stdout:\n%s\nbelfry stderr:\n%s", p.stdout, p.stderr)
		}
	})
	select {
	case line := <-p.stdout.First:
		m := endpointLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected first line from belfry: %q", line)
		}
		if m[3] != dir {
			t.Fatalf("belfry serves data in %q, want %q", m[3], dir)
		}
		p.URL, p.Addr = m[1], m[2]
	case <-p.exited:
		t.Fatalf("belfry exited before serving: %v\nstderr:\n%s", p.waitErr, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("belfry printed no endpoint within 30s\nstderr:\n%s", p.stderr)
	}
	eventually(t, 10*time.Second, func() error {
		resp, err := http.Get(p.URL + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.Header.Get("x-amzn-RequestId") == "" {
			return fmt.Errorf("no x-amzn-RequestId on %s", resp.Status)
		}
		return nil
	})
	return p
}

// clients returns SDK clients for the process.
func (p *belfryProc) clients() (*chimesdkidentity.Client, *chimesdkmessaging.Client) {
	cfg := awsConfig(p.URL)
	return chimesdkidentity.NewFromConfig(cfg, func(o *chimesdkidentity.Options) { o.BaseEndpoint = aws.String(p.URL) }),
		chimesdkmessaging.NewFromConfig(cfg, func(o *chimesdkmessaging.Options) { o.BaseEndpoint = aws.String(p.URL) })
}

func (p *belfryProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its state.
func (p *belfryProc) wait(timeout time.Duration) *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState
	case <-time.After(timeout):
		p.t.Fatalf("belfry did not exit within %v", timeout)
		return nil
	}
}

// eventually retries f until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBoto3Session runs e2e/boto3/session.py, unmodified boto3 walking a
// realistic session, against the built binary.
func TestBoto3Session(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err == nil {
		var out []byte
		if out, err = exec.Command(py, "-c", "import boto3").CombinedOutput(); err != nil {
			err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
	}
	if err != nil {
		msg := fmt.Sprintf("the boto3 session needs python3 with boto3 (pip install boto3): %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: this test must run)")
		}
		t.Skip(msg)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := startBelfry(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("e2e", "boto3", "session.py"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BELFRY_ENDPOINT="+p.URL, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 session failed (%v):\n%s", err, out)
	}
	t.Logf("boto3 session:\n%s", out)
}

// TestKill9Durability: a 2xx answer means the change survives kill -9. Every
// acknowledged change, including those acknowledged while other writes were
// in flight at the kill, is there after a restart on the same data, and a
// NextToken issued before the kill still works (rule D8).
func TestKill9Durability(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := startBelfry(t, dir)
	id, msg := p.clients()

	out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("durable"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	ai := *out.AppInstanceArn
	user := func(uid string) string {
		t.Helper()
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(uid), Name: aws.String(uid), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		return *out.AppInstanceUserArn
	}
	admin := user("admin@example.com")
	erin := user("erin@example.com")
	frank := user("frank.smith@example.com")
	var others []string
	for i := range 6 {
		others = append(others, user(fmt.Sprintf("user%d@example.com", i)))
	}
	_, err = id.CreateAppInstanceAdmin(ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(admin)})
	noErr(t, err)
	ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("durable"),
		ChimeBearer: aws.String(erin), ClientRequestToken: aws.String(token()), Mode: types.ChannelModeUnrestricted, Privacy: types.ChannelPrivacyPublic})
	noErr(t, err)
	chArn := *ch.ChannelArn
	_, err = msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(chArn),
		MemberArn: aws.String(frank), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	batch, err := msg.BatchCreateChannelMembership(ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(chArn),
		MemberArns: others, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if len(batch.BatchChannelMemberships.Members) != len(others) || len(batch.Errors) != 0 {
		t.Fatalf("batch: %d members, %d errors", len(batch.BatchChannelMemberships.Members), len(batch.Errors))
	}
	_, err = msg.CreateChannelModerator(ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(chArn),
		ChannelModeratorArn: aws.String(frank), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	banned := others[len(others)-1]
	_, err = msg.CreateChannelBan(ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(chArn),
		MemberArn: aws.String(banned), ChimeBearer: aws.String(erin)})
	noErr(t, err)

	listAll := func(msg *chimesdkmessaging.Client) []string {
		t.Helper()
		var arns []string
		pg := chimesdkmessaging.NewListChannelMembershipsPaginator(msg, &chimesdkmessaging.ListChannelMembershipsInput{
			ChannelArn: aws.String(chArn), ChimeBearer: aws.String(erin), MaxResults: aws.Int32(50)})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			noErr(t, err)
			for _, m := range page.ChannelMemberships {
				arns = append(arns, *m.Member.Arn)
			}
		}
		return arns
	}
	before := listAll(msg)
	if len(before) != 2+len(others)-1 {
		t.Fatalf("members before the kill: %v", before)
	}
	page1, err := msg.ListChannelMemberships(ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(chArn),
		ChimeBearer: aws.String(erin), MaxResults: aws.Int32(3)})
	noErr(t, err)
	if page1.NextToken == nil || len(page1.ChannelMemberships) != 3 {
		t.Fatalf("first page: %d items, token %v", len(page1.ChannelMemberships), page1.NextToken)
	}

	// A burst of writes from several clients; SIGKILL lands while some are in flight.
	var (
		killed    atomic.Bool
		acks      atomic.Int64
		mu        sync.Mutex
		ackUsers  []string
		ackMember []string
		wg        sync.WaitGroup
	)
	const workers, killAfter = 8, 80
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				uid := fmt.Sprintf("burst-%d-%d@example.com", w, i)
				out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
					AppInstanceUserId: aws.String(uid), Name: aws.String(uid), ClientRequestToken: aws.String(fmt.Sprintf("burst-%d-%d", w, i))})
				if err != nil {
					if !killed.Load() {
						t.Errorf("CreateAppInstanceUser before the kill: %v", err)
					}
					return
				}
				mu.Lock()
				ackUsers = append(ackUsers, *out.AppInstanceUserArn)
				mu.Unlock()
				_, err = msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(chArn),
					MemberArn: out.AppInstanceUserArn, Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
				if err != nil {
					if !killed.Load() {
						t.Errorf("CreateChannelMembership before the kill: %v", err)
					}
					return
				}
				mu.Lock()
				ackMember = append(ackMember, *out.AppInstanceUserArn)
				mu.Unlock()
				if acks.Add(1) == killAfter && killed.CompareAndSwap(false, true) {
					if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Errorf("SIGKILL: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if !killed.Load() {
		t.Fatal("the burst ended without a kill")
	}
	if st := p.wait(10 * time.Second); st.Success() {
		t.Fatalf("belfry exited successfully after SIGKILL: %v", st)
	}
	if strings.Contains(p.stdout.String(), "belfry: stopped") {
		t.Fatal("a SIGKILLed server printed \"belfry: stopped\"")
	}
	mu.Lock()
	t.Logf("%d users and %d memberships acknowledged before the kill", len(ackUsers), len(ackMember))
	mu.Unlock()

	p2 := startBelfry(t, dir)
	id, msg = p2.clients()
	_, err = id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	for _, u := range append([]string{admin, erin, frank}, append(others, ackUsers...)...) {
		if _, err := id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)}); err != nil {
			t.Errorf("acknowledged user %s lost: %v", u, err)
		}
	}
	_, err = id.DescribeAppInstanceAdmin(ctx, &chimesdkidentity.DescribeAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(admin)})
	noErr(t, err)
	_, err = msg.DescribeChannelModerator(ctx, &chimesdkmessaging.DescribeChannelModeratorInput{ChannelArn: aws.String(chArn),
		ChannelModeratorArn: aws.String(frank), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	_, err = msg.DescribeChannelBan(ctx, &chimesdkmessaging.DescribeChannelBanInput{ChannelArn: aws.String(chArn),
		MemberArn: aws.String(banned), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	_, err = msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(chArn),
		MemberArn: aws.String(banned), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	wantErr(t, err, "ForbiddenException")

	after := listAll(msg)
	if len(after) < len(before) || strings.Join(after[:len(before)], " ") != strings.Join(before, " ") {
		t.Fatalf("memberships before the kill %v are not the start of those after %v", before, after)
	}
	present := map[string]bool{}
	for _, a := range after {
		present[a] = true
	}
	for _, a := range ackMember {
		if !present[a] {
			t.Errorf("acknowledged membership of %s lost", a)
		}
	}

	// The token issued before the kill continues where it left off.
	page2, err := msg.ListChannelMemberships(ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(chArn),
		ChimeBearer: aws.String(erin), MaxResults: aws.Int32(3), NextToken: page1.NextToken})
	noErr(t, err)
	var got []string
	for _, m := range page2.ChannelMemberships {
		got = append(got, *m.Member.Arn)
	}
	if strings.Join(got, " ") != strings.Join(before[3:6], " ") {
		t.Errorf("page 2 after the restart: %v, want %v", got, before[3:6])
	}
}

// TestGracefulShutdown: on SIGTERM the listener closes, requests already in
// flight finish with their 2xx, the process prints "belfry: stopped" and
// exits 0, the store is closed cleanly (no WAL left behind) and reopens with
// every change.
func TestGracefulShutdown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := startBelfry(t, dir)
	id, _ := p.clients()
	out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("graceful"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	ai := *out.AppInstanceArn

	// Each in-flight request has sent its headers with Expect: 100-continue;
	// the server's "100 Continue" shows its handler is reading the body.
	type inflight struct {
		conn net.Conn
		br   *bufio.Reader
		req  *http.Request
		body string
		uid  string
	}
	var reqs []inflight
	for i := range 3 {
		uid := fmt.Sprintf("inflight%d@example.com", i)
		body := fmt.Sprintf(`{"AppInstanceArn":%q,"AppInstanceUserId":%q,"Name":"in flight","ClientRequestToken":"tok-inflight-%d"}`, ai, uid, i)
		conn, err := net.Dial("tcp", p.Addr)
		noErr(t, err)
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		head := fmt.Sprintf("POST /app-instance-users HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", p.Addr, len(body))
		_, err = conn.Write([]byte(head))
		noErr(t, err)
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		noErr(t, err)
		if !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("want 100 Continue, got %q", line)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
			t.Fatalf("after 100 Continue: %q %v", blank, err)
		}
		req, _ := http.NewRequest(http.MethodPost, "/app-instance-users", nil)
		reqs = append(reqs, inflight{conn: conn, br: br, req: req, body: body, uid: uid})
	}

	p.signal(syscall.SIGTERM)
	// Shutdown has begun once new connections are refused.
	eventually(t, 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		return errors.New("still accepting connections")
	})
	select {
	case <-p.exited:
		t.Fatalf("belfry exited with requests in flight: %v", p.waitErr)
	default:
	}

	var users []string
	for _, r := range reqs {
		_, err := r.conn.Write([]byte(r.body))
		noErr(t, err)
		resp, err := http.ReadResponse(r.br, r.req)
		if err != nil {
			t.Fatalf("in-flight response: %v", err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || !strings.Contains(b.String(), r.uid) {
			t.Fatalf("in-flight request: %s %s", resp.Status, b.String())
		}
		users = append(users, ai+"/user/"+r.uid)
	}

	st := p.wait(30 * time.Second)
	if !st.Success() {
		t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", st, p.stderr)
	}
	if !strings.HasSuffix(p.stdout.String(), "belfry: stopped\n") {
		t.Fatalf("stdout does not end with \"belfry: stopped\":\n%s", p.stdout)
	}
	if fi, err := os.Stat(filepath.Join(dir, "belfry.db-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("the store was not closed cleanly: %d-byte WAL left", fi.Size())
	}

	p2 := startBelfry(t, dir)
	id, _ = p2.clients()
	for _, u := range users {
		if _, err := id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)}); err != nil {
			t.Errorf("user %s created in flight is missing after the restart: %v", u, err)
		}
	}
	p2.signal(syscall.SIGINT)
	if st := p2.wait(30 * time.Second); !st.Success() {
		t.Fatalf("exit after SIGINT: %v", st)
	}
}

// TestQuotasFlag: --quotas sets resource quotas other than AWS's defaults
// (rule D17: configurable), as the server answers them to a real client:
// with MembershipsPerChannel=3, the creator and two members fill a channel
// and a third add is a 400 ResourceLimitExceededException.
func TestQuotasFlag(t *testing.T) {
	p := startBelfry(t, t.TempDir(), "--quotas", "MembershipsPerChannel=3, AdminsPerAppInstance=1")
	id, msg := p.clients()
	ctx := context.Background()
	ai, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("q"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	var users []string
	for _, u := range []string{"owner", "a", "b", "c"} {
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: ai.AppInstanceArn,
			AppInstanceUserId: aws.String(u), Name: aws.String(u), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		users = append(users, *out.AppInstanceUserArn)
	}
	ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: ai.AppInstanceArn, Name: aws.String("c"),
		ChimeBearer: aws.String(users[0]), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	for i, u := range users[1:] {
		_, err := msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: ch.ChannelArn, MemberArn: aws.String(u),
			Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(users[0])})
		if i < 2 {
			noErr(t, err)
		} else {
			wantErr(t, err, "ResourceLimitExceededException")
		}
	}
	_, err = id.CreateAppInstanceAdmin(ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: ai.AppInstanceArn, AppInstanceAdminArn: aws.String(users[1])})
	noErr(t, err)
	_, err = id.CreateAppInstanceAdmin(ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: ai.AppInstanceArn, AppInstanceAdminArn: aws.String(users[2])})
	wantErr(t, err, "ResourceLimitExceededException")
}
