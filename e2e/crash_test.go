package e2e

// Issue 6, crash safety: the binary is killed with SIGKILL again and again
// while clients write memberships (single and batch) and messages; after
// every restart each acknowledged write is there, no batch is half-applied,
// and the store passes SQLite's integrity check. TestKill9Durability
// (binary_test.go) is the single, detailed kill; this is the repeated one.
//
// Short form (every `go test`): 4 kills. Long form, recorded in
// docs/security.md:
//
//	BELFRY_CRASH_KILLS=200 go test -count=1 -run TestKill9Repeated -v ./e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	_ "modernc.org/sqlite"
)

// crashLedger is what the clients know: what was acknowledged, and every
// batch that was sent whether or not its answer arrived.
type crashLedger struct {
	mu       sync.Mutex
	members  map[string][]string // channel -> members acknowledged (single adds and batches)
	batches  map[string][][]string
	messages map[string][]string // channel -> message ids acknowledged
	acks     int
}

func newCrashLedger() *crashLedger {
	return &crashLedger{members: map[string][]string{}, batches: map[string][][]string{}, messages: map[string][]string{}}
}

// integrityCheck runs SQLite's integrity_check on the store in dir (safe
// while belfry has it open: WAL mode allows a second reader).
func integrityCheck(t *testing.T, dir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "belfry.db")+"?_pragma=busy_timeout(10000)")
	noErr(t, err)
	defer db.Close()
	var res string
	noErr(t, db.QueryRow("PRAGMA integrity_check").Scan(&res))
	if res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
}

// verify checks, against a running server, everything the ledger holds.
func (l *crashLedger) verify(t *testing.T, ctx context.Context, msg *chimesdkmessaging.Client, owner string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch, acked := range l.members {
		present := map[string]bool{}
		var next *string
		for {
			page, err := msg.ListChannelMemberships(ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(owner), MaxResults: aws.Int32(50), NextToken: next})
			noErr(t, err)
			for _, m := range page.ChannelMemberships {
				present[*m.Member.Arn] = true
			}
			if next = page.NextToken; next == nil {
				break
			}
		}
		for _, m := range acked {
			if !present[m] {
				t.Errorf("acknowledged membership of %s in %s lost", m, ch)
			}
		}
		for _, b := range l.batches[ch] {
			n := 0
			for _, m := range b {
				if present[m] {
					n++
				}
			}
			if n != 0 && n != len(b) {
				t.Errorf("a batch of %d is half-applied: %d members present", len(b), n)
			}
		}
	}
	for ch, ids := range l.messages {
		for _, id := range ids {
			if _, err := msg.GetChannelMessage(ctx, &chimesdkmessaging.GetChannelMessageInput{ChannelArn: aws.String(ch),
				MessageId: aws.String(id), ChimeBearer: aws.String(owner)}); err != nil {
				t.Errorf("acknowledged message %s lost: %v", id, err)
			}
		}
	}
}

// TestKill9Repeated: after kill -9 at any moment, every acknowledged change
// is there after the restart, no batch is half-applied, and the store opens
// cleanly (issue 6, crash and fault safety).
func TestKill9Repeated(t *testing.T) {
	kills := 4
	if v := os.Getenv("BELFRY_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("BELFRY_CRASH_KILLS=%q is not a positive number", v)
		}
		kills = n
	}
	ctx := context.Background()
	dir := t.TempDir()
	p := startBelfry(t, dir)
	id, msg := p.clients()
	out, err := id.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("crash"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	ai := *out.AppInstanceArn
	u, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
		AppInstanceUserId: aws.String("owner"), Name: aws.String("owner"), ClientRequestToken: aws.String(token())})
	noErr(t, err)
	owner := *u.AppInstanceUserArn
	ledger := newCrashLedger()
	start := time.Now()
	for round := 0; round < kills; round++ {
		ch, err := msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String(fmt.Sprintf("round %d", round)),
			ChimeBearer: aws.String(owner), ClientRequestToken: aws.String(token()), Mode: types.ChannelModeUnrestricted})
		noErr(t, err)
		channel := *ch.ChannelArn
		ledger.mu.Lock()
		ledger.members[channel] = append(ledger.members[channel], owner)
		ledger.mu.Unlock()
		killAt := 30 + rand.IntN(60) // acknowledgements before the kill
		crashRound(t, p, ledger, ai, owner, channel, round, killAt)

		p = startBelfry(t, dir) // must open cleanly after the kill
		integrityCheck(t, dir)
		id, msg = p.clients()
		ledger.verify(t, ctx, msg, owner)
		if t.Failed() {
			t.Fatalf("round %d: acknowledged writes lost after kill -9", round)
		}
	}
	ledger.mu.Lock()
	nb := 0
	for _, bs := range ledger.batches {
		nb += len(bs)
	}
	t.Logf("%d kills in %v: %d writes acknowledged, all present after every restart; %d batches, none half-applied; integrity_check ok every time",
		kills, time.Since(start).Round(time.Millisecond), ledger.acks, nb)
	ledger.mu.Unlock()
}

// crashRound runs concurrent writers on the server p until killAt writes are
// acknowledged, then kills it with SIGKILL while writes are in flight.
func crashRound(t *testing.T, p *belfryProc, l *crashLedger, ai, owner, channel string, round, killAt int) {
	t.Helper()
	ctx := context.Background()
	id, msg := p.clients()
	var killed atomic.Bool
	var acks atomic.Int64
	var wg sync.WaitGroup
	ack := func() {
		if acks.Add(1) == int64(killAt) && killed.CompareAndSwap(false, true) {
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Errorf("SIGKILL: %v", err)
			}
		}
	}
	fail := func(what string, err error) bool {
		if err != nil && !killed.Load() {
			t.Errorf("round %d: %s before the kill: %v", round, what, err)
		}
		return err != nil
	}
	newUser := func(w, i, j int) (string, error) {
		uid := fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, j)
		out, err := id.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(uid), Name: aws.String(uid), ClientRequestToken: aws.String("tok-" + uid)})
		if err != nil {
			return "", err
		}
		return *out.AppInstanceUserArn, nil
	}
	const workers = 6
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !killed.Load(); i++ {
				switch (w + i) % 3 {
				case 0: // one membership
					m, err := newUser(w, i, 0)
					if fail("CreateAppInstanceUser", err) {
						return
					}
					_, err = msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(channel),
						MemberArn: aws.String(m), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
					if fail("CreateChannelMembership", err) {
						return
					}
					l.mu.Lock()
					l.members[channel] = append(l.members[channel], m)
					l.acks++
					l.mu.Unlock()
				case 1: // a batch of five, all or nothing
					var batch []string
					for j := range 5 {
						m, err := newUser(w, i, j)
						if fail("CreateAppInstanceUser", err) {
							return
						}
						batch = append(batch, m)
					}
					l.mu.Lock()
					l.batches[channel] = append(l.batches[channel], batch)
					l.mu.Unlock()
					out, err := msg.BatchCreateChannelMembership(ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(channel),
						MemberArns: batch, ChimeBearer: aws.String(owner)})
					if fail("BatchCreateChannelMembership", err) {
						return
					}
					if len(out.Errors) > 0 {
						t.Errorf("batch errors: %v", *out.Errors[0].ErrorMessage)
						return
					}
					l.mu.Lock()
					l.members[channel] = append(l.members[channel], batch...)
					l.acks++
					l.mu.Unlock()
				case 2: // a message
					out, err := msg.SendChannelMessage(ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(channel),
						Content: aws.String(fmt.Sprintf("round %d worker %d message %d", round, w, i)), Type: types.ChannelMessageTypeStandard,
						Persistence: types.ChannelMessagePersistenceTypePersistent, ChimeBearer: aws.String(owner),
						ClientRequestToken: aws.String(fmt.Sprintf("msg-r%d-w%d-%d", round, w, i))})
					if fail("SendChannelMessage", err) {
						return
					}
					l.mu.Lock()
					l.messages[channel] = append(l.messages[channel], *out.MessageId)
					l.acks++
					l.mu.Unlock()
				}
				ack()
			}
		}()
	}
	wg.Wait()
	if !killed.Load() {
		t.Fatalf("round %d ended without a kill", round)
	}
	if st := p.wait(30 * time.Second); st.Success() {
		t.Fatalf("belfry exited successfully after SIGKILL: %v", st)
	}
}
