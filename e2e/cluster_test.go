package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/service/chime"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"

	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/session"
)

// secondNode starts another server on e's store, as a second Belfry node
// behind a load balancer would run. It needs the shared PostgreSQL store.
func (e *env) secondNode() *env {
	e.t.Helper()
	if os.Getenv(onPostgresEnv) == "" {
		e.t.Skip("two nodes share a PostgreSQL store: this test runs in TestSuiteOnPostgres")
	}
	n := &env{t: e.t, ctx: e.ctx, Dir: e.Dir, opts: e.opts}
	n.start()
	return n
}

// twoNodesChannel starts two nodes on one store (secondNode) and makes an
// app instance, its user "owner" and a PUBLIC channel the owner created.
func twoNodesChannel(t *testing.T) (a, b *env, ai, owner, ch string) {
	a = newEnv(t)
	b = a.secondNode()
	ai = a.appInstance("cluster")
	owner = a.user(ai, "owner")
	return a, b, ai, owner, a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
}

// TestTwoNodesAddSameUser: concurrent adds of one user through two nodes
// give one membership and no 5xx (issue 5; rule D1 for the losers).
func TestTwoNodesAddSameUser(t *testing.T) {
	a, b, ai, owner, ch := twoNodesChannel(t)
	for round := 0; round < 5; round++ {
		joiner := a.user(ai, "joiner"+string(rune('a'+round)))
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			node := a
			if i%2 == 1 {
				node = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := node.Msg.CreateChannelMembership(node.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
					MemberArn: aws.String(joiner), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, err)
		}
		out, err := b.Msg.ListChannelMembershipsForAppInstanceUser(b.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(joiner)})
		noErr(t, err)
		if len(out.ChannelMemberships) != 1 {
			t.Fatalf("round %d: %d memberships, want 1", round, len(out.ChannelMemberships))
		}
	}
}

// TestTwoNodesQuota: writers on two nodes cannot exceed a quota between them
// (rule D17 held by serializable transactions, not by one process's lock).
func TestTwoNodesQuota(t *testing.T) {
	q := service.DefaultQuotas
	q.MembershipsPerChannel = 6
	a := newEnv(t, withQuotas(q))
	b := a.secondNode()
	ai := a.appInstance("cluster")
	owner := a.user(ai, "owner") // the creator is the first member
	ch := a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	users := make([]string, 30)
	for i := range users {
		users[i] = a.user(ai, fmt.Sprintf("u%d", i))
	}
	var calls []func() error
	for i, u := range users {
		node := []*env{a, b}[i%2]
		calls = append(calls, func() error {
			_, err := node.Msg.CreateChannelMembership(node.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				MemberArn: aws.String(u), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
			return err
		})
	}
	added, limited := raceLimited(t, calls)
	if added != 5 || limited != 25 {
		t.Fatalf("added %d and refused %d, want 5 and 25", added, limited)
	}
	out, err := a.Msg.ListChannelMemberships(a.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
	noErr(t, err)
	if len(out.ChannelMemberships) != 6 {
		t.Fatalf("%d members, want 6", len(out.ChannelMemberships))
	}
}

// TestTwoNodesBanRacesAdd: a ban on one node racing an add on the other never
// leaves a banned user a member (rule D2 across nodes).
func TestTwoNodesBanRacesAdd(t *testing.T) {
	a, b, ai, owner, ch := twoNodesChannel(t)
	for round := 0; round < 10; round++ {
		x := a.user(ai, "x"+string(rune('a'+round)))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := a.Msg.CreateChannelBan(a.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch), MemberArn: aws.String(x), ChimeBearer: aws.String(owner)})
			noErr(t, err)
		}()
		go func() {
			defer wg.Done()
			_, err := b.Msg.CreateChannelMembership(b.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				MemberArn: aws.String(x), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
			if err != nil {
				wantErr(t, err, "ForbiddenException") // the ban came first
			}
		}()
		wg.Wait()
		_, err := a.Msg.DescribeChannelMembership(a.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArn: aws.String(x), ChimeBearer: aws.String(owner)})
		wantErr(t, err, "NotFoundException")
	}
}

// TestTwoNodesCreateAppInstance: CreateAppInstance through two nodes at
// once, which has no app instance to lock yet, still gives one app instance
// for one ClientRequestToken (rule D12) and never passes the per-account
// quota (rule D17).
func TestTwoNodesCreateAppInstance(t *testing.T) {
	q := service.DefaultQuotas
	q.AppInstancesPerAccount = 7
	a := newEnv(t, withQuotas(q))
	b := a.secondNode()
	create := func(node *env, tok string) (string, error) {
		out, err := node.ID.CreateAppInstance(node.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("same"), ClientRequestToken: aws.String(tok)})
		if err != nil {
			return "", err
		}
		return *out.AppInstanceArn, nil
	}
	// One token, sent 8 times at once through both nodes: one ARN.
	for round := 0; round < 5; round++ {
		tok := token()
		arns := make([]string, 8)
		var wg sync.WaitGroup
		for i := range arns {
			node := []*env{a, b}[i%2]
			wg.Go(func() {
				arn, err := create(node, tok)
				noErr(t, err)
				arns[i] = arn
			})
		}
		wg.Wait()
		if distinct := slices.Compact(slices.Sorted(slices.Values(arns))); len(distinct) != 1 {
			t.Fatalf("round %d: one token gave the ARNs %v", round, arns)
		}
	}
	// 5 exist; 20 different tokens at once: 2 more, 18 refused.
	var calls []func() error
	for i := 0; i < 20; i++ {
		node := []*env{a, b}[i%2]
		calls = append(calls, func() error { _, err := create(node, token()); return err })
	}
	created, limited := raceLimited(t, calls)
	out, err := b.ID.ListAppInstances(b.ctx, &chimesdkidentity.ListAppInstancesInput{})
	noErr(t, err)
	if created != 2 || limited != 18 || len(out.AppInstances) != 7 {
		t.Fatalf("created %d, refused %d, %d app instances; want 2, 18 and 7", created, limited, len(out.AppInstances))
	}
}

// TestTwoNodesBanRacesAdmin: a ban on one node racing the same user's
// promotion to AppInstanceAdmin on the other never leaves a banned admin
// (SEMANTICS.md §5: an admin cannot be banned): either the ban came first
// and the promotion lifted it, or the promotion came first and the ban was
// refused.
func TestTwoNodesBanRacesAdmin(t *testing.T) {
	a, b, ai, owner, ch := twoNodesChannel(t)
	for round := 0; round < 10; round++ {
		x := a.user(ai, fmt.Sprintf("x%d", round))
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := a.Msg.CreateChannelBan(a.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(ch), MemberArn: aws.String(x), ChimeBearer: aws.String(owner)})
			if err != nil {
				wantErr(t, err, "ForbiddenException") // the promotion came first
			}
		})
		wg.Go(func() {
			_, err := b.ID.CreateAppInstanceAdmin(b.ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(ai), AppInstanceAdminArn: aws.String(x)})
			noErr(t, err)
		})
		wg.Wait()
		_, err := a.Msg.DescribeChannelBan(a.ctx, &chimesdkmessaging.DescribeChannelBanInput{ChannelArn: aws.String(ch), MemberArn: aws.String(x), ChimeBearer: aws.String(owner)})
		wantErr(t, err, "NotFoundException")
	}
}

// raceLimited runs calls at once and counts those that succeed and those
// refused with ResourceLimitExceededException; any other answer fails t.
func raceLimited(t *testing.T, calls []func() error) (ok, limited int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, call := range calls {
		wg.Go(func() {
			err := call()
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				return
			}
			wantErr(t, err, "ResourceLimitExceededException")
			limited++
		})
	}
	wg.Wait()
	return ok, limited
}

// startNATS runs an embedded NATS server for the test and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// TestTwoNodesNATS: a session on node A receives the events of a membership
// created and a message sent through node B (issue 5: events committed on
// any node reach the sessions of every node).
func TestTwoNodesNATS(t *testing.T) {
	if os.Getenv(onPostgresEnv) == "" {
		t.Skip("two nodes share a PostgreSQL store: this test runs in TestSuiteOnPostgres")
	}
	url := startNATS(t)
	a := &env{t: t, ctx: context.Background(), Dir: storeTarget(t)}
	a.natsURL = url
	a.start()
	b := &env{t: t, ctx: a.ctx, Dir: a.Dir}
	b.natsURL = url
	b.start()

	ai := a.appInstance("cluster")
	owner := a.user(ai, "owner")
	joiner := a.user(ai, "joiner")
	ch := a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	session := a.connect(owner) // on node A

	_, err := b.Msg.CreateChannelMembership(b.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(joiner), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
	noErr(t, err)
	if f := session.next(); f.Type() != "CREATE_CHANNEL_MEMBERSHIP" {
		t.Fatalf("node A's session got %s, want CREATE_CHANNEL_MEMBERSHIP", f.Raw)
	}
	sent, err := b.Msg.SendChannelMessage(b.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(joiner),
		Content: aws.String("from node B"), Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
		ClientRequestToken: aws.String(token())})
	noErr(t, err)
	f := session.next()
	var m struct{ MessageId, Content string }
	f.payload(t, &m)
	if f.Type() != "CREATE_CHANNEL_MESSAGE" || m.MessageId != *sent.MessageId || m.Content != "from node B" {
		t.Fatalf("node A's session got %s, want the message sent through node B", f.Raw)
	}
}

// TestTwoNodesDeleteUserEndsSessions: a user deleted through node B has
// sessions on both nodes. The EventEndSessions travels the NATS bus to the
// user like the user's other events, so node A closes its session too (4401,
// after the removals published before it), the member on node A hears of the
// removal, and a new connect to either node is refused.
func TestTwoNodesDeleteUserEndsSessions(t *testing.T) {
	if os.Getenv(onPostgresEnv) == "" {
		t.Skip("two nodes share a PostgreSQL store: this test runs in TestSuiteOnPostgres")
	}
	url := startNATS(t)
	a := &env{t: t, ctx: context.Background(), Dir: storeTarget(t)}
	a.natsURL = url
	a.start()
	b := &env{t: t, ctx: a.ctx, Dir: a.Dir}
	b.natsURL = url
	b.start()

	ai := a.appInstance("cluster")
	owner := a.user(ai, "owner")
	bob := a.user(ai, "bob")
	ch := a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	// The sessions connect before bob is added and each reads the add's
	// event: connected after it, one could still receive it in flight.
	ownerOnA, bobOnA, bobOnB := a.connect(owner), a.connect(bob), b.connect(bob)
	_, err := a.Msg.CreateChannelMembership(a.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(bob), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
	noErr(t, err)
	for _, c := range []*wsClient{ownerOnA, bobOnA, bobOnB} {
		if f := c.next(); f.Type() != "CREATE_CHANNEL_MEMBERSHIP" || f.Payload == nil || !strings.Contains(*f.Payload, bob) {
			t.Fatalf("%s's session got %s, want the CREATE_CHANNEL_MEMBERSHIP of bob", c.user, f.Raw)
		}
	}

	_, err = b.ID.DeleteAppInstanceUser(b.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(bob)})
	noErr(t, err)

	if got := removals(t, "the owner on node A", []wsFrame{ownerOnA.next()}, bob); !slices.Equal(got, []string{ch}) {
		t.Errorf("the owner on node A was told of bob leaving %v, want %s", got, ch)
	}
	for _, s := range []struct {
		node string
		c    *wsClient
	}{{"A", bobOnA}, {"B", bobOnB}} {
		code, frames := s.c.ended()
		if code != session.CloseUnauthorized {
			t.Errorf("bob's session on node %s closed with %d (%v), want %d", s.node, code, s.c.err, session.CloseUnauthorized)
		}
		if got := removals(t, "bob on node "+s.node, frames, bob); !slices.Equal(got, []string{ch}) {
			t.Errorf("bob's session on node %s was told of leaving %v before the close, want %s", s.node, got, ch)
		}
	}
	for _, n := range []*env{a, b} {
		n.dial(n.presignedURL(bob, time.Now().UTC(), nil)).wantClose(session.CloseUnauthorized)
	}
}

// TestTwoNodesDeleteAppInstanceRacesWrites: DeleteAppInstance on node B while
// node A adds members, sends messages and creates channels in it. Every call
// either succeeds before the deletion or finds what it needs gone (401 for a
// bearer that no longer exists, 404 for a channel), and nothing outlives the
// app instance: no membership, message, channel, user, tag or token is left
// in the store (on PostgreSQL the deletion locks the app instance's users and
// channels as the writers do; without it rows added meanwhile were left).
func TestTwoNodesDeleteAppInstanceRacesWrites(t *testing.T) {
	a := newEnv(t)
	b := a.secondNode()
	for round := 0; round < 6; round++ {
		ai := a.appInstance("doomed")
		owner := a.user(ai, "owner")
		var users []string
		for i := 0; i < 12; i++ {
			users = append(users, a.user(ai, fmt.Sprintf("u%d", i)))
		}
		ch := a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bad []string
		check := func(op string, err error) {
			if err == nil {
				return
			}
			if c := errorCode(err); c != "UnauthorizedClientException" && c != "NotFoundException" {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%s: %v", op, err))
				mu.Unlock()
			}
		}
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := a.Msg.CreateChannelMembership(a.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
					MemberArn: aws.String(u), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
				check("CreateChannelMembership", err)
				_, err = a.Msg.SendChannelMessage(a.ctx, &chimesdkmessaging.SendChannelMessageInput{ChannelArn: aws.String(ch), Content: aws.String("hi"),
					Type: types.ChannelMessageTypeStandard, Persistence: types.ChannelMessagePersistenceTypePersistent,
					ClientRequestToken: aws.String(token()), ChimeBearer: aws.String(owner)})
				check("SendChannelMessage", err)
				if i%3 == 0 {
					_, err = a.Msg.CreateChannel(a.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("late"),
						ChimeBearer: aws.String(u), ClientRequestToken: aws.String(token()), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
					check("CreateChannel", err)
				}
			}()
		}
		time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		_, err := b.ID.DeleteAppInstance(b.ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(ai)})
		noErr(t, err)
		wg.Wait()
		if len(bad) > 0 {
			t.Fatalf("round %d: calls racing DeleteAppInstance answered otherwise than success, 401 or 404:\n%s", round, strings.Join(bad, "\n"))
		}
	}
	db, err := sql.Open("pgx", a.Dir)
	noErr(t, err)
	defer db.Close()
	for _, table := range []string{"app_instances", "identities", "admins", "channels", "memberships", "moderators", "bans", "messages",
		"sub_channels", "last_targeted", "tags"} {
		var n int
		noErr(t, db.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
		if n != 0 {
			t.Errorf("%d rows left in %s after every app instance was deleted", n, table)
		}
	}
	var n int
	noErr(t, db.QueryRow(`SELECT count(*) FROM idempotency WHERE scope LIKE '%app-instance/%'`).Scan(&n))
	if n != 0 {
		t.Errorf("%d ClientRequestTokens of deleted app instances left", n)
	}
}

// TestTwoNodesIdentityWritesRace: writes that read a user before changing
// it, run at once on two nodes, give a result some serial order gives (the
// PostgreSQL store locks the user's row; at READ COMMITTED an unlocked read
// lost updates, let tags past their quota and let tags outlive the user):
//   - UpdateAppInstanceUser without Metadata racing one with it keeps the
//     Metadata set (a left-out Metadata stays as it was);
//   - two TagResource calls of 30 new keys each on one user: one is refused
//     (50 tags a resource, D17), and the user has 30;
//   - TagResource racing DeleteAppInstanceUser: the user created again under
//     the same id has no tags.
func TestTwoNodesIdentityWritesRace(t *testing.T) {
	a := newEnv(t)
	b := a.secondNode()
	ai := a.appInstance("identity-race")
	tags := func(prefix string, n int) []idtypes.Tag {
		var out []idtypes.Tag
		for i := 0; i < n; i++ {
			out = append(out, idtypes.Tag{Key: aws.String(fmt.Sprintf("%s%d", prefix, i)), Value: aws.String("v")})
		}
		return out
	}
	tagCount := func(arn string) int {
		out, err := a.ID.ListTagsForResource(a.ctx, &chimesdkidentity.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		noErr(t, err)
		return len(out.Tags)
	}
	both := func(f, g func()) {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); f() }()
		go func() { defer wg.Done(); g() }()
		wg.Wait()
	}
	legacy := a.legacyClient()
	for round := 0; round < 30; round++ {
		u := a.user(ai, fmt.Sprintf("upd%d", round))
		want := fmt.Sprintf("X%d", round)
		var errA, errB error
		both(func() {
			// The legacy client may leave Metadata out (aws-sdk-go-v2 requires it).
			_, errA = legacy.UpdateAppInstanceUser(&chime.UpdateAppInstanceUserInput{AppInstanceUserArn: aws.String(u), Name: aws.String("a")})
		}, func() {
			_, errB = b.ID.UpdateAppInstanceUser(b.ctx, &chimesdkidentity.UpdateAppInstanceUserInput{AppInstanceUserArn: aws.String(u), Name: aws.String("b"), Metadata: aws.String(want)})
		})
		noErr(t, errA)
		noErr(t, errB)
		out, err := a.ID.DescribeAppInstanceUser(a.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)})
		noErr(t, err)
		if got := aws.ToString(out.AppInstanceUser.Metadata); got != want {
			t.Fatalf("round %d: Metadata %q after an update without it raced one setting %q: an update was lost", round, got, want)
		}
	}
	for round := 0; round < 15; round++ {
		u := a.user(ai, fmt.Sprintf("tagged%d", round))
		var errA, errB error
		both(func() {
			_, errA = a.ID.TagResource(a.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(u), Tags: tags("a", 30)})
		}, func() {
			_, errB = b.ID.TagResource(b.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(u), Tags: tags("b", 30)})
		})
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: two TagResource calls of 30 keys answered %v and %v, want one refused", round, errA, errB)
		}
		wantErr(t, errors.Join(errA, errB), "ResourceLimitExceededException")
		if n := tagCount(u); n != 30 {
			t.Fatalf("round %d: %d tags, want 30", round, n)
		}
	}
	for round := 0; round < 30; round++ {
		id := fmt.Sprintf("victim%d", round)
		u := a.user(ai, id)
		var errTag, errDel error
		both(func() {
			_, errTag = a.ID.TagResource(a.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(u), Tags: tags("stale", 1)})
		}, func() {
			_, errDel = b.ID.DeleteAppInstanceUser(b.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(u)})
		})
		noErr(t, errDel)
		if errTag != nil {
			wantErr(t, errTag, "NotFoundException")
		}
		if again := a.user(ai, id); tagCount(again) != 0 {
			t.Fatalf("round %d: the user created again under %s has the deleted one's tags", round, id)
		}
	}
}

// TestTwoNodesReaperAndModeratorRaces: writes racing the reaper or a user's
// deletion on another node end as some serial order would (PostgreSQL;
// before, with unlocked reads, each failed in a few rounds):
//   - removing a channel's or user's expiration that answers 200 keeps it,
//     though the reaper of the other node found it expired just before;
//   - a member added to a channel the reaper deletes leaves no membership
//     behind: the user's channel list answers, without that channel;
//   - CreateChannelModerator racing DeleteAppInstanceUser of a user who is
//     no member leaves no moderator role to the deleted user.
func TestTwoNodesReaperAndModeratorRaces(t *testing.T) {
	clk := newFakeClock(clockStart)
	a := newEnv(t, withClock(clk))
	b := a.secondNode()
	ai := a.appInstance("reaper-race")
	owner := a.user(ai, "owner")
	day := &types.ExpirationSettings{ExpirationDays: aws.Int32(1), ExpirationCriterion: types.ExpirationCriterionCreatedTimestamp}
	idDay := &idtypes.ExpirationSettings{ExpirationDays: aws.Int32(1), ExpirationCriterion: idtypes.ExpirationCriterionCreatedTimestamp}
	// race runs each of fs on a goroutine of its own, at once.
	race := func(fs ...func()) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, f := range fs {
			wg.Add(1)
			go func() { defer wg.Done(); <-start; f() }()
		}
		close(start)
		wg.Wait()
	}
	for round := 0; round < 8; round++ {
		var kept, joiners, joined []string
		var users []string
		for i := 0; i < 8; i++ {
			ch := a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
			_, err := a.Msg.PutChannelExpirationSettings(a.ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(ch), ExpirationSettings: day})
			noErr(t, err)
			if i%2 == 0 {
				kept = append(kept, ch)
			} else {
				joined = append(joined, ch)
				joiners = append(joiners, a.user(ai, fmt.Sprintf("j%d-%d", round, i)))
			}
			u := a.user(ai, fmt.Sprintf("x%d-%d", round, i))
			_, err = a.ID.PutAppInstanceUserExpirationSettings(a.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(u), ExpirationSettings: idDay})
			noErr(t, err)
			users = append(users, u)
		}
		clk.Advance(49 * time.Hour) // all expired, the owner (no expiration) too old to matter
		keptErrs := make([]error, len(kept))
		userErrs := make([]error, len(users))
		var fs []func()
		fs = append(fs, func() { a.reap() })
		for i, ch := range kept {
			fs = append(fs, func() {
				_, keptErrs[i] = b.Msg.PutChannelExpirationSettings(b.ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(ch)})
			})
		}
		for i, u := range users {
			fs = append(fs, func() {
				_, userErrs[i] = b.ID.PutAppInstanceUserExpirationSettings(b.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(u)})
			})
		}
		for i, ch := range joined {
			fs = append(fs, func() {
				b.Msg.CreateChannelMembership(b.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
					MemberArn: aws.String(joiners[i]), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
			})
		}
		race(fs...)
		for i, ch := range kept {
			if keptErrs[i] == nil && !a.channelExists(ch, owner) {
				t.Fatalf("round %d: the reaper deleted %s after its expiration was removed (200)", round, ch)
			}
		}
		for i, u := range users {
			if userErrs[i] != nil {
				continue
			}
			if _, err := a.ID.DescribeAppInstanceUser(a.ctx, &chimesdkidentity.DescribeAppInstanceUserInput{AppInstanceUserArn: aws.String(u)}); err != nil {
				t.Fatalf("round %d: the reaper deleted %s after its expiration was removed (200): %v", round, u, err)
			}
		}
		a.reap() // what is still expired goes now
		for _, j := range joiners {
			out, err := a.Msg.ListChannelMembershipsForAppInstanceUser(a.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(j)})
			noErr(t, err)
			if len(out.ChannelMemberships) != 0 {
				t.Fatalf("round %d: %s keeps a membership of a reaped channel: %+v", round, j, out.ChannelMemberships[0].ChannelSummary)
			}
		}
	}
	ch := a.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	for round := 0; round < 30; round++ {
		v := a.user(ai, fmt.Sprintf("mod%d", round))
		race(func() {
			b.Msg.CreateChannelModerator(b.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(ch),
				ChannelModeratorArn: aws.String(v), ChimeBearer: aws.String(owner)})
		}, func() {
			_, err := a.ID.DeleteAppInstanceUser(a.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(v)})
			noErr(t, err)
		})
		out, err := a.Msg.ListChannelModerators(a.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
		noErr(t, err)
		for _, m := range out.ChannelModerators {
			if aws.ToString(m.Moderator.Arn) == v {
				t.Fatalf("round %d: deleted user %s is still a moderator", round, v)
			}
		}
	}
}

// TestTwoNodesAddRacesUserChurn: adds of a user who is being deleted and
// created again on the other node leave no membership or moderator role to
// a user that does not exist, and answer no 5xx (PostgreSQL: an add that
// found no user row to lock once read the user created just after, which it
// held no lock on, and a deletion of that one did not wait for it).
func TestTwoNodesAddRacesUserChurn(t *testing.T) {
	a, b, ai, owner, ch := twoNodesChannel(t)
	victim := ai + "/user/victim"
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	check := func(op string, err error) {
		if err != nil && errStatus(err) >= 500 {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%s: %v", op, err))
			mu.Unlock()
		}
	}
	adders := []func(){
		func() {
			_, err := b.Msg.CreateChannelMembership(b.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				MemberArn: aws.String(victim), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(owner)})
			check("CreateChannelMembership", err)
		},
		func() {
			_, err := b.Msg.BatchCreateChannelMembership(b.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
				MemberArns: []string{victim, owner}, ChimeBearer: aws.String(owner)})
			check("BatchCreateChannelMembership", err)
		},
		func() {
			_, err := b.Msg.CreateChannelModerator(b.ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: aws.String(ch),
				ChannelModeratorArn: aws.String(victim), ChimeBearer: aws.String(owner)})
			check("CreateChannelModerator", err)
		},
	}
	for _, add := range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					add()
				}
			}
		}()
	}
	for cycle := 0; cycle < 150; cycle++ {
		_, err := a.ID.CreateAppInstanceUser(a.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String("victim"), Name: aws.String("v"), ClientRequestToken: aws.String(token())})
		noErr(t, err)
		_, err = a.ID.DeleteAppInstanceUser(a.ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(victim)})
		noErr(t, err)
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("adds racing the user's churn answered 5xx:\n%s", strings.Join(bad[:min(len(bad), 5)], "\n"))
	}
	// The user is deleted: nothing of it is left in the channel.
	ms, err := a.Msg.ListChannelMemberships(a.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
	noErr(t, err)
	for _, m := range ms.ChannelMemberships {
		if aws.ToString(m.Member.Arn) != owner {
			t.Errorf("membership of %s left", aws.ToString(m.Member.Arn))
		}
	}
	mods, err := a.Msg.ListChannelModerators(a.ctx, &chimesdkmessaging.ListChannelModeratorsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
	noErr(t, err)
	for _, m := range mods.ChannelModerators {
		if aws.ToString(m.Moderator.Arn) != owner {
			t.Errorf("moderator role of %s left", aws.ToString(m.Moderator.Arn))
		}
	}
	db, err := sql.Open("pgx", a.Dir)
	noErr(t, err)
	defer db.Close()
	var orphans int
	noErr(t, db.QueryRow(`SELECT count(*) FROM memberships m LEFT JOIN identities i ON i.seq = m.member_id WHERE i.seq IS NULL`).Scan(&orphans))
	var count, actual int
	noErr(t, db.QueryRow(`SELECT member_count FROM channels WHERE arn = $1`, ch).Scan(&count))
	noErr(t, db.QueryRow(`SELECT count(*) FROM memberships m JOIN channels c ON c.seq = m.channel_id WHERE c.arn = $1`, ch).Scan(&actual))
	if orphans != 0 || count != actual {
		t.Errorf("%d memberships of no user; the channel counts %d members and has %d", orphans, count, actual)
	}
}
