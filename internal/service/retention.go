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
		// What to do is read first, without locks; then the rows it
		// concerns are locked (PostgreSQL) in the order every writer takes
		// them: app instances (CreateChannel locks its app instance before
		// its members), then users and bots (an add locks its members before
		// their channel), then channels; each kind sorted, so that neither an
		// add nor another node's reaper holds one of them while waiting for
		// this reaper, which waits for it; retention, which changes channels,
		// comes last. Under the locks it is all read
		// again: a write that committed in between (an expiration removed, a
		// message sent, a retention changed) wins, as if it came first.
		retention, err := tx.AppInstancesWithRetention()
		if err != nil {
			return err
		}
		users, err := s.expiredIdentities(tx, now, nil)
		if err != nil {
			return err
		}
		channels, err := s.expiredChannels(tx, now, nil)
		if err != nil {
			return err
		}
		apps := map[string]bool{}
		for ai := range retention {
			apps[ai] = true
		}
		lockedUsers := map[string]bool{}
		userArns := make([]string, 0, len(users))
		for _, u := range users {
			apps[u.AppInstanceArn] = true
			lockedUsers[u.Arn] = true
			userArns = append(userArns, u.Arn)
		}
		lockedChannels := map[string]bool{}
		channelArns := make([]string, 0, len(channels))
		for _, ch := range channels {
			apps[ch.AppInstanceArn] = true
			lockedChannels[ch.Arn] = true
			channelArns = append(channelArns, ch.Arn) // in creation order, as LockChannels wants them
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
		if users, err = s.expiredIdentities(tx, now, lockedUsers); err != nil {
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
		if err := tx.LockChannels(channelArns); err != nil {
			return err
		}
		if channels, err = s.expiredChannels(tx, now, lockedChannels); err != nil {
			return err
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
		// Retention last: it locks the channels whose messages it deletes
		// (DeleteMessagesBefore), after the users, as every writer does.
		if retention, err = tx.AppInstancesWithRetention(); err != nil {
			return err
		}
		for _, ai := range slices.Sorted(maps.Keys(retention)) {
			if !apps[ai] {
				continue // set since the first read: the next pass
			}
			n, err := tx.DeleteMessagesBefore(ai, now.Add(-time.Duration(retention[ai])*day))
			if err != nil {
				return err
			}
			out.Messages += n
		}
		return nil
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return out, err
}

// expiredIdentities returns the users and bots past their expiration at
// now, in creation order; only those in among when it is not nil.
func (s *Service) expiredIdentities(tx *store.Tx, now time.Time, among map[string]bool) ([]chime.AppInstanceUser, error) {
	users, err := tx.ExpiringIdentities()
	return slices.DeleteFunc(users, func(u chime.AppInstanceUser) bool {
		return (among != nil && !among[u.Arn]) || now.Before(u.Created.Add(time.Duration(u.Expiration.ExpirationDays)*day))
	}), err
}

// expiredChannels returns the channels past their expiration at now, in
// creation order; only those in among when it is not nil.
func (s *Service) expiredChannels(tx *store.Tx, now time.Time, among map[string]bool) ([]store.ExpiringChannel, error) {
	channels, err := tx.ExpiringChannels()
	return slices.DeleteFunc(channels, func(ch store.ExpiringChannel) bool {
		if among != nil && !among[ch.Arn] {
			return true
		}
		// The last persistent message of any kind counts, targeted ones
		// and those of every subchannel included: a channel whose members
		// talk only in targeted messages is not idle.
		from := ch.Created
		if ch.Expiration.ExpirationCriterion == "LAST_MESSAGE_TIMESTAMP" && ch.LastActivity != nil {
			from = *ch.LastActivity
		}
		return now.Before(from.Add(time.Duration(ch.Expiration.ExpirationDays) * day))
	}), err
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
