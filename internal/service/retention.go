package service

import (
	"context"
	"errors"
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
	Tokens   int64 // ClientRequestToken uses past their 24 hours
}

// reapBatch is how many users, and how many channels, one reaper
// transaction deletes at most: a user is a dozen statements, and on
// PostgreSQL a transaction has 30 s (about 20,000 users there), so a pass
// that deleted every expired user in one transaction would fail every time
// once that many had expired.
var reapBatch = 1000 // a variable for its tests

// retentionBatch is how many messages, or token uses, one reaper
// transaction deletes at most (DeleteMessagesBefore, DeleteIdempotentBefore).
// A variable for its tests.
var retentionBatch = 2_000

// Reap deletes, as of the service clock, the messages older than their app
// instance's retention, the channels past their expiration (telling their
// members), the users past theirs (as DeleteAppInstanceUser does) and the
// ClientRequestToken uses past their window. It deletes reapBatch users and
// reapBatch channels a transaction, each transaction's events published
// once it commits, then retentionBatch messages, then as many token uses, a
// transaction. Errors: those of the store, and ctx's when it is done
// between two transactions (a transaction, once begun, is not cut by ctx).
func (s *Service) Reap(ctx context.Context) (Reaped, error) {
	now := s.clock()
	// What to do is read first, without locks; each transaction locks its
	// part and reads it again (reap, retain).
	var retention map[string]int
	var users []chime.AppInstanceUser
	var channels []store.ExpiringChannel
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		if retention, err = tx.AppInstancesWithRetention(); err != nil {
			return err
		}
		if users, err = tx.ExpiringIdentities(); err != nil {
			return err
		}
		if channels, err = tx.ExpiringChannels(); err != nil {
			return err
		}
		users = slices.DeleteFunc(users, func(u chime.AppInstanceUser) bool { return !identityExpired(u, now) })
		channels = slices.DeleteFunc(channels, func(ch store.ExpiringChannel) bool { return !channelExpired(ch, now) })
		return nil
	})
	if err != nil {
		return Reaped{}, err
	}
	var total Reaped
	for len(users) > 0 || len(channels) > 0 {
		u, ch := users[:min(len(users), reapBatch)], channels[:min(len(channels), reapBatch)]
		users, channels = users[len(u):], channels[len(ch):]
		out, err := s.reap(ctx, now, u, ch)
		if err != nil {
			return total, err
		}
		total.Channels += out.Channels
		total.Users += out.Users
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
	// Retention last: it locks the channels whose messages it deletes
	// (DeleteMessagesBefore), after the users, as every writer does. Each
	// transaction locks the app instance and reads its retention again: a
	// change committed since the first read wins, as if it came first.
	for _, ai := range slices.Sorted(maps.Keys(retention)) {
		for after, done := "", false; !done; {
			var n int64
			var next string
			err := s.store.Write(ctx, func(tx *store.Tx) error {
				n, next, done = 0, "", true
				if err := tx.LockAppInstance(ai); err != nil {
					return err
				}
				days, _, err := tx.Retention(ai)
				if errors.Is(err, store.ErrNotFound) || (err == nil && days == 0) {
					return nil // deleted, or its retention removed, since
				}
				if err != nil {
					return err
				}
				n, next, done, err = tx.DeleteMessagesBefore(ai, now.Add(-time.Duration(days)*day), retentionBatch, after)
				return err
			})
			if err != nil {
				return total, err
			}
			total.Messages += n
			after = next
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
	// ClientRequestToken uses past the window they replay in (rule D12).
	for more := true; more; {
		var n int64
		err := s.store.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteIdempotentBefore(now.Add(-idempotencyWindow), retentionBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		total.Tokens += n
		if err := ctx.Err(); err != nil {
			return total, err
		}
		more = n == int64(retentionBatch)
	}
	return total, nil
}

// reap is one transaction of Reap: it deletes those of users and channels
// (in creation order) still expired at now.
func (s *Service) reap(ctx context.Context, now time.Time, users []chime.AppInstanceUser, channels []store.ExpiringChannel) (Reaped, error) {
	var out Reaped
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		out, events = Reaped{}, nil
		// The rows read as expired are locked (PostgreSQL) in the order
		// every writer takes them: app instances (CreateChannel locks its
		// app instance before its members), then users and bots (an add
		// locks its members before their channel), then channels; each kind
		// sorted, so that neither an add nor another node's reaper holds one
		// of them while waiting for this reaper, which waits for it. Under
		// the locks it is all read again: a write that committed in between
		// (an expiration removed, a message sent) wins, as if it came first.
		apps := map[string]bool{}
		userArns := make([]string, 0, len(users))
		for _, u := range users {
			apps[u.AppInstanceArn] = true
			userArns = append(userArns, u.Arn)
		}
		channelArns := make([]string, 0, len(channels))
		for _, ch := range channels {
			apps[ch.AppInstanceArn] = true
			channelArns = append(channelArns, ch.Arn) // in creation order, as LockChannels wants them
		}
		// Each deletion counts one user, bot or channel less on its app instance.
		for _, ai := range slices.Sorted(maps.Keys(apps)) {
			if err := tx.LockAppInstance(ai); err != nil {
				return err
			}
		}
		if len(userArns) > 0 {
			if err := tx.LockIdentities(userArns); err != nil {
				return err
			}
			current, err := tx.GetIdentities(userArns)
			if err != nil {
				return err
			}
			for _, arn := range userArns {
				u, ok := current[arn]
				if !ok || !identityExpired(u, now) {
					continue
				}
				removed, err := s.removeIdentity(tx, u.Kind, u.Arn)
				if err != nil {
					return err
				}
				events = append(events, removed...)
				out.Users++
			}
		}
		if len(channelArns) > 0 {
			if err := tx.LockChannels(channelArns); err != nil {
				return err
			}
			current, err := tx.ExpiringChannelsAmong(channelArns)
			if err != nil {
				return err
			}
			for _, arn := range channelArns {
				ch, ok := current[arn]
				if !ok || !channelExpired(ch, now) {
					continue
				}
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
		}
		return nil
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return out, err
}

// identityExpired reports whether a user or bot is past its expiration at now.
func identityExpired(u chime.AppInstanceUser, now time.Time) bool {
	return u.Expiration != nil && !now.Before(u.Created.Add(time.Duration(u.Expiration.ExpirationDays)*day))
}

// channelExpired reports whether a channel is past its expiration at now.
func channelExpired(ch store.ExpiringChannel, now time.Time) bool {
	if ch.Expiration == nil {
		return false
	}
	// The last persistent message of any kind counts, targeted ones and
	// those of every subchannel included: a channel whose members talk
	// only in targeted messages is not idle.
	from := ch.Created
	if ch.Expiration.ExpirationCriterion == "LAST_MESSAGE_TIMESTAMP" && ch.LastActivity != nil {
		from = *ch.LastActivity
	}
	return !now.Before(from.Add(time.Duration(ch.Expiration.ExpirationDays) * day))
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
				log.Info("reaper", "messages", n.Messages, "channels", n.Channels, "users", n.Users, "tokens", n.Tokens)
			}
		}
	}
}
