package e2e

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"

	"github.com/belfry/belfry/internal/service"
)

// The per-app-instance quotas of channels, users and bots (rule D17) are
// checked against counts kept on the app instance (store, migration 0006);
// these tests hold them to the rows: every create, delete and expiry moves
// the count by one, and two nodes never admit more than the quota between them.

// createChannel creates a PUBLIC channel (elastic when asked) with a new token.
func createChannel(e *env, ai, bearer string, elastic bool) (string, error) {
	in := &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("quota"), ChimeBearer: aws.String(bearer),
		ClientRequestToken: aws.String(token()), Privacy: types.ChannelPrivacyPublic}
	if elastic {
		in.ElasticChannelConfiguration = elasticConfig(2, 2, 10)
	}
	out, err := e.Msg.CreateChannel(e.ctx, in)
	if err != nil {
		return "", err
	}
	return *out.ChannelArn, nil
}

// wantLimit checks that err is a typed 400 ResourceLimitExceededException of the messaging API.
func wantLimit(t *testing.T, err error) {
	t.Helper()
	wantErr(t, err, "ResourceLimitExceededException")
	if errStatus(err) != 400 {
		t.Fatalf("status %d, want 400", errStatus(err))
	}
}

// isLimit tells whether err is a ResourceLimitExceededException.
func isLimit(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceLimitExceededException"
}

// listedChannels counts an app instance's PUBLIC channels through ListChannels.
func listedChannels(t *testing.T, e *env, ai, bearer string) int {
	t.Helper()
	n := 0
	in := &chimesdkmessaging.ListChannelsInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(bearer), MaxResults: aws.Int32(50)}
	for {
		out, err := e.Msg.ListChannels(e.ctx, in)
		noErr(t, err)
		n += len(out.Channels)
		if out.NextToken == nil {
			return n
		}
		in.NextToken = out.NextToken
	}
}

// TestQuotaChannelsPerAppInstance_D17: CreateChannel beyond the app
// instance's channels is a 400 ResourceLimitExceededException (AWS's default
// is 10,000,000; lowered here); elastic channels count among them; a replay
// of a create that succeeded still answers with its channel; another app
// instance has its own quota; DeleteChannel frees a slot.
func TestQuotaChannelsPerAppInstance_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.ChannelsPerAppInstance = 3
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("small")
	erin := e.user(ai, "erin")
	first := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	_, err := createChannel(e, ai, erin, true)
	noErr(t, err)
	replay := &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), Name: aws.String("third"), ChimeBearer: aws.String(erin),
		ClientRequestToken: aws.String(token())}
	third, err := e.Msg.CreateChannel(e.ctx, replay)
	noErr(t, err)

	_, err = createChannel(e, ai, erin, false)
	wantLimit(t, err)
	var rle *types.ResourceLimitExceededException
	if !errors.As(err, &rle) {
		t.Fatalf("want a typed *ResourceLimitExceededException, got %T", err)
	}
	again, err := e.Msg.CreateChannel(e.ctx, replay) // the same token and parameters: the original result
	noErr(t, err)
	if *again.ChannelArn != *third.ChannelArn {
		t.Fatalf("a replay answered %s, want %s", *again.ChannelArn, *third.ChannelArn)
	}
	other := e.appInstance("other")
	_, err = createChannel(e, other, e.user(other, "erin"), false)
	noErr(t, err)

	_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(first), ChimeBearer: aws.String(erin)})
	noErr(t, err)
	_, err = createChannel(e, ai, erin, false)
	noErr(t, err)
	_, err = createChannel(e, ai, erin, false)
	wantLimit(t, err)
	if n := listedChannels(t, e, ai, erin); n != 3 {
		t.Fatalf("%d channels listed, want 3", n)
	}
}

// TestQuotaBotsPerAppInstance_D17: CreateAppInstanceBot beyond the app
// instance's bots is a 400 ResourceLimitExceededException (AWS's default is
// 100,000; lowered here); users count apart; another app instance has its
// own quota; DeleteAppInstanceBot frees a slot.
func TestQuotaBotsPerAppInstance_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.BotsPerAppInstance = 2
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("small")
	first := e.bot(ai, "one")
	e.bot(ai, "two")
	_, err := e.ID.CreateAppInstanceBot(e.ctx, &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(ai), Name: aws.String("three"),
		ClientRequestToken: aws.String(token()),
		Configuration: &idtypes.Configuration{Lex: &idtypes.LexConfiguration{
			LexBotAliasArn: aws.String("arn:aws:lex:us-east-1:" + testAccount + ":bot-alias/ABCDEFGHIJ/KLMNOPQRST"), LocaleId: aws.String("en_US"),
			InvokedBy: &idtypes.InvokedBy{StandardMessages: idtypes.StandardMessagesAll, TargetedMessages: idtypes.TargetedMessagesAll}}}})
	wantErr(t, err, "ResourceLimitExceededException")
	if errStatus(err) != 400 {
		t.Fatalf("status %d, want 400", errStatus(err))
	}
	var rle *idtypes.ResourceLimitExceededException
	if !errors.As(err, &rle) {
		t.Fatalf("want a typed *ResourceLimitExceededException, got %T", err)
	}
	e.user(ai, "users-count-apart")
	e.bot(e.appInstance("another"), "three")
	_, err = e.ID.DeleteAppInstanceBot(e.ctx, &chimesdkidentity.DeleteAppInstanceBotInput{AppInstanceBotArn: aws.String(first)})
	noErr(t, err)
	e.bot(ai, "three") // deleting frees a slot
	out, err := e.ID.ListAppInstanceBots(e.ctx, &chimesdkidentity.ListAppInstanceBotsInput{AppInstanceArn: aws.String(ai)})
	noErr(t, err)
	if len(out.AppInstanceBots) != 2 {
		t.Fatalf("%d bots listed, want 2", len(out.AppInstanceBots))
	}
}

// TestQuotaFreedByExpiry_D17: a channel and a user that the reaper deletes
// when they expire free their slots, as deleting them does.
func TestQuotaFreedByExpiry_D17(t *testing.T) {
	clk := newFakeClock(time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC))
	q := service.DefaultQuotas
	q.ChannelsPerAppInstance, q.UsersPerAppInstance = 2, 2
	e := newEnv(t, withQuotas(q), withClock(clk))
	ai := e.appInstance("expiry")
	erin := e.user(ai, "erin")
	temp := e.user(ai, "temporary")
	e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	ch := e.channel(ai, temp, "UNRESTRICTED", "PUBLIC")
	_, err := createChannel(e, ai, erin, false)
	wantLimit(t, err)
	_, err = e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai), AppInstanceUserId: aws.String("third"),
		Name: aws.String("third"), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "ResourceLimitExceededException")

	_, err = e.Msg.PutChannelExpirationSettings(e.ctx, &chimesdkmessaging.PutChannelExpirationSettingsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(temp),
		ExpirationSettings: &types.ExpirationSettings{ExpirationDays: aws.Int32(1), ExpirationCriterion: types.ExpirationCriterionCreatedTimestamp}})
	noErr(t, err)
	_, err = e.ID.PutAppInstanceUserExpirationSettings(e.ctx, &chimesdkidentity.PutAppInstanceUserExpirationSettingsInput{AppInstanceUserArn: aws.String(temp),
		ExpirationSettings: &idtypes.ExpirationSettings{ExpirationDays: aws.Int32(2), ExpirationCriterion: idtypes.ExpirationCriterionCreatedTimestamp}})
	noErr(t, err)
	clk.Advance(24*time.Hour + time.Minute)
	n, err := e.Svc.Reap(e.ctx)
	noErr(t, err)
	if n.Channels != 1 || n.Users != 0 {
		t.Fatalf("day 1: reaped %+v, want the channel alone", n)
	}
	_, err = createChannel(e, ai, erin, false)
	noErr(t, err)
	_, err = createChannel(e, ai, erin, false)
	wantLimit(t, err)
	clk.Advance(24 * time.Hour)
	if n, err = e.Svc.Reap(e.ctx); err != nil || n.Users != 1 {
		t.Fatalf("day 2: reaped %+v (%v), want the user", n, err)
	}
	e.user(ai, "third")
	_, err = e.ID.CreateAppInstanceUser(e.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai), AppInstanceUserId: aws.String("fourth"),
		Name: aws.String("fourth"), ClientRequestToken: aws.String(token())})
	wantErr(t, err, "ResourceLimitExceededException")
}

// TestQuotaMembershipsPerChannelAndUser: CreateChannelMembership beyond the
// channel's memberships or the user's is a 400 ResourceLimitExceededException
// (SEMANTICS.md §9; lowered here), checked in the order of
// service.addMember: an existing membership is answered as it stands even
// when a quota is full (rule D1), and a banned member is refused with 403
// even into a full channel. A removal frees a slot. These hold the one
// statement that checks and inserts (store.InsertMembershipIfAllowed) to the
// same answers as the checks it replaces.
func TestQuotaMembershipsPerChannelAndUser(t *testing.T) {
	q := service.DefaultQuotas
	q.MembershipsPerChannel, q.MembershipsPerUser = 3, 3
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("membership-quota")
	add := func(ch, bearer, member string) (*chimesdkmessaging.CreateChannelMembershipOutput, error) {
		return e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			MemberArn: aws.String(member), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(bearer)})
	}
	var owners, channels []string
	for i := 0; i < 4; i++ { // each channel has its own creator, its first member
		owners = append(owners, e.user(ai, fmt.Sprintf("owner%d", i)))
		channels = append(channels, e.channel(ai, owners[i], "RESTRICTED", "PRIVATE"))
	}
	u1, u2, u3, banned := e.user(ai, "u1"), e.user(ai, "u2"), e.user(ai, "u3"), e.user(ai, "banned")

	// Per channel: the creator and two more.
	for _, u := range []string{u1, u2} {
		_, err := add(channels[0], owners[0], u)
		noErr(t, err)
	}
	_, err := add(channels[0], owners[0], u3)
	wantLimit(t, err)
	out, err := add(channels[0], owners[0], u1)
	noErr(t, err) // D1: an existing membership, though the channel is full
	if aws.ToString(out.Member.Arn) != u1 {
		t.Errorf("re-adding u1 answered %+v", out.Member)
	}
	_, err = e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(channels[0]),
		MemberArn: aws.String(banned), ChimeBearer: aws.String(owners[0])})
	noErr(t, err)
	_, err = add(channels[0], owners[0], banned)
	wantErr(t, err, "ForbiddenException")
	if got := listMemberArns(t, e, channels[0], owners[0], ""); !slices.Equal(sorted(got...), sorted(owners[0], u1, u2)) {
		t.Fatalf("members of the full channel: %v", got)
	}
	_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(channels[0]),
		MemberArn: aws.String(u2), ChimeBearer: aws.String(owners[0])})
	noErr(t, err)
	_, err = add(channels[0], owners[0], u3)
	noErr(t, err) // the removal freed a slot

	// Per user: u1 is in channels[0]; two more, then no more.
	for i := 1; i < 3; i++ {
		_, err := add(channels[i], owners[i], u1)
		noErr(t, err)
	}
	_, err = add(channels[3], owners[3], u1)
	wantLimit(t, err)
	_, err = add(channels[1], owners[1], u1)
	noErr(t, err) // D1 again, though u1 is at the quota
	// A banned member of a channel with room is still refused, not counted.
	_, err = e.Msg.CreateChannelBan(e.ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: aws.String(channels[3]),
		MemberArn: aws.String(u2), ChimeBearer: aws.String(owners[3])})
	noErr(t, err)
	_, err = add(channels[3], owners[3], u2)
	wantErr(t, err, "ForbiddenException")
	got, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(u1)})
	noErr(t, err)
	if len(got.ChannelMemberships) != 3 {
		t.Fatalf("u1 holds %d memberships, quota 3", len(got.ChannelMemberships))
	}
	if m := listMemberArns(t, e, channels[3], owners[3], ""); !slices.Equal(m, []string{owners[3]}) {
		t.Fatalf("members of the last channel: %v", m)
	}
}

// TestTwoNodesChannelAndUserQuota: CreateChannel and CreateAppInstanceUser
// racing on two nodes admit exactly the quota between them, and so do
// creates racing deletes: the count each create checks is the one the
// others committed (rule D17 across nodes, the count kept under the lock on
// the app instance's row).
func TestTwoNodesChannelAndUserQuota(t *testing.T) {
	q := service.DefaultQuotas
	q.ChannelsPerAppInstance, q.UsersPerAppInstance = 5, 6
	a := newEnv(t, withQuotas(q))
	b := a.secondNode()
	ai := a.appInstance("cluster")
	owner := a.user(ai, "owner")
	// race runs n calls alternately on a and b and returns how many succeeded;
	// every failure must be a ResourceLimitExceededException.
	race := func(n int, call func(node *env, i int) error) int {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := 0; i < n; i++ {
			node := a
			if i%2 == 1 {
				node = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := call(node, i)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else if !isLimit(err) {
					t.Errorf("call %d: %v, want success or ResourceLimitExceededException", i, err)
				}
			}()
		}
		wg.Wait()
		return ok
	}

	var mu sync.Mutex
	var channels []string
	created := race(20, func(node *env, i int) error {
		ch, err := createChannel(node, ai, owner, false)
		if err == nil {
			mu.Lock()
			channels = append(channels, ch)
			mu.Unlock()
		}
		return err
	})
	if created != 5 {
		t.Fatalf("%d channels created of a quota of 5", created)
	}
	users := race(20, func(node *env, i int) error {
		_, err := node.ID.CreateAppInstanceUser(node.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(ai),
			AppInstanceUserId: aws.String(fmt.Sprintf("u%d", i)), Name: aws.String("u"), ClientRequestToken: aws.String(token())})
		return err
	})
	if users != 5 { // the owner is the sixth
		t.Fatalf("%d users created besides the owner, quota 6", users)
	}

	// Node a deletes the five channels while node b creates: whatever the
	// interleaving, the channels left are the ones the count says, so
	// creating afterwards fills exactly the quota.
	var wg sync.WaitGroup
	for _, ch := range channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Msg.DeleteChannel(a.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
			if err != nil {
				t.Errorf("DeleteChannel: %v", err)
			}
		}()
	}
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := createChannel(b, ai, owner, false); err != nil && !isLimit(err) {
				t.Errorf("CreateChannel: %v, want success or ResourceLimitExceededException", err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	left := listedChannels(t, a, ai, owner)
	if left > 5 {
		t.Fatalf("%d channels after the deletes and creates, quota 5", left)
	}
	if more := race(10, func(node *env, i int) error { _, err := createChannel(node, ai, owner, false); return err }); left+more != 5 {
		t.Fatalf("%d channels left and %d more created, want 5 in all", left, more)
	}
	if n := listedChannels(t, b, ai, owner); n != 5 {
		t.Fatalf("%d channels listed, want 5", n)
	}
}

// TestMemberQuota_ChannelCreatedAgain: a channel deleted and created again
// under the same ChannelId while members are being added to it starts
// counting its members afresh: the quota of memberships per channel then
// admits exactly the members it has room for, no more and no fewer. (The
// SQLite writer once carried the deleted channel's pending count to the new
// one when both fell in one commit group; the store's
// TestGroupMemberCountOfAChannelCreatedAgain holds that case exactly.)
func TestMemberQuota_ChannelCreatedAgain(t *testing.T) {
	const quota = 12
	q := service.DefaultQuotas
	q.MembershipsPerChannel = quota
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("again")
	owner := e.user(ai, "owner")
	var users []string
	for i := range 2 * quota {
		users = append(users, e.user(ai, fmt.Sprintf("u%02d", i)))
	}
	// create creates the channel, trying again while the ChannelId is taken.
	create := func() string {
		for {
			out, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(owner),
				Name: aws.String("again"), ClientRequestToken: aws.String(token()), ChannelId: aws.String("again")})
			if errorCode(err) == "ConflictException" {
				continue
			}
			if err != nil {
				t.Errorf("CreateChannel: %v", err) // Errorf: create also runs in a goroutine
				return ""
			}
			return *out.ChannelArn
		}
	}
	add := func(ch, u string) error {
		_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(owner), MemberArn: aws.String(u), Type: types.ChannelMembershipTypeDefault})
		return err
	}
	for round := range 15 {
		ch := create()
		// Adders fill the channel while it is deleted and created again.
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(users); i += 6 {
					add(ch, users[i]) // refused once it is full or while it is gone
				}
			}()
		}
		// The create is sent with the delete, so that both may share a commit.
		wg.Add(1)
		go func() {
			defer wg.Done()
			create()
		}()
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		_, err := e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
		noErr(t, err)
		wg.Wait()
		// The new channel has room for exactly quota - its members.
		members := listMemberArns(t, e, ch, owner, "")
		have, added := len(members), 0
		for _, u := range users {
			if slices.Contains(members, u) {
				continue // adding a member again is a 201 (D1)
			}
			err := add(ch, u)
			if err == nil {
				added++
				continue
			}
			if !isLimit(err) {
				t.Fatalf("round %d: add: %v", round, err)
			}
		}
		if got := len(listMemberArns(t, e, ch, owner, "")); have+added != quota || got != quota {
			t.Fatalf("round %d: %d members after the race, %d more admitted, %d listed; the quota is %d", round, have, added, got, quota)
		}
		_, err = e.Msg.DeleteChannel(e.ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(owner)})
		noErr(t, err)
	}
}

// TestBatchCreateChannelMembership_ChannelQuota_D17: a batch that would take
// a channel past its quota of memberships fails whole, a 400
// ResourceLimitExceededException that adds no one (the quota is the
// channel's, not a member's: SEMANTICS.md §2 whole-call failures); a batch
// that fits is taken, and members already in count for nothing (D1).
func TestBatchCreateChannelMembership_ChannelQuota_D17(t *testing.T) {
	const quota = 6
	q := service.DefaultQuotas
	q.MembershipsPerChannel = quota
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("batch-quota")
	owner := e.user(ai, "owner")
	ch := e.channel(ai, owner, "UNRESTRICTED", "PUBLIC")
	var users []string
	for i := range 8 {
		users = append(users, e.user(ai, fmt.Sprintf("q%d", i)))
	}
	batch := func(arns ...string) (*chimesdkmessaging.BatchCreateChannelMembershipOutput, error) {
		return e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(owner), MemberArns: arns})
	}
	_, err := batch(users[0])
	noErr(t, err)
	_, err = batch(users...) // 2 + 7 new > 6
	wantLimit(t, err)
	if got := listMemberArns(t, e, ch, owner, ""); len(got) != 2 {
		t.Fatalf("a refused batch left %d members, want 2: %v", len(got), got)
	}
	out, err := batch(append([]string{owner, users[0]}, users[1:5]...)...) // 2 existing + 4 new = 6
	noErr(t, err)
	if len(out.Errors) != 0 || len(out.BatchChannelMemberships.Members) != 6 {
		t.Errorf("batch that fits: %d members, errors %+v", len(out.BatchChannelMemberships.Members), out.Errors)
	}
	out, err = batch(owner, users[1]) // nothing new: fits a full channel
	noErr(t, err)
	if len(out.Errors) != 0 {
		t.Errorf("existing members in a full channel: errors %+v", out.Errors)
	}
	_, err = batch(users[5])
	wantLimit(t, err)
	if got := listMemberArns(t, e, ch, owner, ""); len(got) != quota {
		t.Errorf("%d members, want %d", len(got), quota)
	}
}

// TestCreateChannel_ModeratorQuota_D17: CreateChannel's ModeratorArns, with
// the creator, count against the quota of moderators per channel as
// CreateChannelModerator does; over it, nothing is created.
func TestCreateChannel_ModeratorQuota_D17(t *testing.T) {
	q := service.DefaultQuotas
	q.ModeratorsPerChannel = 3
	e := newEnv(t, withQuotas(q))
	ai := e.appInstance("mod-quota")
	owner := e.user(ai, "owner")
	var mods []string
	for i := range 3 {
		mods = append(mods, e.user(ai, fmt.Sprintf("m%d", i)))
	}
	create := func(mods ...string) error {
		_, err := e.Msg.CreateChannel(e.ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(ai), ChimeBearer: aws.String(owner),
			Name: aws.String("mods"), ClientRequestToken: aws.String(token()), ModeratorArns: mods})
		return err
	}
	wantLimit(t, create(mods...)) // the creator and 3 more
	if n := listedChannels(t, e, ai, owner); n != 0 {
		t.Errorf("a refused CreateChannel left %d channels", n)
	}
	noErr(t, create(append(mods[:2], owner, mods[0])...)) // the creator and 2 more, named twice
}
