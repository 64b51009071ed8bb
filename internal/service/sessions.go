package service

import (
	"context"
	"errors"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// Prefetch limits of a messaging session (SEMANTICS.md §9 and §10).
const (
	PrefetchChannels    = 50
	PrefetchMessages    = 20
	PrefetchMemberships = 30
)

// Prefetch orders (the prefetch-sort-by connect parameter).
const (
	PrefetchSortUnread      = "unread"
	PrefetchSortLastMessage = "last-message-timestamp"
)

// SessionUser resolves the userArn of a messaging session connect: it must
// be an existing app instance user or bot. Errors: Unauthorized.
func (s *Service) SessionUser(ctx context.Context, userArn string) (chime.AppInstanceUser, error) {
	var u chime.AppInstanceUser
	if !lookupable(userArn) {
		return u, unknownSessionUser(userArn, store.ErrNotFound)
	}
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.GetIdentity(userArn)
		return unknownSessionUser(userArn, err)
	})
	return u, err
}

func unknownSessionUser(userArn string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return chime.Errorf(chime.KindUnauthorized, "The userArn %q is not an existing app instance user or bot.", userArn)
	}
	return err
}

type wsMemberSummary struct {
	Member *wsIdentity `json:"Member"`
}

type wsChannelDetails struct {
	Channel                wsChannelSummary   `json:"Channel"`
	ChannelMessages        []wsMessageSummary `json:"ChannelMessages"`
	ChannelMemberships     []wsMemberSummary  `json:"ChannelMemberships"`
	ReadMarkerTimestamp    *string            `json:"ReadMarkerTimestamp,omitempty"`
	ChannelMessagesHasMore bool               `json:"ChannelMessagesHasMore"`
}

// Prefetch returns the CHANNEL_DETAILS events a session that connects with
// prefetch-on=connect receives (SEMANTICS.md §10): up to 50 of the user's
// channels, ordered by sortBy (PrefetchSortUnread, the default, or
// PrefetchSortLastMessage), each with its latest 20 messages the user may
// see (newest first, ChannelMessagesHasMore when there are more), up to 30
// DEFAULT memberships and the user's read marker.
// Errors: Unauthorized (unknown user).
func (s *Service) Prefetch(ctx context.Context, userArn, sortBy string) ([]chime.Event, error) {
	// A store read is not cut by ctx; a client that has gone (ctx done)
	// stops the prefetch between reads.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var picked []chime.UserMembership
	details := map[string]*wsChannelDetails{}
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetIdentity(userArn); err != nil {
			return unknownSessionUser(userArn, err)
		}
		var err error
		if picked, err = tx.PrefetchChannels(userArn, sortBy != PrefetchSortLastMessage, PrefetchChannels); err != nil {
			return err
		}
		for _, um := range picked {
			d := &wsChannelDetails{Channel: channelSummary(um.Channel), ChannelMessages: []wsMessageSummary{}, ChannelMemberships: []wsMemberSummary{},
				ReadMarkerTimestamp: isoTimePtr(um.Membership.ReadMarker)}
			page, err := tx.ListMemberships(um.Channel.Arn, um.Membership.SubChannelID, chime.MembershipDefault, 0, PrefetchMemberships)
			if err != nil {
				return err
			}
			for _, m := range page.Items {
				d.ChannelMemberships = append(d.ChannelMemberships, wsMemberSummary{Member: wsID(m.Member)})
			}
			details[um.Channel.Arn] = d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	events := make([]chime.Event, 0, len(picked))
	for _, um := range picked {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d := details[um.Channel.Arn]
		// The history is read as the user reads it, through ListChannelMessages,
		// so its visibility rules (targeted messages, redaction) hold here too.
		msgs, _, next, err := s.ListChannelMessages(ctx, chime.Caller{Bearer: userArn},
			ListChannelMessagesInput{ChannelArn: um.Channel.Arn, SubChannelID: um.Membership.SubChannelID, PageRequest: PageRequest{MaxResults: PrefetchMessages}})
		switch {
		case chime.KindOf(err) == chime.KindNotFound || chime.KindOf(err) == chime.KindForbidden:
			continue // the channel or the membership went away since it was picked
		case err != nil:
			return nil, err
		}
		for _, m := range msgs {
			d.ChannelMessages = append(d.ChannelMessages, messageSummary(m))
		}
		d.ChannelMessagesHasMore = next != nil
		events = append(events, chime.Event{Type: chime.EventChannelDetails, MessageType: "SYSTEM", ChannelArn: um.Channel.Arn,
			Recipients: []string{userArn}, Payload: d})
	}
	return events, nil
}
