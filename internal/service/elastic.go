package service

import (
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// Elastic channels (SEMANTICS.md §6): regular members are spread over
// subchannels that the service creates, fills, splits and merges; moderators
// join the subchannels they choose. Every change below runs inside the
// caller's write transaction, with the channel locked, so a rebalance is
// atomic: interrupted (even by kill -9) it leaves the channel as it was.

// EventReasonSubChannelDeleted is the x-amz-chime-event-reason of the
// DELETE_CHANNEL_MEMBERSHIP a moderator receives when its subchannel is merged away.
const EventReasonSubChannelDeleted = "subchannel_DELETED"

// maxElasticMembers is the most members an elastic channel can hold,
// moderators aside (SEMANTICS §6).
const maxElasticMembers = 1_000_000

func newSubChannelID() string { return newMessageID() }

func errNotElastic() error {
	return chime.Errorf(chime.KindBadRequest, "SubChannelId applies only to elastic channels.")
}

// checkElastic applies the creation rules of an elastic channel.
func (s *Service) checkElastic(tx *store.Tx, in *CreateChannelInput) error {
	e := in.Elastic
	switch {
	case len(in.MemberArns) > 0:
		return chime.Errorf(chime.KindBadRequest, "MemberArns cannot be given when creating an elastic channel.")
	case in.Mode == chime.ModeUnrestricted:
		return chime.Errorf(chime.KindBadRequest, "An elastic channel must be RESTRICTED.")
	case e.MaximumSubChannels > s.quotas.SubChannelsPerElasticChannel:
		return limitExceeded("subchannels per elastic channel", s.quotas.SubChannelsPerElasticChannel)
	case e.TargetMembershipsPerSubChannel > s.quotas.MembershipsPerSubChannel:
		return limitExceeded("memberships per subchannel", s.quotas.MembershipsPerSubChannel)
	case e.MaximumSubChannels > maxElasticMembers/e.TargetMembershipsPerSubChannel:
		// SEMANTICS §6: the product of the two cannot exceed 1M, whatever
		// quotas --quotas raises (both are at least 2 by now: validated).
		return chime.Errorf(chime.KindResourceLimitExceeded,
			"An elastic channel holds at most %d members: MaximumSubChannels × TargetMembershipsPerSubChannel is %d × %d.",
			maxElasticMembers, e.MaximumSubChannels, e.TargetMembershipsPerSubChannel)
	}
	in.Mode = chime.ModeRestricted
	n, err := tx.CountElasticChannels(in.AppInstanceArn)
	if err != nil {
		return err
	}
	if n >= s.quotas.ElasticChannelsPerAppInstance {
		return limitExceeded("elastic channels per app instance", s.quotas.ElasticChannelsPerAppInstance)
	}
	return nil
}

func (s *Service) isModerator(tx *store.Tx, channelArn, arn string) (bool, error) {
	_, err := tx.GetModerator(channelArn, arn)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// assignSubChannel picks the subchannel a new regular member joins: the
// fullest one below the target; when all are full, a new one that takes
// half of a full subchannel's members (SCALE_OUT). It returns the
// events telling each moved member its new subchannel.
func (s *Service) assignSubChannel(tx *store.Tx, ch chime.Channel, now time.Time) (string, []chime.Event, error) {
	cfg := ch.Elastic
	// The common case is one index probe, so the millionth member costs what the first did.
	if sc, err := tx.FullestBelow(ch.Arn, cfg.TargetMembershipsPerSubChannel); err == nil {
		return sc.ID, nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", nil, err
	}
	subs, err := tx.SubChannels(ch.Arn)
	if err != nil {
		return "", nil, err
	}
	if len(subs) >= cfg.MaximumSubChannels {
		return "", nil, chime.Errorf(chime.KindResourceLimitExceeded, "The elastic channel is full: %d subchannels of %d members.",
			cfg.MaximumSubChannels, cfg.TargetMembershipsPerSubChannel)
	}
	id := newSubChannelID()
	if err := tx.InsertSubChannel(ch.Arn, id, now); err != nil {
		return "", nil, err
	}
	// Every subchannel is full: the oldest is split in two. The new one gets
	// half of a full subchannel, the joining member included
	// (floor((target+1)/2), never under the minimum, which is at most 40 %
	// of the target); the members moved are the oldest subchannel's newest.
	// Splitting one subchannel, rather than taking a member from each, keeps
	// the members that follow together: they fill the two halves in turn, so
	// a batch touches one or two subchannels (BENCHMARKS.md), and members
	// who have been there longest are never moved.
	var events []chime.Event
	if take := (cfg.TargetMembershipsPerSubChannel+1)/2 - 1; take > 0 && len(subs) > 0 {
		moved, err := tx.MoveMembers(ch.Arn, subs[0].ID, id, take, now)
		if err != nil {
			return "", nil, err
		}
		for _, m := range moved {
			events = append(events, movedEvent(m))
		}
	}
	return id, events, nil
}

// movedEvent tells a member alone that it was moved to another subchannel.
func movedEvent(m chime.Membership) chime.Event {
	return chime.Event{Type: chime.EventUpdateChannelMembership, MessageType: "SYSTEM", ChannelArn: m.ChannelArn,
		Payload: membershipPayload(m), Recipients: []string{m.Member.Arn}}
}

// scaleIn runs after subchannel sub lost regular members (a leave, a ban,
// a promotion, a deleted or expired user): it merges a subchannel under the
// minimum into another that can absorb all its members (SCALE_IN). The
// candidate is sub itself when it is now under the minimum; otherwise the
// smallest subchannel under the minimum, which sub's new room may now
// absorb although nothing could when it fell under (the merge is not only
// tried at that moment). The absorber is the fullest subchannel with room
// for every member of the candidate. Both are index probes, so a drop costs
// the same with 2 subchannels as with 100. The members move and are told
// so, the candidate's moderators are told their subchannel was deleted, and
// it is deleted with its messages.
//
// One merge per drop keeps SCALE_IN complete: between drops no subchannel
// under the minimum can be absorbed by another (two under it always fit in
// one, as the minimum is at most 40 % of the target), and a drop makes room
// in sub alone, so at most one merge becomes possible.
func (s *Service) scaleIn(tx *store.Tx, ch chime.Channel, sub string, now time.Time) ([]chime.Event, error) {
	cfg := ch.Elastic
	minimum := (cfg.MinimumMembershipPercentage*cfg.TargetMembershipsPerSubChannel + 99) / 100
	from, err := tx.GetSubChannel(ch.Arn, sub)
	if err != nil {
		return nil, notFoundAs(err, "The SubChannel %s does not exist.", sub)
	}
	if from.MembershipCount >= minimum {
		if from, err = tx.SmallestBelow(ch.Arn, minimum); errors.Is(err, store.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
	}
	into, err := tx.FullestAtMost(ch.Arn, cfg.TargetMembershipsPerSubChannel-from.MembershipCount, from.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var events []chime.Event
	moved, err := tx.MoveMembers(ch.Arn, from.ID, into.ID, from.MembershipCount, now)
	if err != nil {
		return nil, err
	}
	for _, m := range moved {
		events = append(events, movedEvent(m))
	}
	moderators, err := tx.MemberArnsIn(ch.Arn, from.ID) // only moderators are left
	if err != nil {
		return nil, err
	}
	for _, arn := range moderators {
		m, err := tx.GetMembershipIn(ch.Arn, arn, from.ID)
		if err != nil {
			return nil, err
		}
		events = append(events, chime.Event{Type: chime.EventDeleteChannelMembership, MessageType: "SYSTEM", Reason: EventReasonSubChannelDeleted,
			ChannelArn: ch.Arn, Payload: membershipPayload(m), Recipients: []string{arn}})
	}
	return events, tx.DeleteSubChannel(ch.Arn, from.ID)
}

// ListSubChannels pages through an elastic channel's subchannels with their
// member counts; moderators and admins only.
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (not elastic, token).
func (s *Service) ListSubChannels(ctx context.Context, c chime.Caller, channelArn string, pr PageRequest) ([]chime.SubChannel, *string, error) {
	var page store.Page[chime.SubChannel]
	var filter string
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if r.channel.Elastic == nil {
			return chime.Errorf(chime.KindBadRequest, "The channel %s is not an elastic channel.", channelArn)
		}
		filter = r.channelKey()
		after, err := s.after("ListSubChannels", filter, pr)
		if err != nil {
			return err
		}
		page, err = tx.ListSubChannels(channelArn, after, pr.limit())
		return err
	})
	return page.Items, s.token("ListSubChannels", filter, page.Next), err
}

// subChannelOf resolves the subchannel an operation on messages acts in.
// Outside elastic channels it is "" (and a SubChannelId is refused). In an
// elastic channel: a given SubChannelId must exist; a regular member acts in
// its own subchannel only; moderators and admins may name any (to send, they
// must have joined it); with none given, the bearer's only membership is
// used, else the SubChannelId is required.
func (s *Service) subChannelOf(tx *store.Tx, r role, given string, send bool) (string, error) {
	if r.channel.Elastic == nil {
		if given != "" {
			return "", errNotElastic()
		}
		return "", nil
	}
	if given != "" {
		if _, err := tx.GetSubChannel(r.channel.Arn, given); err != nil {
			return "", notFoundAs(err, "The SubChannel %s does not exist.", given)
		}
	}
	mine, err := tx.MembershipsOf(r.channel.Arn, r.bearer.Arn)
	if err != nil {
		return "", err
	}
	if given == "" {
		if len(mine) == 1 {
			return mine[0].SubChannelID, nil
		}
		return "", chime.Errorf(chime.KindBadRequest, "SubChannelId is required in an elastic channel for a bearer that is not in exactly one SubChannel.")
	}
	for _, m := range mine {
		if m.SubChannelID == given {
			return given, nil
		}
	}
	if send || !r.privileged() {
		return "", forbidden("The bearer is not a member of SubChannel %s.", given)
	}
	return given, nil
}

// RateScope tells the rate limits (api.ChannelScope) whether channelArn is
// an elastic channel and, when wantSub and bearer holds exactly one of its
// subchannels, which: AWS counts an elastic channel's membership writes at
// twice a plain one's rate and its messages per subchannel. An unknown
// channel or bearer is a plain channel: the request fails later anyway.
func (s *Service) RateScope(ctx context.Context, channelArn, bearer string, wantSub bool) (elastic bool, sub string) {
	_ = s.store.Read(ctx, func(tx *store.Tx) error {
		ch, err := tx.GetChannel(channelArn)
		if err != nil || ch.Elastic == nil {
			return err
		}
		elastic = true
		if !wantSub {
			return nil
		}
		mine, err := tx.MembershipsOf(channelArn, bearer)
		if err == nil && len(mine) == 1 {
			sub = mine[0].SubChannelID
		}
		return err
	})
	return elastic, sub
}
