package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

// parallel runs f(0..n-1) in n goroutines released at the same moment and
// returns their errors by index.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// TestConcurrentCreateChannelMembership_SameUser_D1: 50 simultaneous adds of
// one user all succeed with 201 (rule D1), none is a 5xx, and exactly one
// membership results.
func TestConcurrentCreateChannelMembership_SameUser_D1(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("same-user")
	erin := e.user(ai, "erin")
	bob := e.user(ai, "bob@example.com")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	statuses := make([]int, 50)
	errs := parallel(50, func(i int) error {
		out, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(erin), MemberArn: aws.String(bob), Type: types.ChannelMembershipTypeDefault})
		if err != nil {
			statuses[i] = errStatus(err)
			return err
		}
		statuses[i] = httpStatus(out.ResultMetadata)
		if aws.ToString(out.Member.Arn) != bob {
			return fmt.Errorf("member %s", aws.ToString(out.Member.Arn))
		}
		return nil
	})
	for i, err := range errs {
		if statuses[i] >= 500 {
			t.Errorf("call %d: %d %v", i, statuses[i], err)
		} else if err != nil || statuses[i] != http.StatusCreated {
			t.Errorf("call %d: status %d, err %v; want 201", i, statuses[i], err)
		}
	}
	if got := listMemberArns(t, e, ch, erin, ""); !slices.Equal(got, []string{erin, bob}) {
		t.Errorf("members %v, want [erin bob]", got)
	}
	out, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	noErr(t, err)
	if len(out.ChannelMemberships) != 1 {
		t.Errorf("bob has %d memberships, want 1", len(out.ChannelMemberships))
	}
}

// TestConcurrentCreateChannelMembership_SelfJoin_D9: 50 users self-join a
// PUBLIC channel and one user self-joins 30 times, all at once: every call
// succeeds and every joiner is a member once.
func TestConcurrentCreateChannelMembership_SelfJoin_D9(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("self-join")
	erin := e.user(ai, "erin")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	users := make([]string, 50)
	for i := range users {
		users[i] = e.user(ai, fmt.Sprintf("joiner-%02d", i))
	}
	errs := parallel(80, func(i int) error {
		u := users[0]
		if i < 50 {
			u = users[i]
		}
		_, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(u), MemberArn: aws.String(u), Type: types.ChannelMembershipTypeDefault})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	got := listMemberArns(t, e, ch, erin, "")
	if want := append([]string{erin}, users...); len(got) != len(want) || !sameSet(got, want) {
		t.Errorf("%d members, want %d each once", len(got), len(want))
	}
}

// TestConcurrentCreateChannelMembership_DifferentUsers: 100 simultaneous adds
// of different users (and bots) all land.
func TestConcurrentCreateChannelMembership_DifferentUsers(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("many")
	erin := e.user(ai, "erin")
	ch := e.channel(ai, erin, "RESTRICTED", "PRIVATE")
	members := make([]string, 100)
	for i := range members {
		if i%10 == 0 {
			members[i] = e.bot(ai, fmt.Sprintf("bot-%02d", i))
		} else {
			members[i] = e.user(ai, fmt.Sprintf("user-%02d@example.com", i))
		}
	}
	errs := parallel(len(members), func(i int) error {
		out, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(erin), MemberArn: aws.String(members[i]), Type: types.ChannelMembershipTypeDefault})
		if err == nil && httpStatus(out.ResultMetadata) != http.StatusCreated {
			return fmt.Errorf("status %d", httpStatus(out.ResultMetadata))
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("add %s: %v", members[i], err)
		}
	}
	got := listMemberArns(t, e, ch, erin, "")
	if want := append([]string{erin}, members...); len(got) != len(want) || !sameSet(got, want) {
		t.Errorf("%d members listed, want %d each once", len(got), len(want))
	}
	if got[0] != erin {
		t.Errorf("first member %s, want the creator", got[0])
	}
}

// TestConcurrentBatchCreateChannelMembership_Overlapping: simultaneous batches
// with overlapping members give no 5xx and no Errors, and every user ends up a
// member exactly once (rule D1 in a batch).
func TestConcurrentBatchCreateChannelMembership_Overlapping(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("batches")
	erin := e.user(ai, "erin")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	users := make([]string, 90)
	for i := range users {
		users[i] = e.user(ai, fmt.Sprintf("u%02d", i))
	}
	// Batch i takes a window of 30 users starting at 6*i (wrapping), so
	// every user is in several batches at once.
	const batches = 20
	window := func(i int) []string {
		var w []string
		for j := range 30 {
			w = append(w, users[(6*i+j)%len(users)])
		}
		return w
	}
	results := make([]*chimesdkmessaging.BatchCreateChannelMembershipOutput, batches)
	errs := parallel(batches, func(i int) error {
		out, err := e.Msg.BatchCreateChannelMembership(e.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(ch),
			ChimeBearer: aws.String(erin), MemberArns: window(i)})
		results[i] = out
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("batch %d: status %d, %v", i, errStatus(err), err)
			continue
		}
		if s := httpStatus(results[i].ResultMetadata); s != http.StatusOK {
			t.Errorf("batch %d: status %d", i, s)
		}
		if len(results[i].Errors) != 0 || !sameSet(identityArns(results[i].BatchChannelMemberships.Members), window(i)) {
			t.Errorf("batch %d: members %d errors %+v, want all 30 listed", i, len(results[i].BatchChannelMemberships.Members), results[i].Errors)
		}
	}
	got := listMemberArns(t, e, ch, erin, "")
	if want := append([]string{erin}, users...); len(got) != len(want) || !sameSet(got, want) {
		t.Errorf("%d members listed, want %d each once", len(got), len(want))
	}
}

// TestConcurrentMembershipChurn: adds, removals and reads of the same
// memberships at once never give a 5xx, and the final state is consistent.
func TestConcurrentMembershipChurn(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("churn")
	erin := e.user(ai, "erin")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	users := make([]string, 10)
	for i := range users {
		users[i] = e.user(ai, fmt.Sprintf("c%d", i))
	}
	errs := parallel(90, func(i int) error {
		u := users[i%len(users)]
		var err error
		switch i % 3 {
		case 0:
			_, err = e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(u), MemberArn: aws.String(u), Type: types.ChannelMembershipTypeDefault})
		case 1:
			_, err = e.Msg.DeleteChannelMembership(e.ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: aws.String(ch),
				ChimeBearer: aws.String(u), MemberArn: aws.String(u)})
		case 2:
			_, err = e.Msg.ListChannelMemberships(e.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(u)})
		}
		if s := errStatus(err); err != nil && (s >= 500 || s == 0) {
			return err
		}
		return nil // 404 on leaving a channel not yet joined is fine
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	got := listMemberArns(t, e, ch, erin, "")
	for _, u := range users {
		n := 0
		for _, m := range got {
			if m == u {
				n++
			}
		}
		_, derr := e.Msg.DescribeChannelMembershipForAppInstanceUser(e.ctx, &chimesdkmessaging.DescribeChannelMembershipForAppInstanceUserInput{
			ChannelArn: aws.String(ch), AppInstanceUserArn: aws.String(u), ChimeBearer: aws.String(u)})
		if n > 1 || (n == 1) != (derr == nil) {
			t.Errorf("%s listed %d times, describe err %v", u, n, derr)
		}
	}
}
