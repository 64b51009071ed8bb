package service

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

const day = 24 * time.Hour

// Retention is an app instance's message retention.
type Retention struct {
	Days        int        // 0: messages are kept forever
	InitiatedAt *time.Time // when the settings were put
}

// PutAppInstanceRetentionSettings sets (days > 0) or removes (0) how long an
// app instance keeps its channels' messages. Errors: NotFound.
func (s *Service) PutAppInstanceRetentionSettings(ctx context.Context, appInstance string, days int) (Retention, error) {
	now := s.clock()
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		return tx.SetRetention(appInstance, days, now)
	})
	return Retention{Days: days, InitiatedAt: &now}, err
}

// GetAppInstanceRetentionSettings returns an app instance's retention. Errors: NotFound.
func (s *Service) GetAppInstanceRetentionSettings(ctx context.Context, appInstance string) (Retention, error) {
	var r Retention
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		var err error
		r.Days, r.InitiatedAt, err = tx.Retention(appInstance)
		return err
	})
	return r, err
}

// PutChannelExpirationSettings sets or removes (nil) when a channel expires.
// With a bearer, only the channel's moderators and admins may; without one
// the call is an administrator's. Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) PutChannelExpirationSettings(ctx context.Context, c chime.Caller, channelArn string, e *chime.ExpirationSettings) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		if c.Bearer != "" {
			if _, err := s.moderatorIn(tx, c, channelArn); err != nil {
				return err
			}
		} else if _, err := s.channel(tx, channelArn); err != nil {
			return err
		}
		return tx.SetChannelExpiration(channelArn, e)
	})
}

// PutAppInstanceUserExpirationSettings sets or removes (nil) when a user
// expires. Errors: NotFound.
func (s *Service) PutAppInstanceUserExpirationSettings(ctx context.Context, userArn string, e *chime.ExpirationSettings) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.identity(tx, chime.KindUser, userArn); err != nil {
			return err
		}
		return tx.SetIdentityExpiration(userArn, e)
	})
}

// Reaped counts what one reaper pass deleted.
type Reaped struct {
	Messages int64
	Channels int
	Users    int
}

// Reap deletes, as of the service clock, the messages older than their app
// instance's retention, the channels past their expiration (telling their
// members) and the users past theirs (as DeleteAppInstanceUser does).
func (s *Service) Reap(ctx context.Context) (Reaped, error) {
	var out Reaped
	var events []chime.Event
	now := s.clock()
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		out, events = Reaped{}, nil
		retention, err := tx.AppInstancesWithRetention()
		if err != nil {
			return err
		}
		// In one order on every node (as the channels and users below): two
		// reapers of one PostgreSQL store then lock in the same order.
		for _, ai := range slices.Sorted(maps.Keys(retention)) {
			days := retention[ai]
			n, err := tx.DeleteMessagesBefore(ai, now.Add(-time.Duration(days)*day))
			if err != nil {
				return err
			}
			out.Messages += n
		}
		// What has expired, then its locks (PostgreSQL) in the order every
		// writer takes them: app instances (CreateChannel locks its app
		// instance before its members), then users and bots (an add locks
		// its members before their channel), then channels; each kind sorted.
		// So neither an add nor another node's reaper holds one of them while
		// waiting for this reaper, which waits for it.
		users, err := tx.ExpiringIdentities()
		if err != nil {
			return err
		}
		users = slices.DeleteFunc(users, func(u chime.AppInstanceUser) bool {
			return now.Before(u.Created.Add(time.Duration(u.Expiration.ExpirationDays) * day))
		})
		channels, err := tx.ExpiringChannels()
		if err != nil {
			return err
		}
		channels = slices.DeleteFunc(channels, func(ch store.ExpiringChannel) bool {
			// The last persistent message of any kind counts, targeted ones
			// and those of every subchannel included: a channel whose members
			// talk only in targeted messages is not idle.
			from := ch.Created
			if ch.Expiration.ExpirationCriterion == "LAST_MESSAGE_TIMESTAMP" && ch.LastActivity != nil {
				from = *ch.LastActivity
			}
			return now.Before(from.Add(time.Duration(ch.Expiration.ExpirationDays) * day))
		})
		apps := map[string]bool{}
		userArns := make([]string, 0, len(users))
		for _, u := range users {
			apps[u.AppInstanceArn] = true
			userArns = append(userArns, u.Arn)
		}
		for _, ch := range channels {
			apps[ch.AppInstanceArn] = true
		}
		// Each deletion counts one user, bot or channel less on its app instance.
		for _, ai := range slices.Sorted(maps.Keys(apps)) {
			if err := tx.LockAppInstance(ai); err != nil {
				return err
			}
		}
		if err := tx.LockIdentities(userArns); err != nil {
			return err
		}
		for _, u := range users {
			removed, err := s.removeIdentity(tx, u.Kind, u.Arn)
			if err != nil {
				return err
			}
			events = append(events, removed...)
			out.Users++
		}
		for _, ch := range channels {
			ev, err := channelEvent(tx, chime.EventDeleteChannel, ch.Channel)
			if err != nil {
				return err
			}
			events = append(events, ev)
			if err := tx.DeleteChannel(ch.Arn); err != nil {
				return err
			}
			out.Channels++
		}
		return nil
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return out, err
}

// RunReaper runs Reap every interval until ctx ends.
func (s *Service) RunReaper(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Reap(ctx); err != nil {
				log.Error("reaper", "err", err)
			} else if n != (Reaped{}) {
				log.Info("reaper", "messages", n.Messages, "channels", n.Channels, "users", n.Users)
			}
		}
	}
}
