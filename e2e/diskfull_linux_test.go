//go:build linux

package e2e

// Issue 6, fault safety: a full disk. The binary's file-size limit
// (RLIMIT_FSIZE, set on the running process with prlimit(2), which needs
// no privilege for one's own processes) is lowered to just above what its
// store holds, so the next writes fail with EFBIG exactly as on a full
// disk; then it is raised again, as when space returns.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"
)

type rlimit struct{ Cur, Max uint64 }

// setFileSizeLimit sets the soft RLIMIT_FSIZE of process pid.
func setFileSizeLimit(pid int, soft uint64) error {
	var old rlimit
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE), 0, uintptr(unsafe.Pointer(&old)), 0, 0); e != 0 {
		return e
	}
	lim := rlimit{Cur: min(soft, old.Max), Max: old.Max}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE), uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// storeWriter makes changes of every kind on a running binary and keeps
// the ledger of what was acknowledged.
type storeWriter struct {
	ctx     context.Context
	id      *chimesdkidentity.Client
	msg     *chimesdkmessaging.Client
	ai      string
	owner   string
	channel string
	ledger  *crashLedger
	n       int
}

// newStoreWriter sets up an app instance, its owner and a channel on p.
func newStoreWriter(t *testing.T, p *belfryProc) *storeWriter {
	t.Helper()
	w := &storeWriter{ctx: context.Background(), ledger: newCrashLedger()}
	w.id, w.msg = p.clients()
	out, err := w.id.CreateAppInstance(w.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("full"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	w.ai = *out.AppInstanceArn
	u, err := w.id.CreateAppInstanceUser(w.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(w.ai),
		AppInstanceUserId: aws.String("owner"), Name: aws.String("owner"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	w.owner = *u.AppInstanceUserArn
	ch, err := w.msg.CreateChannel(w.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(w.ai), Name: aws.String("full"),
		ChimeBearer: aws.String(w.owner), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	w.channel = *ch.ChannelArn
	w.ledger.members[w.channel] = []string{w.owner}
	return w
}

// write makes one change of each kind (a user, a membership, a 3 KB
// message) and records what was acknowledged; it returns the first error.
func (w *storeWriter) write() error {
	w.n++
	uid := fmt.Sprintf("user-%d", w.n)
	out, err := w.id.CreateAppInstanceUser(w.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(w.ai),
		AppInstanceUserId: aws.String(uid), Name: aws.String(uid), Metadata: aws.String(strings.Repeat("m", 1024)), ClientRequestToken: aws.String("tok-" + uid)})
	if err != nil {
		return err
	}
	_, err = w.msg.CreateChannelMembership(w.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(w.channel),
		MemberArn: out.AppInstanceUserArn, Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(w.owner)})
	if err != nil {
		return err
	}
	w.ledger.members[w.channel] = append(w.ledger.members[w.channel], *out.AppInstanceUserArn)
	sent, err := w.msg.SendChannelMessage(w.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(w.channel),
		Content: aws.String(strings.Repeat("x", 3000)), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
		ChimeBearer: aws.String(w.owner), ClientRequestToken: aws.String(fmt.Sprintf("msg-%d", w.n))})
	if err != nil {
		return err
	}
	w.ledger.messages[w.channel] = append(w.ledger.messages[w.channel], *sent.MessageId)
	return nil
}

// verify checks every acknowledged change against the server p.
func (w *storeWriter) verify(t *testing.T, p *belfryProc) {
	t.Helper()
	_, msg := p.clients()
	w.ledger.verify(t, w.ctx, msg, w.owner)
}

// TestDiskFull: while the disk is full, every change is answered 503
// ServiceUnavailableException (which the SDKs retry), reads go on, nothing
// acknowledged is lost and the store is not corrupted; once space returns,
// changes succeed again without a restart (issue 6).
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := startBelfry(t, dir)
	w := newStoreWriter(t, p)
	id, msg, ai, owner, ledger, write := w.id, w.msg, w.ai, w.owner, w.ledger, w.write
	for range 5 {
		noErr(t, write())
	}

	// The disk fills up: no file of the process may grow past its size now
	// plus 256 KiB.
	db := filepath.Join(dir, "belfry.db")
	limit := uint64(max(fileSize(db), fileSize(db+"-wal")) + 256<<10)
	if err := setFileSizeLimit(p.cmd.Process.Pid, limit); err != nil {
		t.Skipf("prlimit(RLIMIT_FSIZE) on the server process is not permitted here: %v", err)
	}
	var full error
	for i := 0; i < 2000 && full == nil; i++ {
		full = write()
	}
	if full == nil {
		t.Fatal("2000 writes past the file-size limit all succeeded: the limit did not bite")
	}
	wantErr(t, full, "ServiceUnavailableException")
	if errStatus(full) != 503 {
		t.Fatalf("status %d, want 503", errStatus(full))
	}
	var ae smithy.APIError
	errors.As(full, &ae)
	t.Logf("disk full after %d rounds of writes: %s", w.n, ae.ErrorMessage())
	for range 3 { // still full: still 503, never a 500
		if err := write(); err != nil {
			wantErr(t, err, "ServiceUnavailableException")
		}
	}
	// Reads go on.
	ledger.verify(t, ctx, msg, owner)
	_, err := id.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)

	// Space returns: changes succeed again, without a restart.
	if err := setFileSizeLimit(p.cmd.Process.Pid, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, patience, write)
	for range 5 {
		noErr(t, write())
	}
	ledger.verify(t, ctx, msg, owner)
	integrityCheck(t, dir)

	// And after a crash, everything acknowledged is there.
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(30 * time.Second)
	p = startBelfry(t, dir)
	integrityCheck(t, dir)
	_, msg = p.clients()
	ledger.verify(t, ctx, msg, owner)
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips the
// test when this process may not mount (mounting needs CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("mounting a tmpfs needs CAP_SYS_ADMIN (%v); TestDiskFull covers a full disk without it", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestDiskFullTmpfs: the same as TestDiskFull on a real full file system
// (ENOSPC on a 2 MiB tmpfs, grown again with a remount), and a data
// directory on a read-only file system is refused at start with a clear
// error instead of being served half-working.
func TestDiskFullTmpfs(t *testing.T) {
	ctx := context.Background()
	dir := mountTmpfs(t, 2<<20)
	p := startBelfry(t, dir)
	id, _ := p.clients()
	out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("tmpfs"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	ai := *out.AppInstanceArn
	var acked []string
	n := 0
	write := func() error {
		n++
		uid := fmt.Sprintf("user-%d", n)
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(uid), Name: aws.String(uid), Metadata: aws.String(strings.Repeat("m", 1024)), ClientRequestToken: aws.String("tok-" + uid)})
		if err == nil {
			acked = append(acked, *out.AppInstanceUserArn)
		}
		return err
	}
	var full error
	for i := 0; i < 20000 && full == nil; i++ {
		full = write()
	}
	if full == nil {
		t.Fatal("20000 writes fit on a 2 MiB file system")
	}
	wantErr(t, full, "ServiceUnavailableException")
	var ae smithy.APIError
	errors.As(full, &ae)
	t.Logf("ENOSPC after %d users: %s", len(acked), ae.ErrorMessage())
	check := func() {
		t.Helper()
		for _, u := range acked {
			if _, err := id.DescribeAppInstanceUser(ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)}); err != nil {
				t.Fatalf("acknowledged user %s: %v", u, err)
			}
		}
	}
	check()
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT, "size=64m"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	eventually(t, patience, write)
	check()
	integrityCheck(t, dir)

	p.signal(syscall.SIGTERM)
	if st := p.wait(30 * time.Second); !st.Success() {
		t.Fatalf("exit after SIGTERM: %v", st)
	}
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	cmd := exec.Command(belfryBinary(t), "--listen", "127.0.0.1:0", "--data", dir)
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "is not writable") || !strings.Contains(string(b), "read-only file system") {
		t.Fatalf("start on a read-only file system: %v\n%s", err, b)
	}
	t.Logf("start on a read-only file system: %s", strings.TrimSpace(string(b)))
}

// TestReadOnlyDisk: the file system under a running server turns read-only
// (every write to the store's files fails with EROFS, injected into the
// running binary's system calls by strace; a live remount cannot be
// provoked while files are open for writing). Every change is answered 503
// ServiceUnavailableException and never a 500, reads go on, nothing
// acknowledged is lost; once the file system is writable again changes
// succeed without a restart, and after a kill -9 the store passes
// integrity_check with everything acknowledged.
func TestReadOnlyDisk(t *testing.T) {
	straceBin := needTool(t, "strace", "it injects EROFS into the store's writes (apt-get install strace)")
	dir := t.TempDir()
	p := startBelfry(t, dir)
	w := newStoreWriter(t, p)
	for range 5 {
		noErr(t, w.write())
	}

	// The store's files are written with pwrite64 and synced with fsync or
	// fdatasync (sockets and logs use write, left alone).
	calls := "pwrite64,pwritev,pwritev2,fsync,fdatasync,ftruncate,fallocate"
	var straceOut strings.Builder
	st := exec.Command(straceBin, "-f", "-qq", "-o", "/dev/null", "-p", strconv.Itoa(p.cmd.Process.Pid),
		"-e", "trace="+calls, "-e", "inject="+calls+":error=EROFS")
	st.Stderr = &straceOut
	noErr(t, st.Start())
	stopped := make(chan struct{})
	var straceErr error
	go func() { straceErr = st.Wait(); close(stopped) }()
	// detach ends strace, which detaches from the server: the file system
	// is writable again.
	detach := func() {
		st.Process.Signal(syscall.SIGTERM)
		select {
		case <-stopped:
		case <-time.After(patience):
			st.Process.Kill() // the kernel detaches a dead tracer's tracees
			<-stopped
		}
	}
	t.Cleanup(detach)
	var ro error
	deadline := time.Now().Add(patience)
	for ro == nil {
		select {
		case <-stopped:
			if os.Getenv("CI") == "" {
				t.Skipf("strace could not attach to the server (ptrace not permitted?): %v %s", straceErr, straceOut.String())
			}
			t.Fatalf("strace could not attach to the server: %v %s", straceErr, straceOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write failed within %v of strace attaching: %s", patience, straceOut.String())
		}
		ro = w.write() // acknowledged ones go to the ledger until the injection takes hold
	}
	wantErr(t, ro, "ServiceUnavailableException")
	if errStatus(ro) != 503 {
		t.Fatalf("status %d, want 503", errStatus(ro))
	}
	var ae smithy.APIError
	errors.As(ro, &ae)
	t.Logf("read-only after %d rounds of writes: %s", w.n, ae.ErrorMessage())
	for range 5 {
		err := w.write()
		if err == nil {
			t.Fatal("a change succeeded on a read-only file system")
		}
		wantErr(t, err, "ServiceUnavailableException")
	}
	_, err := w.msg.CreateChannel(w.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(w.ai), Name: aws.String("ro"),
		ChimeBearer: aws.String(w.owner), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "ServiceUnavailableException")
	w.verify(t, p) // reads go on

	detach()
	eventually(t, patience, w.write)
	for range 3 {
		noErr(t, w.write())
	}
	w.verify(t, p)
	integrityCheck(t, dir)

	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(30 * time.Second)
	p = startBelfry(t, dir)
	integrityCheck(t, dir)
	w.verify(t, p)
}
