package service

import (
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// added is a membership addMember created, with the events of any
// rebalance it caused (elastic channels).
type added struct {
	m      chime.Membership
	events []chime.Event
}

func errHiddenElastic() error {
	return chime.Errorf(chime.KindBadRequest, "HIDDEN memberships are not supported in elastic channels.")
}

// addMember adds u to ch unless a ban or a quota stops it. An existing
// membership is left as it stands (rule D1: nil result); a banned user is
// Forbidden (rule D2). In an elastic channel a regular member is assigned a
// subchannel (sub must be ""), while a moderator joins the subchannel sub
// names; HIDDEN memberships are refused there.
func (s *Service) addMember(tx *store.Tx, ch chime.Channel, u chime.AppInstanceUser, typ string, by chime.Identity, now time.Time, sub string) (*added, error) {
	moderator := false
	if ch.Elastic != nil {
		if typ == chime.MembershipHidden {
			return nil, errHiddenElastic()
		}
		var err error
		if moderator, err = s.isModerator(tx, ch.Arn, u.Arn); err != nil {
			return nil, err
		}
		switch {
		case moderator && sub == "":
			return nil, chime.Errorf(chime.KindBadRequest, "SubChannelId is required to add a moderator of an elastic channel to one of its SubChannels.")
		case !moderator && sub != "":
			return nil, chime.Errorf(chime.KindBadRequest, "Only moderators choose their SubChannel; the service assigns one to other members.")
		case moderator:
			if _, err := tx.GetSubChannel(ch.Arn, sub); err != nil {
				return nil, notFoundAs(err, "The SubChannel %s does not exist.", sub)
			}
		}
	} else if sub != "" {
		return nil, errNotElastic()
	}
	// The channel is locked by the transaction, and the caller locked u
	// before reading it (lockMembers), as the per-user quota needs.
	if ch.Elastic == nil {
		// Most adds pass every check below: one statement checks and inserts.
		m := chime.Membership{ChannelArn: ch.Arn, Member: identityOf(u), Type: typ, InvitedBy: by, Created: now, Updated: now}
		inserted, err := tx.InsertMembershipIfAllowed(m, s.quotas.MembershipsPerChannel, s.quotas.MembershipsPerUser)
		switch {
		case err != nil:
			return nil, err
		case inserted:
			return &added{m: m}, nil
		}
	}
	// Existing membership (a moderator's: in that subchannel), ban and both counts, in one statement.
	var in string
	if moderator {
		in = sub
	}
	st, err := tx.AddStateOf(ch.Arn, u.Arn, in)
	switch {
	case err != nil:
		return nil, err
	case st.Member:
		return nil, nil
	case st.Banned:
		return nil, forbidden("%s is banned from this channel.", u.Arn)
	case ch.Elastic == nil && st.ChannelMembers >= s.quotas.MembershipsPerChannel:
		return nil, limitExceeded("memberships per channel", s.quotas.MembershipsPerChannel)
	case st.UserMemberships >= s.quotas.MembershipsPerUser:
		return nil, limitExceeded("channel memberships per app instance user", s.quotas.MembershipsPerUser)
	}
	res := &added{}
	if ch.Elastic != nil && !moderator {
		if sub, res.events, err = s.assignSubChannel(tx, ch, now); err != nil {
			return nil, err
		}
	}
	res.m = chime.Membership{ChannelArn: ch.Arn, Member: identityOf(u), Type: typ, InvitedBy: by, Created: now, Updated: now, SubChannelID: sub}
	inserted, err := tx.InsertMembership(res.m)
	if err != nil || !inserted {
		return nil, err // not inserted: a concurrent add won the race (rule D1)
	}
	if ch.Elastic != nil && !moderator {
		if err := tx.AddSubChannelMembers(ch.Arn, sub, 1); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// lockMembers locks the users and bots about to be added (PostgreSQL; a
// no-op on SQLite) before the channel, in the order DeleteIdentity takes
// them, so that the two cannot deadlock; those read afterwards are current,
// and one deleted meanwhile is not found (an error the checks report in
// their order, later). Without it, an add racing the deletion of its
// member could insert a membership for a user that no longer exists.
func lockMembers(tx *store.Tx, arns ...string) error {
	if len(arns) == 1 {
		if err := tx.LockIdentity(arns[0]); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	return tx.LockIdentities(arns)
}

// CreateChannelMembershipInput is the input of CreateChannelMembership.
type CreateChannelMembershipInput struct {
	ChannelArn   string
	MemberArn    string
	Type         string
	SubChannelID string
}

// CreateChannelMembership adds a member (rules D1, D2, D4, D9) and returns
// the membership as it stands. Errors: Unauthorized, NotFound, Forbidden,
// BadRequest (SubChannelId), ResourceLimitExceeded. No Type is DEFAULT.
func (s *Service) CreateChannelMembership(ctx context.Context, c chime.Caller, in CreateChannelMembershipInput) (chime.Membership, error) {
	if in.Type == "" {
		in.Type = chime.MembershipDefault
	}
	var m chime.Membership
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		if err := lockMembers(tx, in.MemberArn); err != nil {
			return err
		}
		r, err := s.roleIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		if err := r.canAdd(in.MemberArn, in.Type); err != nil {
			return err
		}
		u, err := s.memberIdentity(tx, r.channel.AppInstanceArn, in.MemberArn)
		if err != nil {
			return err
		}
		a, err := s.addMember(tx, r.channel, u, in.Type, identityOf(r.bearer), s.clock(), in.SubChannelID)
		if err != nil {
			return err
		}
		if a == nil { // D1: an existing membership is returned as it stands, with no event
			if in.SubChannelID != "" {
				m, err = tx.GetMembershipIn(in.ChannelArn, in.MemberArn, in.SubChannelID)
			} else {
				m, err = tx.GetMembership(in.ChannelArn, in.MemberArn)
			}
			return err
		}
		m = a.m
		ev, err := membershipEvent(tx, chime.EventCreateChannelMembership, m)
		events = append(append(events, a.events...), ev)
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return m, err
}

// BatchError is one member a batch could not add.
type BatchError struct {
	MemberArn string
	Code      string // a model ErrorCode value
	Message   string
}

// BatchResult is the outcome of BatchCreateChannelMembership.
type BatchResult struct {
	InvitedBy    chime.Identity
	Type         string
	SubChannelID string
	Members      []chime.Identity
	Errors       []BatchError
}

// batchCodes maps the kind of a per-member failure to its model ErrorCode.
var batchCodes = map[chime.Kind]string{
	chime.KindForbidden:             "Forbidden",
	chime.KindNotFound:              "NotFound",
	chime.KindBadRequest:            "BadRequest",
	chime.KindConflict:              "Conflict",
	chime.KindResourceLimitExceeded: "ResourceLimitExceeded",
}

// BatchCreateChannelMembership adds up to 100 members in one transaction.
// Each member that cannot be added gets an Errors entry instead of failing
// the call; Members lists those added or already members (rule D1).
// Errors (whole call): Unauthorized, NotFound, Forbidden, BadRequest.
func (s *Service) BatchCreateChannelMembership(ctx context.Context, c chime.Caller, channelArn, typ string, memberArns []string, subChannelID string) (BatchResult, error) {
	if typ == "" {
		typ = chime.MembershipDefault
	}
	var res BatchResult
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		res = BatchResult{Type: typ, SubChannelID: subChannelID}
		events = nil
		if err := lockMembers(tx, memberArns...); err != nil {
			return err
		}
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if subChannelID != "" && r.channel.Elastic == nil {
			return errNotElastic()
		}
		res.InvitedBy = identityOf(r.bearer)
		// The bearer's right to add at all is checked once: a call it may not make fails whole.
		// A non-member of a PRIVATE channel may add no one, not even themself (rule D9).
		outsider := !r.member && !r.privileged() && r.channel.Privacy == chime.PrivacyPrivate
		if r.banned || outsider || (typ == chime.MembershipHidden && !r.privileged()) || (r.channel.Mode == chime.ModeRestricted && !r.privileged()) {
			return r.canAdd("", typ)
		}
		// As CreateChannelMembership answers it: the whole call, not each member.
		if typ == chime.MembershipHidden && r.channel.Elastic != nil {
			return errHiddenElastic()
		}
		// The SubChannelId names one subchannel for the whole call: unknown, the call fails (rule D3).
		if subChannelID != "" {
			if _, err := tx.GetSubChannel(channelArn, subChannelID); err != nil {
				return notFoundAs(err, "The SubChannel %s does not exist.", subChannelID)
			}
		}
		now := s.clock()
		var batch *batchAdder // outside elastic channels: set-based (batch.go)
		if r.channel.Elastic == nil {
			if batch, err = s.newBatchAdder(tx, r, typ, now, memberArns); err != nil {
				return err
			}
		}
		seen := map[string]bool{}
		var newMembers []string
		subMembers := map[string][]string{} // elastic: each subchannel's members, read once per batch
		for _, arn := range memberArns {
			if seen[arn] {
				continue
			}
			seen[arn] = true
			var u chime.AppInstanceUser
			var a *added
			if batch != nil {
				u, a, err = batch.add(arn)
			} else {
				u, a, err = s.addOne(tx, r, arn, typ, now, subChannelID)
			}
			if err == nil {
				res.Members = append(res.Members, identityOf(u))
				if a != nil {
					newMembers = append(newMembers, u.Arn)
					events = append(events, a.events...)
					if r.channel.Elastic != nil {
						// Elastic channels tell each new member's subchannel, one event each.
						if len(a.events) > 0 {
							clear(subMembers) // a rebalance moved members: read the lists again
						}
						ev, err := subChannelCreateEvent(tx, a.m, subMembers)
						if err != nil {
							return err
						}
						events = append(events, ev)
					}
				}
				continue
			}
			code, ok := batchCodes[chime.KindOf(err)]
			if !ok || errors.As(err, new(wholeCall)) {
				return err
			}
			res.Errors = append(res.Errors, BatchError{MemberArn: arn, Code: code, Message: err.Error()})
		}
		if batch != nil {
			if err := batch.flush(); err != nil {
				return err
			}
		}
		if len(newMembers) == 0 || r.channel.Elastic != nil {
			return nil
		}
		ev, err := batchEvent(tx, r.channel.Arn, res, newMembers)
		events = append(events, ev)
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return res, err
}

func (s *Service) addOne(tx *store.Tx, r role, arn, typ string, now time.Time, sub string) (chime.AppInstanceUser, *added, error) {
	if err := r.canAdd(arn, typ); err != nil {
		return chime.AppInstanceUser{}, nil, err
	}
	u, err := s.memberIdentity(tx, r.channel.AppInstanceArn, arn)
	if err != nil {
		return u, nil, err
	}
	a, err := s.addMember(tx, r.channel, u, typ, identityOf(r.bearer), now, sub)
	return u, a, err
}

// DescribeChannelMembership returns a membership to those who may read the
// channel; a HIDDEN membership only to moderators, admins and the member.
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (SubChannelId).
func (s *Service) DescribeChannelMembership(ctx context.Context, c chime.Caller, channelArn, memberArn, subChannelID string) (chime.Membership, error) {
	var m chime.Membership
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if subChannelID != "" && r.channel.Elastic == nil {
			return errNotElastic()
		}
		if err := r.canRead(); err != nil {
			return err
		}
		if subChannelID != "" {
			m, err = tx.GetMembershipIn(channelArn, memberArn, subChannelID)
		} else {
			m, err = tx.GetMembership(channelArn, memberArn)
		}
		if err == nil && m.Type == chime.MembershipHidden && !r.privileged() && memberArn != r.bearer.Arn {
			err = store.ErrNotFound
		}
		return notFoundAs(err, "%s is not a member of %s.", memberArn, channelArn)
	})
	return m, err
}

// DeleteChannelMembership removes a membership: members may leave, removing
// someone else takes a moderator or admin (rule D11).
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (SubChannelId).
func (s *Service) DeleteChannelMembership(ctx context.Context, c chime.Caller, channelArn, memberArn, subChannelID string) error {
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if subChannelID != "" && r.channel.Elastic == nil {
			return errNotElastic()
		}
		if memberArn != r.bearer.Arn {
			if err := r.canModerate(); err != nil {
				return forbidden("Only moderators of this channel and app instance admins can remove other members.")
			}
		}
		removed, err := s.removeMember(tx, r.channel, memberArn, subChannelID)
		if err == nil && len(removed) == 0 {
			return chime.Errorf(chime.KindNotFound, "%s is not a member of %s.", memberArn, channelArn)
		}
		events = append(events, removed...)
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return err
}

// removeMember deletes a member's memberships in the channel — in an
// elastic channel, only the one in subchannel sub when sub is given — and
// returns the events that tell of it (none when there was nothing to
// remove), including those of a subchannel merge it causes.
func (s *Service) removeMember(tx *store.Tx, ch chime.Channel, memberArn, sub string) ([]chime.Event, error) {
	all, err := tx.MembershipsOf(ch.Arn, memberArn)
	if err != nil {
		return nil, err
	}
	moderator := false
	if ch.Elastic != nil {
		if moderator, err = s.isModerator(tx, ch.Arn, memberArn); err != nil {
			return nil, err
		}
	}
	var events []chime.Event
	now := s.clock()
	for _, m := range all {
		if sub != "" && m.SubChannelID != sub {
			continue
		}
		// The removed member is told too: recipients are taken before the delete.
		ev, err := membershipEvent(tx, chime.EventDeleteChannelMembership, m)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
		if _, err := tx.DeleteMembershipIn(ch.Arn, memberArn, m.SubChannelID); err != nil {
			return nil, err
		}
		if ch.Elastic != nil && !moderator {
			if err := tx.AddSubChannelMembers(ch.Arn, m.SubChannelID, -1); err != nil {
				return nil, err
			}
			merged, err := s.scaleIn(tx, ch, m.SubChannelID, now)
			if err != nil {
				return nil, err
			}
			events = append(events, merged...)
		}
	}
	return events, nil
}

// ListChannelMembershipsInput is the input of ListChannelMemberships.
type ListChannelMembershipsInput struct {
	ChannelArn   string
	Type         string // DEFAULT when ""
	SubChannelID string
	PageRequest
}

// ListChannelMemberships pages through a channel's members of one type;
// HIDDEN ones only for moderators and admins (rule D10).
// Errors: Unauthorized, NotFound, Forbidden, BadRequest.
func (s *Service) ListChannelMemberships(ctx context.Context, c chime.Caller, in ListChannelMembershipsInput) ([]chime.Membership, *string, error) {
	if in.Type == "" {
		in.Type = chime.MembershipDefault
	}
	var filter string
	var page store.Page[chime.Membership]
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		if err := r.canRead(); err != nil {
			return err
		}
		switch {
		case in.SubChannelID != "" && r.channel.Elastic == nil:
			return errNotElastic()
		case in.SubChannelID == "" && r.channel.Elastic != nil:
			return chime.Errorf(chime.KindBadRequest, "SubChannelId is required to list the members of an elastic channel (see ListSubChannels).")
		case in.SubChannelID != "":
			if _, err := tx.GetSubChannel(in.ChannelArn, in.SubChannelID); err != nil {
				return notFoundAs(err, "The SubChannel %s does not exist.", in.SubChannelID)
			}
		}
		if in.Type == chime.MembershipHidden && !r.privileged() {
			return forbidden("Only moderators and app instance admins can list HIDDEN members.")
		}
		filter = r.channelKey() + "|" + in.Type + "|" + in.SubChannelID
		after, err := s.after("ListChannelMemberships", filter, in.PageRequest)
		if err != nil {
			return err
		}
		page, err = tx.ListMemberships(in.ChannelArn, in.SubChannelID, in.Type, after, in.limit())
		return err
	})
	return page.Items, s.token("ListChannelMemberships", filter, page.Next), err
}

// forUser resolves the user a *ForAppInstanceUser or *ModeratedByAppInstanceUser
// call is about: the bearer for themself, anyone of the app instance for its admins.
// A call about one channel names the channel's app instance in appInstance: a
// bearer of another one is unauthorized before anything else is checked (D5).
func (s *Service) forUser(tx *store.Tx, c chime.Caller, appInstance, userArn string) (chime.AppInstanceUser, error) {
	b, err := s.bearer(tx, c, appInstance)
	if err != nil {
		return b, err
	}
	if userArn == "" || userArn == b.Arn {
		return b, nil
	}
	admin, err := tx.IsAdmin(b.AppInstanceArn, b.Arn)
	if err != nil {
		return b, err
	}
	if !admin {
		return b, forbidden("Only an AppInstanceAdmin can call this API with a user ARN that is not their own.")
	}
	u, err := tx.GetIdentity(userArn)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.AppInstanceArn != b.AppInstanceArn) {
		return u, chime.Errorf(chime.KindNotFound, "The app instance user %s does not exist.", userArn)
	}
	return u, err
}

// ListChannelMembershipsForAppInstanceUser pages through a user's channels
// with their membership, in the order the user joined; each channel's last
// message is the one the bearer sees (seenBy).
// Errors: Unauthorized, Forbidden, NotFound, BadRequest (token).
func (s *Service) ListChannelMembershipsForAppInstanceUser(ctx context.Context, c chime.Caller, userArn string, pr PageRequest) ([]chime.UserMembership, *string, error) {
	var page store.Page[chime.UserMembership]
	var filter string
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		u, err := s.forUser(tx, c, "", userArn)
		if err != nil {
			return err
		}
		filter = userKey(u)
		after, err := s.after("ListChannelMembershipsForAppInstanceUser", filter, pr)
		if err != nil {
			return err
		}
		if page, err = tx.ListUserMemberships(u.Arn, after, pr.limit()); err != nil {
			return err
		}
		channels := make([]*chime.Channel, len(page.Items))
		for i := range page.Items {
			channels[i] = &page.Items[i].Channel
		}
		return seenBy(tx, c.Bearer, channels...)
	})
	return page.Items, s.token("ListChannelMembershipsForAppInstanceUser", filter, page.Next), err
}

// DescribeChannelMembershipForAppInstanceUser returns a user's membership in a
// channel with the channel's summary (its last message the bearer's, seenBy). Errors: Unauthorized, Forbidden, NotFound.
func (s *Service) DescribeChannelMembershipForAppInstanceUser(ctx context.Context, c chime.Caller, channelArn, userArn string) (chime.UserMembership, error) {
	var um chime.UserMembership
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		u, err := s.forUser(tx, c, chime.AppInstanceOf(channelArn), userArn)
		if err != nil {
			return err
		}
		if _, err = s.channel(tx, channelArn); err != nil {
			return err
		}
		um, err = tx.GetUserMembership(channelArn, u.Arn)
		if err != nil {
			return notFoundAs(err, "%s is not a member of %s.", u.Arn, channelArn)
		}
		return seenBy(tx, c.Bearer, &um.Channel)
	})
	return um, err
}

// subChannelCreateEvent is the CREATE_CHANNEL_MEMBERSHIP of a member a batch
// added to a subchannel, to the subchannel's members (the new one included).
// A subchannel's members are read once per batch and extended with each
// member added: reading them for every member cost O(members of the
// subchannel) per member (84 % of the CPU of filling an elastic channel,
// BENCHMARKS.md). Every event's recipients share the list's array, each up
// to its own length.
func subChannelCreateEvent(tx *store.Tx, m chime.Membership, lists map[string][]string) (chime.Event, error) {
	list, ok := lists[m.SubChannelID]
	if ok {
		list = append(list, m.Member.Arn)
	} else {
		var err error
		if list, err = tx.MemberArnsIn(m.ChannelArn, m.SubChannelID); err != nil { // m included: it is inserted
			return chime.Event{}, err
		}
	}
	lists[m.SubChannelID] = list
	return chime.Event{Type: chime.EventCreateChannelMembership, MessageType: "SYSTEM", ChannelArn: m.ChannelArn,
		Payload: membershipPayload(m), Recipients: list[:len(list):len(list)]}, nil
}
