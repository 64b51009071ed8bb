package service

import (
	"slices"
	"strings"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// batchAdder adds the members of one BatchCreateChannelMembership call to a
// channel that is not elastic with a few statements for the whole batch —
// identities, existing members, bans and per-user counts read once, one
// multi-row insert — instead of half a dozen per member. Each member gets
// the same decision, with the same error, as addOne would give it, checked
// in the same order: rule D9, D4, D1, D2, the channel quota, the user quota.
type batchAdder struct {
	s        *Service
	tx       *store.Tx
	r        role
	typ      string
	by       chime.Identity
	now      time.Time
	ids      map[string]chime.AppInstanceUser
	existing map[string]bool
	banned   map[string]bool
	counts   map[string]int // memberships per user, across channels
	inChan   int            // memberships of the channel, with those this batch adds
	pending  []chime.Membership
}

func (s *Service) newBatchAdder(tx *store.Tx, r role, typ string, now time.Time, arns []string) (*batchAdder, error) {
	b := &batchAdder{s: s, tx: tx, r: r, typ: typ, by: identityOf(r.bearer), now: now}
	// The users are locked (BatchCreateChannelMembership) before they are read.
	var err error
	if b.ids, err = tx.GetIdentities(arns); err != nil {
		return nil, err
	}
	known := make([]string, 0, len(b.ids))
	for arn := range b.ids {
		known = append(known, arn)
	}
	if b.existing, err = tx.MembersAmong(r.channel.Arn, known); err != nil {
		return nil, err
	}
	if b.banned, err = tx.BannedAmong(r.channel.Arn, known); err != nil {
		return nil, err
	}
	if b.counts, err = tx.CountUserMembershipsOf(known); err != nil {
		return nil, err
	}
	if b.inChan, err = tx.CountMemberships(r.channel.Arn); err != nil {
		return nil, err
	}
	return b, nil
}

// add decides for one member (each ARN once per batch). A nil *added is an
// existing member (rule D1). The insert waits for flush.
func (b *batchAdder) add(arn string) (chime.AppInstanceUser, *added, error) {
	if err := b.r.canAdd(arn, b.typ); err != nil {
		return chime.AppInstanceUser{}, nil, err
	}
	u, ok := b.ids[arn]
	if !ok || u.AppInstanceArn != b.r.channel.AppInstanceArn {
		return u, nil, chime.Errorf(chime.KindForbidden, chime.MsgInvalidMember)
	}
	if b.existing[arn] {
		return u, nil, nil
	}
	if b.banned[arn] {
		return u, nil, forbidden("%s is banned from this channel.", u.Arn)
	}
	if b.inChan >= b.s.quotas.MembershipsPerChannel {
		// The channel's quota is the channel's problem, not this member's:
		// the whole call fails and adds no one (SEMANTICS.md §2, D17).
		return u, nil, wholeCall{limitExceeded("memberships per channel", b.s.quotas.MembershipsPerChannel)}
	}
	if b.counts[arn] >= b.s.quotas.MembershipsPerUser {
		return u, nil, limitExceeded("channel memberships per app instance user", b.s.quotas.MembershipsPerUser)
	}
	b.inChan++
	m := chime.Membership{ChannelArn: b.r.channel.Arn, Member: identityOf(u), Type: b.typ, InvitedBy: b.by, Created: b.now, Updated: b.now}
	b.pending = append(b.pending, m)
	return u, &added{m: m}, nil
}

// flush inserts the new memberships.
func (b *batchAdder) flush() error {
	// Members added together were created at the same instant: rule D7
	// lists them by ARN, so they are inserted (and take their places) so.
	slices.SortFunc(b.pending, func(x, y chime.Membership) int { return strings.Compare(x.Member.Arn, y.Member.Arn) })
	_, err := b.tx.InsertMemberships(b.r.channel.Arn, b.pending)
	b.pending = nil
	return err
}

// wholeCall marks an error of one member of a batch that fails the whole
// call instead of becoming an Errors entry.
type wholeCall struct{ error }

func (w wholeCall) Unwrap() error { return w.error }
