package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bench holds what one run shares: the output, the servers it started and
// the temporary directories to remove.
type bench struct {
	cfg      config
	out      io.Writer
	tmp      []string
	tmpData  string // the list data sets when --data is not given
	children []*server
}

func (b *bench) cleanup() {
	for _, s := range b.children {
		s.stop()
	}
	for _, d := range b.tmp {
		os.RemoveAll(d)
	}
}

func (b *bench) tempDir(pattern string) (string, error) {
	d, err := os.MkdirTemp("", pattern)
	if err == nil {
		b.tmp = append(b.tmp, d)
	}
	return d, err
}

// server is a Belfry process the bench started, or the --endpoint one.
type server struct {
	endpoint string
	admin    string // admin listener address, "" when unknown
	pid      int
	cmd      *exec.Cmd
	exited   chan struct{}
	verified bool          // the server said it verifies SigV4 signatures
	ready    time.Duration // from exec to the first 200 from /readyz
	stderr   *tail
}

// freePort returns a loopback address with a port free at the moment.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs the --belfry binary on the data directory dir with the
// bench's access key configured (signature verification on) and any extra
// flags, and waits until its /readyz answers 200; ready is the time from
// exec to that answer.
func (b *bench) start(ctx context.Context, dir string, extra ...string) (*server, error) {
	listen, err := freePort()
	if err != nil {
		return nil, err
	}
	admin, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.cfg.belfry, append([]string{"--listen", listen, "--admin-listen", admin, "--data", dir, "--log-level", "error"}, extra...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BELFRY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Signatures verified with the bench's key; room for every session and client.
	cmd.Env = append(cmd.Env, "BELFRY_KEYS="+b.cfg.accessKey+" "+b.cfg.secretKey+" admin",
		"BELFRY_MAX_CONNECTIONS="+strconv.Itoa(maxConnections(b.cfg)))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{endpoint: "http://" + listen, admin: admin, cmd: cmd, exited: make(chan struct{}), stderr: &tail{}}
	cmd.Stderr = s.stderr
	lines := make(chan string, 16)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.pid = cmd.Process.Pid
	b.children = append(b.children, s)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := hc.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.ready = time.Since(t0)
				break
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("belfry exited before it was ready: %s", s.stderr)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("belfry was not ready within 2 minutes: %s", s.stderr)
		}
	}
	// The start-up lines are printed before the admin listener serves.
	for more := true; more; {
		select {
		case l := <-lines:
			s.verified = s.verified || strings.Contains(l, "SigV4 signatures verified")
		default:
			more = false
		}
	}
	return s, nil
}

// stop ends the server gracefully (SIGTERM), killing it after 30 s.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/<pid>/status")
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/<pid>/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * (time.Second / 100), nil // USER_HZ is 100 on Linux
}

// reportRSS prints the server's peak RSS, when its pid is known.
func (b *bench) reportRSS(s *server, what string) {
	if s.pid == 0 {
		return
	}
	n, err := peakRSS(s.pid)
	if err != nil {
		fmt.Fprintf(b.out, "%-44s unknown: %v\n", "peak RSS ("+what+")", err)
		return
	}
	fmt.Fprintf(b.out, "%-44s %.1f MB (VmHWM of pid %d)\n", "peak RSS ("+what+")", float64(n)/(1<<20), s.pid)
}

// tail keeps the last few KB written to it (a server's stderr).
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8192 {
		t.buf = t.buf[len(t.buf)-8192:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// maxConnections is the connection cap a server needs for the bench: every
// session, the API clients' connections (twice, as they are replaced) and
// some to spare.
func maxConnections(cfg config) int { return max(10000, cfg.sessions+2*cfg.clients+100) }
