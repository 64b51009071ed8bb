package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// TestCreateChannelRunTwiceKeepsItsToken: the store may run a write
// transaction twice (a group is run again when one of its transactions
// fails after it wrote). An elastic CreateChannel that ran twice must
// remember its ClientRequestToken with the request as sent, so that a retry
// with the same token returns the same channel (SEMANTICS.md, idempotent
// creates) instead of a ConflictException.
func TestCreateChannelRunTwiceKeepsItsToken(t *testing.T) {
	ctx := context.Background()
	svc, st := newTestService(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/rerun"
	caller := chime.Caller{Bearer: ai + "/user/u"}
	seedUser(t, st, ai, caller.Bearer, t0)
	in := CreateChannelInput{AppInstanceArn: ai, Name: "e", ClientRequestToken: "token-1",
		Elastic: &chime.ElasticConfig{MaximumSubChannels: 2, TargetMembershipsPerSubChannel: 2, MinimumMembershipPercentage: 10}}

	// Hold the writer, queue the create and then a transaction that fails
	// after it wrote: one group, run again.
	queued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); st.Stats().Queued < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d transactions queued", st.Stats().Queued, n)
			}
		}
	}
	hold, held := make(chan struct{}), make(chan struct{})
	go st.Write(ctx, func(*store.Tx) error { close(held); <-hold; return nil })
	<-held
	type created struct {
		arn string
		err error
	}
	first := make(chan created, 1)
	go func() {
		arn, err := svc.CreateChannel(ctx, caller, in)
		first <- created{arn, err}
	}()
	queued(1)
	failed := make(chan error, 1)
	go func() {
		failed <- st.Write(ctx, func(tx *store.Tx) error {
			if err := tx.PutMeta("rerun-test", "x"); err != nil {
				return err
			}
			return errors.New("fails after it wrote")
		})
	}()
	queued(2)
	reruns := st.Stats().Reruns
	close(hold)
	c := <-first
	if c.err != nil {
		t.Fatal(c.err)
	}
	if err := <-failed; err == nil {
		t.Fatal("the failing transaction succeeded")
	}
	if st.Stats().Reruns == reruns {
		t.Fatal("the group was not run again: the test tests nothing")
	}
	again, err := svc.CreateChannel(ctx, caller, in)
	if err != nil || again != c.arn {
		t.Fatalf("retry with the same token: %q, %v; want %q", again, err, c.arn)
	}
}
