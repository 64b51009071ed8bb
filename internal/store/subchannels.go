package store

import (
	"strings"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// InsertSubChannel adds an empty subchannel to an elastic channel.
func (t *Tx) InsertSubChannel(channel, id string, at time.Time) error {
	_, err := t.exec(`INSERT INTO sub_channels (channel_arn, sub_channel_id, member_count, created_ms) VALUES (?, ?, 0, ?)`, channel, id, ms(at))
	return err
}

// SubChannels returns every subchannel of an elastic channel in creation
// order; the MaximumSubChannels quota (100 by default) bounds them.
func (t *Tx) SubChannels(channel string) ([]chime.SubChannel, error) {
	page, err := t.ListSubChannels(channel, 0, 1<<30)
	return page.Items, err
}

// ListSubChannels pages through an elastic channel's subchannels in creation order.
func (t *Tx) ListSubChannels(channel string, after int64, limit int) (Page[chime.SubChannel], error) {
	rows, err := t.query(`SELECT seq, sub_channel_id, member_count FROM sub_channels WHERE channel_arn = ? AND seq > ? ORDER BY seq`+limitParam,
		channel, after, limit+1)
	if err != nil {
		return Page[chime.SubChannel]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.SubChannel, int64, error) {
		var s chime.SubChannel
		var seq int64
		err := r.Scan(&seq, &s.ID, &s.MembershipCount)
		return s, seq, err
	})
}

// FullestBelow returns the subchannel with the most regular members below
// target (the oldest among equals), or ErrNotFound when all are full.
func (t *Tx) FullestBelow(channel string, target int) (chime.SubChannel, error) {
	var s chime.SubChannel
	err := t.queryRow(`SELECT sub_channel_id, member_count FROM sub_channels WHERE channel_arn = ? AND member_count < ?
		ORDER BY member_count DESC, seq LIMIT 1`, channel, target).Scan(&s.ID, &s.MembershipCount)
	return s, notFound(err)
}

// The SCALE_IN probes: each reads one entry of sub_channels_fill, however
// many subchannels the channel has (TestScaleInProbesAreIndexProbes).
const (
	smallestBelowSQL = `SELECT sub_channel_id, member_count FROM sub_channels WHERE channel_arn = ? AND member_count < ?
		ORDER BY member_count, seq LIMIT 1`
	fullestAtMostSQL = `SELECT sub_channel_id, member_count FROM sub_channels WHERE channel_arn = ? AND member_count <= ?
		AND sub_channel_id <> ? ORDER BY member_count DESC, seq DESC LIMIT 1`
)

// SmallestBelow returns the subchannel with the fewest regular members,
// if it has fewer than minimum (the oldest among equals), or ErrNotFound.
func (t *Tx) SmallestBelow(channel string, minimum int) (chime.SubChannel, error) {
	var s chime.SubChannel
	err := t.queryRow(smallestBelowSQL, channel, minimum).Scan(&s.ID, &s.MembershipCount)
	return s, notFound(err)
}

// FullestAtMost returns the subchannel, other than except, with the most
// regular members not over most (the newest among equals: the index's
// order read backwards, so no sort), or ErrNotFound.
func (t *Tx) FullestAtMost(channel string, most int, except string) (chime.SubChannel, error) {
	var s chime.SubChannel
	err := t.queryRow(fullestAtMostSQL, channel, most, except).Scan(&s.ID, &s.MembershipCount)
	return s, notFound(err)
}

// GetSubChannel returns a subchannel, or ErrNotFound.
func (t *Tx) GetSubChannel(channel, id string) (chime.SubChannel, error) {
	var s chime.SubChannel
	err := t.queryRow(`SELECT sub_channel_id, member_count FROM sub_channels WHERE channel_arn = ? AND sub_channel_id = ?`, channel, id).
		Scan(&s.ID, &s.MembershipCount)
	return s, notFound(err)
}

// AddSubChannelMembers changes a subchannel's count of regular members by delta.
func (t *Tx) AddSubChannelMembers(channel, id string, delta int) error {
	_, err := t.exec(`UPDATE sub_channels SET member_count = member_count + ? WHERE channel_arn = ? AND sub_channel_id = ?`, delta, channel, id)
	return err
}

// MoveMembers moves up to n regular members (not moderators) of subchannel
// from to subchannel to, adjusting both counts, and returns the memberships
// as they are after the move.
func (t *Tx) MoveMembers(channel, from, to string, n int, at time.Time) ([]chime.Membership, error) {
	rows, err := t.query(`SELECT `+membershipCols+membershipFrom+`WHERE m.channel_id = `+channelKey+` AND m.sub_channel_id = ?
		AND NOT EXISTS (SELECT 1 FROM moderators d WHERE d.channel_arn = c.arn AND d.moderator_arn = mi.arn)
		ORDER BY m.seq DESC`+limitParam, channel, from, n)
	if err != nil {
		return nil, err
	}
	page, err := scanPage(rows, n, func(r *resultRows) (chime.Membership, int64, error) { return scanMembership(r) })
	if err != nil {
		return nil, err
	}
	for i := range page.Items {
		m := &page.Items[i]
		if _, err := t.exec(`UPDATE memberships SET sub_channel_id = ?, updated_ms = ? WHERE channel_id = `+channelKey+` AND member_id = `+memberKey+` AND sub_channel_id = ?`,
			to, ms(at), channel, m.Member.Arn, from); err != nil {
			return nil, err
		}
		m.SubChannelID, m.Updated = to, at
	}
	if err := t.AddSubChannelMembers(channel, from, -len(page.Items)); err != nil {
		return nil, err
	}
	return page.Items, t.AddSubChannelMembers(channel, to, len(page.Items))
}

// DeleteSubChannel deletes a subchannel with its messages and the
// memberships left in it (moderators').
func (t *Tx) DeleteSubChannel(channel, id string) error {
	// Those who sent or received a targeted message in it: their last
	// targeted message time may go with it.
	touched, err := t.strings(`SELECT sender_arn FROM messages WHERE channel_arn = ? AND sub_channel_id = ? AND target_arn <> ''
		UNION SELECT target_arn FROM messages WHERE channel_arn = ? AND sub_channel_id = ? AND target_arn <> '' ORDER BY 1`, channel, id, channel, id)
	if err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM messages WHERE channel_arn = ? AND sub_channel_id = ?`,
		`DELETE FROM memberships WHERE channel_id = ` + channelKey + ` AND sub_channel_id = ?`,
		`DELETE FROM sub_channels WHERE channel_arn = ? AND sub_channel_id = ?`,
	} {
		res, err := t.exec(q, channel, id)
		if err != nil {
			return err
		}
		if strings.HasPrefix(q, `DELETE FROM memberships`) { // the channel's member count follows
			n, err := res.RowsAffected()
			if err == nil && n > 0 {
				err = t.addMemberCount(channel, -int(n))
			}
			if err != nil {
				return err
			}
		}
	}
	// The last message times that were of its messages move back
	// (lastmessage.go): the channel's to its other subchannels' latest.
	if _, err := t.exec(`UPDATE channels SET last_message_ms = (SELECT MAX(last_message_ms) FROM sub_channels WHERE channel_arn = ?) WHERE arn = ?`,
		channel, channel); err != nil {
		return err
	}
	for _, who := range touched {
		if err := t.lastTargetedAgain(channel, who, nil); err != nil {
			return err
		}
	}
	return nil
}

// MemberArnsIn returns the members of one subchannel: the recipients of its events.
// The type condition (always true) makes SQLite walk memberships_list on
// (channel_id, sub_channel_id): without it, it preferred the unique index
// on (channel_id, member_id, sub_channel_id), which covers the query, and
// read every member of the channel to find one subchannel's, so each event
// of a 1,000,000-member elastic channel read a million index entries
// (BENCHMARKS.md, TestSubChannelMembersUseTheSubChannelIndex).
func (t *Tx) MemberArnsIn(channel, sub string) ([]string, error) {
	return t.strings(`SELECT mi.arn FROM memberships m JOIN identities mi ON mi.seq = m.member_id
		WHERE m.channel_id = `+channelKey+` AND m.sub_channel_id = ? AND m.type IN ('DEFAULT', 'HIDDEN')`,
		channel, sub)
}

// CountElasticChannels counts an app instance's elastic channels (one read:
// the count is kept on the app instance).
func (t *Tx) CountElasticChannels(appInstance string) (int, error) {
	return t.appInstanceCount(countElasticChannelsSQL, appInstance)
}
