package service

import (
	"context"
	"errors"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// CreateChannelModerator makes a user or bot of the app instance a moderator;
// moderators and admins only. Making an existing moderator again returns it
// as it stands. A banned user cannot be made moderator. In an elastic
// channel, promotion resets the user's subchannel memberships.
// Errors: Unauthorized, NotFound, Forbidden, ResourceLimitExceeded.
func (s *Service) CreateChannelModerator(ctx context.Context, c chime.Caller, channelArn, moderatorArn string) (chime.Identity, error) {
	var id chime.Identity
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		// The user before the channel, as an add locks them: a deletion of
		// the user then either comes first (it is not found) or waits and
		// deletes the moderator role made here.
		if err := lockMembers(tx, moderatorArn); err != nil {
			return err
		}
		r, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		u, err := s.memberIdentity(tx, r.channel.AppInstanceArn, moderatorArn)
		if err != nil {
			return err
		}
		id = identityOf(u)
		if _, err := tx.GetModerator(channelArn, moderatorArn); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := tx.GetBan(channelArn, moderatorArn); err == nil {
			return forbidden("%s is banned from this channel.", moderatorArn)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n, err := tx.CountModerators(channelArn)
		if err != nil {
			return err
		}
		if n >= s.quotas.ModeratorsPerChannel {
			return limitExceeded("moderators per channel", s.quotas.ModeratorsPerChannel)
		}
		if r.channel.Elastic != nil {
			if events, err = s.removeMember(tx, r.channel, moderatorArn, ""); err != nil {
				return err
			}
		}
		return tx.InsertModerator(chime.Moderator{ChannelArn: channelArn, Moderator: id, CreatedBy: identityOf(r.bearer), Created: s.clock()})
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return id, err
}

// DescribeChannelModerator returns a moderator; moderators and admins only.
// Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) DescribeChannelModerator(ctx context.Context, c chime.Caller, channelArn, moderatorArn string) (chime.Moderator, error) {
	var m chime.Moderator
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		_, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		m, err = tx.GetModerator(channelArn, moderatorArn)
		return notFoundAs(err, "%s is not a moderator of %s.", moderatorArn, channelArn)
	})
	return m, err
}

// ListChannelModerators pages through a channel's moderators; moderators and
// admins only. Errors: Unauthorized, NotFound, Forbidden, BadRequest (token).
func (s *Service) ListChannelModerators(ctx context.Context, c chime.Caller, channelArn string, pr PageRequest) ([]chime.Moderator, *string, error) {
	var page store.Page[chime.Moderator]
	var filter string
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		filter = r.channelKey()
		after, err := s.after("ListChannelModerators", filter, pr)
		if err != nil {
			return err
		}
		page, err = tx.ListModerators(channelArn, after, pr.limit())
		return err
	})
	return page.Items, s.token("ListChannelModerators", filter, page.Next), err
}

// DeleteChannelModerator removes a moderator; moderators and admins only.
// The membership, if any, stays — except in an elastic channel, where
// demotion resets the user's subchannel memberships.
// Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) DeleteChannelModerator(ctx context.Context, c chime.Caller, channelArn, moderatorArn string) error {
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		r, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if r.channel.Elastic != nil {
			if _, err := tx.GetModerator(channelArn, moderatorArn); err == nil {
				if events, err = s.removeMember(tx, r.channel, moderatorArn, ""); err != nil {
					return err
				}
			}
		}
		ok, err := tx.DeleteModerator(channelArn, moderatorArn)
		if err == nil && !ok {
			return chime.Errorf(chime.KindNotFound, "%s is not a moderator of %s.", moderatorArn, channelArn)
		}
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return err
}

// ListChannelsModeratedByAppInstanceUser pages through the channels a user
// moderates: the bearer's own, or anyone's for an AppInstanceAdmin; each
// with the last message the bearer sees in it (seenBy).
// Errors: Unauthorized, Forbidden, NotFound, BadRequest (token).
func (s *Service) ListChannelsModeratedByAppInstanceUser(ctx context.Context, c chime.Caller, userArn string, pr PageRequest) ([]chime.Channel, *string, error) {
	var page store.Page[chime.Channel]
	var filter string
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		u, err := s.forUser(tx, c, "", userArn)
		if err != nil {
			return err
		}
		filter = userKey(u)
		after, err := s.after("ListChannelsModeratedByAppInstanceUser", filter, pr)
		if err != nil {
			return err
		}
		if page, err = tx.ListModeratedChannels(u.Arn, after, pr.limit()); err != nil {
			return err
		}
		return seenBy(tx, c.Bearer, channelsOf(page.Items)...)
	})
	return page.Items, s.token("ListChannelsModeratedByAppInstanceUser", filter, page.Next), err
}

// DescribeChannelModeratedByAppInstanceUser returns a channel the user
// moderates, with the last message the bearer sees in it (seenBy); elastic channels do not support it (SEMANTICS.md §6).
// Errors: Unauthorized, Forbidden, NotFound, BadRequest (elastic channel).
func (s *Service) DescribeChannelModeratedByAppInstanceUser(ctx context.Context, c chime.Caller, channelArn, userArn string) (chime.Channel, error) {
	var ch chime.Channel
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		u, err := s.forUser(tx, c, chime.AppInstanceOf(channelArn), userArn)
		if err != nil {
			return err
		}
		if ch, err = s.channel(tx, channelArn); err != nil {
			return err
		}
		if ch.Elastic != nil {
			return chime.Errorf(chime.KindBadRequest, "DescribeChannelModeratedByAppInstanceUser is not supported in elastic channels.")
		}
		if _, err = tx.GetModerator(channelArn, u.Arn); err != nil {
			return notFoundAs(err, "%s is not a moderator of %s.", u.Arn, channelArn)
		}
		return seenBy(tx, c.Bearer, &ch)
	})
	return ch, err
}

// CreateChannelBan bans a user or bot from a channel and removes their
// membership; moderators and admins only. Admins of the app instance and
// moderators of the channel cannot be banned. Banning again returns the ban
// as it stands. Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) CreateChannelBan(ctx context.Context, c chime.Caller, channelArn, memberArn string) (chime.Identity, error) {
	var id chime.Identity
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		// Under the app instance's lock, which CreateAppInstanceAdmin takes
		// too: a ban and a promotion of the same user on two nodes cannot
		// both pass, leaving a banned admin.
		if err := tx.LockAppInstance(chime.AppInstanceOf(channelArn)); err != nil {
			return err
		}
		r, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		u, err := s.memberIdentity(tx, r.channel.AppInstanceArn, memberArn)
		if err != nil {
			return err
		}
		id = identityOf(u)
		if admin, err := tx.IsAdmin(r.channel.AppInstanceArn, memberArn); err != nil {
			return err
		} else if admin {
			return forbidden("An AppInstanceAdmin cannot be banned.")
		}
		if _, err := tx.GetModerator(channelArn, memberArn); err == nil {
			return forbidden("A moderator of the channel cannot be banned.")
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := tx.GetBan(channelArn, memberArn); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// A ban kicks the member out (of every subchannel): the removal is told like a leave.
		removed, err := s.removeMember(tx, r.channel, memberArn, "")
		if err != nil {
			return err
		}
		events = append(events, removed...)
		return tx.InsertBan(chime.Ban{ChannelArn: channelArn, Member: id, CreatedBy: identityOf(r.bearer), Created: s.clock()})
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return id, err
}

// DescribeChannelBan returns a ban; moderators and admins only.
// Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) DescribeChannelBan(ctx context.Context, c chime.Caller, channelArn, memberArn string) (chime.Ban, error) {
	var b chime.Ban
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		_, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		b, err = tx.GetBan(channelArn, memberArn)
		return notFoundAs(err, "%s is not banned from %s.", memberArn, channelArn)
	})
	return b, err
}

// ListChannelBans pages through a channel's bans; moderators and admins only.
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (token).
func (s *Service) ListChannelBans(ctx context.Context, c chime.Caller, channelArn string, pr PageRequest) ([]chime.Ban, *string, error) {
	var page store.Page[chime.Ban]
	var filter string
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.moderatorIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		filter = r.channelKey()
		after, err := s.after("ListChannelBans", filter, pr)
		if err != nil {
			return err
		}
		page, err = tx.ListBans(channelArn, after, pr.limit())
		return err
	})
	return page.Items, s.token("ListChannelBans", filter, page.Next), err
}

// DeleteChannelBan lifts a ban; moderators and admins only.
// Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) DeleteChannelBan(ctx context.Context, c chime.Caller, channelArn, memberArn string) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.moderatorIn(tx, c, channelArn); err != nil {
			return err
		}
		ok, err := tx.DeleteBan(channelArn, memberArn)
		if err == nil && !ok {
			return chime.Errorf(chime.KindNotFound, "%s is not banned from %s.", memberArn, channelArn)
		}
		return err
	})
}
