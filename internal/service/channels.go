package service

import (
	"context"
	"slices"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// CreateChannelInput is the input of CreateChannel.
type CreateChannelInput struct {
	AppInstanceArn     string
	Name               string
	Mode               string // UNRESTRICTED when ""
	Privacy            string // PUBLIC when ""
	Metadata           string
	ChannelID          string // a UUID when ""
	ClientRequestToken string
	MemberArns         []string
	ModeratorArns      []string
	Tags               []chime.Tag
	Expiration         *chime.ExpirationSettings
	Elastic            *chime.ElasticConfig // an elastic channel when set
}

// CreateChannel creates a channel; the bearer becomes member and moderator,
// MemberArns members and ModeratorArns moderators. Errors: Unauthorized,
// NotFound (app instance), Forbidden (a listed ARN is not a user or bot of
// the app instance), Conflict (ChannelId taken, token reuse), ResourceLimitExceeded.
func (s *Service) CreateChannel(ctx context.Context, c chime.Caller, in CreateChannelInput) (string, error) {
	if in.Mode == "" && in.Elastic == nil {
		in.Mode = chime.ModeUnrestricted
	}
	if in.Privacy == "" {
		in.Privacy = chime.PrivacyPublic
	}
	var arn string
	req := in
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		// Each run starts from the request as sent: checkElastic sets its
		// Mode, and a run again (store.Write) would otherwise fingerprint
		// the changed request for its ClientRequestToken.
		in := req
		// Creates in one app instance wait for each other (PostgreSQL), so
		// that the channel quota below holds across nodes; and for
		// DeleteAppInstance, so that the bearer read next is current.
		if err := tx.LockAppInstance(in.AppInstanceArn); err != nil {
			return err
		}
		// A bearer of another app instance is a 401 whether or not
		// AppInstanceArn exists (D5); a user's app instance exists.
		b, err := s.bearer(tx, c, in.AppInstanceArn)
		if err != nil {
			return err
		}
		scope := in.AppInstanceArn + "/CreateChannel:" + b.Arn
		// MemberArns and ModeratorArns name sets: all are added at one
		// instant, which rule D7 would list by ARN, so a replay with them in
		// another order is the same request.
		params := in
		params.MemberArns, params.ModeratorArns, params.Tags = sortedStrings(in.MemberArns), sortedStrings(in.ModeratorArns), sortedTags(in.Tags)
		prev, fp, err := s.replay(tx, scope, in.ClientRequestToken, in, params)
		if err != nil || prev != "" {
			arn = prev
			return err
		}
		if in.Elastic != nil {
			if err := s.checkElastic(tx, &in); err != nil {
				return err
			}
		}
		n, err := tx.CountChannels(in.AppInstanceArn)
		if err != nil {
			return err
		}
		if n >= s.quotas.ChannelsPerAppInstance {
			return limitExceeded("channels per app instance", s.quotas.ChannelsPerAppInstance)
		}
		id := in.ChannelID
		if id == "" {
			id = newUUID()
		}
		a, _ := chime.ParseARN(in.AppInstanceArn)
		arn = a.Child(chime.ArnChannel, id)
		now := s.clock()
		ch := chime.Channel{Arn: arn, AppInstanceArn: in.AppInstanceArn, Name: in.Name, Mode: in.Mode, Privacy: in.Privacy,
			Metadata: in.Metadata, CreatedBy: identityOf(b), Created: now, Updated: now, Expiration: in.Expiration, Elastic: in.Elastic}
		if err := tx.InsertChannel(ch); err != nil {
			if chime.KindOf(err) == chime.KindConflict {
				return chime.Errorf(chime.KindConflict, "The channel %s already exists.", arn)
			}
			return err
		}
		// The creator becomes member and moderator; of an elastic channel,
		// moderator only. All are created at one instant: by ARN (rule D7).
		members := slices.Sorted(slices.Values(append([]string{b.Arn}, in.MemberArns...)))
		if in.Elastic != nil {
			members = nil
		}
		moderators := slices.Sorted(slices.Values(append([]string{b.Arn}, in.ModeratorArns...)))
		if err := lockMembers(tx, members...); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, m := range members {
			if seen[m] {
				continue
			}
			seen[m] = true
			u, err := s.memberIdentity(tx, in.AppInstanceArn, m)
			if err != nil {
				return err
			}
			if _, err := s.addMember(tx, ch, u, chime.MembershipDefault, identityOf(b), now, ""); err != nil {
				return err
			}
		}
		seen = map[string]bool{}
		for _, m := range moderators {
			if seen[m] {
				continue
			}
			seen[m] = true
			if len(seen) > s.quotas.ModeratorsPerChannel { // as CreateChannelModerator counts
				return limitExceeded("moderators per channel", s.quotas.ModeratorsPerChannel)
			}
			u, err := s.memberIdentity(tx, in.AppInstanceArn, m)
			if err != nil {
				return err
			}
			if err := tx.InsertModerator(chime.Moderator{ChannelArn: arn, Moderator: identityOf(u), CreatedBy: identityOf(b), Created: now}); err != nil {
				return err
			}
		}
		if err := s.putTags(tx, arn, in.Tags); err != nil {
			return err
		}
		return s.remember(tx, scope, in.ClientRequestToken, fp, arn)
	})
	return arn, err
}

// DescribeChannel returns a channel to its members, moderators and admins,
// and PUBLIC channels to anyone of the app instance. Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) DescribeChannel(ctx context.Context, c chime.Caller, arn string) (chime.Channel, error) {
	var ch chime.Channel
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, arn)
		if err != nil {
			return err
		}
		ch = r.channel
		return r.canRead()
	})
	return ch, err
}

// seenBy sets each channel's LastMessage to the time of the last persistent
// message viewer sees in it, as a ChannelSummary shows it (SEMANTICS.md §4,
// §6): the channel's last untargeted message (in an elastic channel, that of
// viewer's subchannel unless viewer moderates the channel or administers its
// app instance), or the last targeted one viewer sent or received, if later.
// One read for all of them, and none when no channel is elastic and viewer
// never sent or received a targeted message: then each channel's own is
// the one it sees. DescribeChannel shows the channel's own always.
func seenBy(tx *store.Tx, viewer string, channels ...*chime.Channel) error {
	var need []*chime.Channel
	checked, targeted := false, false
	for _, c := range channels {
		if c.Elastic == nil {
			if !checked {
				var err error
				if targeted, err = tx.SawTargeted(viewer); err != nil {
					return err
				}
				checked = true
			}
			if !targeted {
				continue
			}
		}
		need = append(need, c)
	}
	if len(need) == 0 {
		return nil
	}
	arns := make([]string, len(need))
	for i, c := range need {
		arns[i] = c.Arn
	}
	seen, err := tx.LastMessagesSeen(viewer, arns)
	if err != nil {
		return err
	}
	for _, c := range need {
		c.LastMessage = nil
		if t, ok := seen[c.Arn]; ok {
			c.LastMessage = &t
		}
	}
	return nil
}

// channelsOf points at each of a page's channels.
func channelsOf(items []chime.Channel) []*chime.Channel {
	out := make([]*chime.Channel, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// ListChannelsInput is the input of ListChannels.
type ListChannelsInput struct {
	AppInstanceArn string
	Privacy        string // PUBLIC when ""
	PageRequest
}

// ListChannels pages through an app instance's PUBLIC channels, or its
// PRIVATE ones for an AppInstanceAdmin, each with the last message the
// bearer sees in it (seenBy). Errors: Unauthorized, NotFound, Forbidden, BadRequest (token).
func (s *Service) ListChannels(ctx context.Context, c chime.Caller, in ListChannelsInput) ([]chime.Channel, *string, error) {
	if in.Privacy == "" {
		in.Privacy = chime.PrivacyPublic
	}
	filter := in.AppInstanceArn + "|" + in.Privacy
	var page store.Page[chime.Channel]
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		// A bearer of another app instance is a 401 whether or not
		// AppInstanceArn exists (D5); a user's app instance exists.
		b, err := s.bearer(tx, c, in.AppInstanceArn)
		if err != nil {
			return err
		}
		if in.Privacy == chime.PrivacyPrivate {
			admin, err := tx.IsAdmin(in.AppInstanceArn, b.Arn)
			if err != nil {
				return err
			}
			if !admin {
				return forbidden("Only an AppInstanceAdmin can list PRIVATE channels.")
			}
		}
		after, err := s.after("ListChannels", filter, in.PageRequest)
		if err != nil {
			return err
		}
		if page, err = tx.ListChannels(in.AppInstanceArn, in.Privacy, after, in.limit()); err != nil {
			return err
		}
		return seenBy(tx, b.Arn, channelsOf(page.Items)...)
	})
	return page.Items, s.token("ListChannels", filter, page.Next), err
}

// UpdateChannelInput is the input of UpdateChannel; nil fields stay as they are.
type UpdateChannelInput struct {
	ChannelArn string
	Name       *string
	Mode       *string
	Metadata   *string
}

// UpdateChannel changes a channel's name, mode or metadata; moderators and
// admins only. Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) UpdateChannel(ctx context.Context, c chime.Caller, in UpdateChannelInput) error {
	var ev chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		r, err := s.moderatorIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		ch := r.channel
		if in.Name != nil {
			ch.Name = *in.Name
		}
		if in.Mode != nil {
			if ch.Elastic != nil && *in.Mode != chime.ModeRestricted {
				return chime.Errorf(chime.KindBadRequest, "An elastic channel must stay RESTRICTED.")
			}
			ch.Mode = *in.Mode
		}
		if in.Metadata != nil {
			ch.Metadata = *in.Metadata
		}
		ch.Updated = s.clock()
		if err := tx.UpdateChannel(ch); err != nil {
			return err
		}
		ev, err = channelEvent(tx, chime.EventUpdateChannel, ch)
		return err
	})
	if err == nil {
		s.publish(ctx, []chime.Event{ev})
	}
	return err
}

// DeleteChannel deletes a channel with its memberships, moderators and bans;
// moderators and admins only. Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) DeleteChannel(ctx context.Context, c chime.Caller, arn string) error {
	var ev chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		// The app instance counts one channel less: its row is locked before
		// the channel's, in the order of those who create (store.LockAppInstance).
		if err := tx.LockAppInstance(chime.AppInstanceOf(arn)); err != nil {
			return err
		}
		r, err := s.moderatorIn(tx, c, arn)
		if err != nil {
			return err
		}
		if ev, err = channelEvent(tx, chime.EventDeleteChannel, r.channel); err != nil {
			return err
		}
		return tx.DeleteChannel(arn)
	})
	if err == nil {
		s.publish(ctx, []chime.Event{ev})
	}
	return err
}
