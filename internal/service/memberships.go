package service

import (
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// errSubChannel answers a SubChannelId until elastic channels exist.
func errSubChannel() error {
	return chime.Errorf(chime.KindBadRequest, "SubChannelId applies only to elastic channels, which this server does not support yet.")
}

// addMember adds u to ch unless a ban or a quota stops it. An existing
// membership is left as it stands (rule D1); a banned user is Forbidden (rule D2).
// It reports whether a membership was created.
func (s *Service) addMember(tx *store.Tx, ch chime.Channel, u chime.AppInstanceUser, typ string, by chime.Identity, now time.Time) (bool, error) {
	if _, err := tx.GetMembership(ch.Arn, u.Arn); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if _, err := tx.GetBan(ch.Arn, u.Arn); err == nil {
		return false, forbidden("%s is banned from this channel.", u.Arn)
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	// The channel is locked by the transaction; the per-user quota needs the user locked too.
	if err := tx.LockIdentity(u.Arn); err != nil {
		return false, err
	}
	n, err := tx.CountMemberships(ch.Arn)
	if err != nil {
		return false, err
	}
	if n >= s.quotas.MembershipsPerChannel {
		return false, limitExceeded("memberships per channel", s.quotas.MembershipsPerChannel)
	}
	if n, err = tx.CountUserMemberships(u.Arn); err != nil {
		return false, err
	}
	if n >= s.quotas.MembershipsPerUser {
		return false, limitExceeded("channel memberships per app instance user", s.quotas.MembershipsPerUser)
	}
	m := chime.Membership{ChannelArn: ch.Arn, Member: identityOf(u), Type: typ, InvitedBy: by, Created: now, Updated: now}
	return tx.InsertMembership(m) // false: a concurrent add won the race (rule D1)
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
// BadRequest (SubChannelId), ResourceLimitExceeded.
func (s *Service) CreateChannelMembership(ctx context.Context, c chime.Caller, in CreateChannelMembershipInput) (chime.Membership, error) {
	var m chime.Membership
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		r, err := s.roleIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		if in.SubChannelID != "" {
			return errSubChannel()
		}
		if err := r.canAdd(in.MemberArn, in.Type); err != nil {
			return err
		}
		u, err := s.memberIdentity(tx, r.channel.AppInstanceArn, in.MemberArn)
		if err != nil {
			return err
		}
		added, err := s.addMember(tx, r.channel, u, in.Type, identityOf(r.bearer), s.clock())
		if err != nil {
			return err
		}
		if m, err = tx.GetMembership(in.ChannelArn, in.MemberArn); err != nil || !added {
			return err // D1: an existing membership is returned as it stands, with no event
		}
		ev, err := membershipEvent(tx, chime.EventCreateChannelMembership, m)
		events = append(events, ev)
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
	InvitedBy chime.Identity
	Type      string
	Members   []chime.Identity
	Errors    []BatchError
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
		res = BatchResult{Type: typ}
		events = nil
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if subChannelID != "" {
			return errSubChannel()
		}
		res.InvitedBy = identityOf(r.bearer)
		// The bearer's right to add at all is checked once: a call it may not make fails whole.
		// A non-member of a PRIVATE channel may add no one, not even themself (rule D9).
		outsider := !r.member && !r.privileged() && r.channel.Privacy == chime.PrivacyPrivate
		if r.banned || outsider || (typ == chime.MembershipHidden && !r.privileged()) || (r.channel.Mode == chime.ModeRestricted && !r.privileged()) {
			return r.canAdd("", typ)
		}
		now := s.clock()
		seen := map[string]bool{}
		var newMembers []string
		for _, arn := range memberArns {
			if seen[arn] {
				continue
			}
			seen[arn] = true
			u, added, err := s.addOne(tx, r, arn, typ, now)
			if err == nil {
				res.Members = append(res.Members, identityOf(u))
				if added {
					newMembers = append(newMembers, u.Arn)
				}
				continue
			}
			code, ok := batchCodes[chime.KindOf(err)]
			if !ok {
				return err
			}
			res.Errors = append(res.Errors, BatchError{MemberArn: arn, Code: code, Message: err.Error()})
		}
		if len(newMembers) == 0 {
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

func (s *Service) addOne(tx *store.Tx, r role, arn, typ string, now time.Time) (chime.AppInstanceUser, bool, error) {
	if err := r.canAdd(arn, typ); err != nil {
		return chime.AppInstanceUser{}, false, err
	}
	u, err := s.memberIdentity(tx, r.channel.AppInstanceArn, arn)
	if err != nil {
		return u, false, err
	}
	added, err := s.addMember(tx, r.channel, u, typ, identityOf(r.bearer), now)
	return u, added, err
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
		if subChannelID != "" {
			return errSubChannel()
		}
		if err := r.canRead(); err != nil {
			return err
		}
		m, err = tx.GetMembership(channelArn, memberArn)
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
		if subChannelID != "" {
			return errSubChannel()
		}
		if memberArn != r.bearer.Arn {
			if err := r.canModerate(); err != nil {
				return forbidden("Only moderators of this channel and app instance admins can remove other members.")
			}
		}
		ev, err := s.removeMember(tx, channelArn, memberArn)
		if err == nil && ev == nil {
			return chime.Errorf(chime.KindNotFound, "%s is not a member of %s.", memberArn, channelArn)
		}
		if ev != nil {
			events = append(events, *ev)
		}
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return err
}

// removeMember deletes a membership and returns the event that tells of it,
// nil when there was none.
func (s *Service) removeMember(tx *store.Tx, channelArn, memberArn string) (*chime.Event, error) {
	m, err := tx.GetMembership(channelArn, memberArn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The removed member is told too: recipients are taken before the delete.
	ev, err := membershipEvent(tx, chime.EventDeleteChannelMembership, m)
	if err != nil {
		return nil, err
	}
	if _, err := tx.DeleteMembership(channelArn, memberArn); err != nil {
		return nil, err
	}
	return &ev, nil
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
	filter := in.ChannelArn + "|" + in.Type
	var page store.Page[chime.Membership]
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		if in.SubChannelID != "" {
			return errSubChannel()
		}
		if err := r.canRead(); err != nil {
			return err
		}
		if in.Type == chime.MembershipHidden && !r.privileged() {
			return forbidden("Only moderators and app instance admins can list HIDDEN members.")
		}
		after, err := s.after("ListChannelMemberships", filter, in.PageRequest)
		if err != nil {
			return err
		}
		page, err = tx.ListMemberships(in.ChannelArn, in.Type, after, in.limit())
		return err
	})
	return page.Items, s.token("ListChannelMemberships", filter, page.Next), err
}

// forUser resolves the user a *ForAppInstanceUser or *ModeratedByAppInstanceUser
// call is about: the bearer for themself, anyone of the app instance for its admins.
func (s *Service) forUser(tx *store.Tx, c chime.Caller, userArn string) (chime.AppInstanceUser, error) {
	b, err := s.bearer(tx, c, "")
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
// with their membership, in the order the user joined.
// Errors: Unauthorized, Forbidden, NotFound, BadRequest (token).
func (s *Service) ListChannelMembershipsForAppInstanceUser(ctx context.Context, c chime.Caller, userArn string, pr PageRequest) ([]chime.UserMembership, *string, error) {
	var page store.Page[chime.UserMembership]
	var filter string
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		u, err := s.forUser(tx, c, userArn)
		if err != nil {
			return err
		}
		filter = u.Arn
		after, err := s.after("ListChannelMembershipsForAppInstanceUser", filter, pr)
		if err != nil {
			return err
		}
		page, err = tx.ListUserMemberships(u.Arn, after, pr.limit())
		return err
	})
	return page.Items, s.token("ListChannelMembershipsForAppInstanceUser", filter, page.Next), err
}

// DescribeChannelMembershipForAppInstanceUser returns a user's membership in a
// channel with the channel's summary. Errors: Unauthorized, Forbidden, NotFound.
func (s *Service) DescribeChannelMembershipForAppInstanceUser(ctx context.Context, c chime.Caller, channelArn, userArn string) (chime.UserMembership, error) {
	var um chime.UserMembership
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		u, err := s.forUser(tx, c, userArn)
		if err != nil {
			return err
		}
		ch, err := s.channel(tx, channelArn)
		if err != nil {
			return err
		}
		if ch.AppInstanceArn != u.AppInstanceArn { // a bearer of another app instance (rule D5)
			return chime.Errorf(chime.KindUnauthorized, chime.MsgInvalidBearer)
		}
		um, err = tx.GetUserMembership(channelArn, u.Arn)
		return notFoundAs(err, "%s is not a member of %s.", u.Arn, channelArn)
	})
	return um, err
}
