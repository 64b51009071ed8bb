package store

import (
	"database/sql"
	"strings"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// A channel's last persistent message is kept in three parts as messages
// are sent (migration 0008), so that what one caller sees of it costs a few
// index probes per channel, however many messages the channel holds:
//   - channels.last_message_ms: the last untargeted one, in any subchannel
//     (DescribeChannel's LastMessageTimestamp);
//   - sub_channels.last_message_ms: the last untargeted one in a subchannel;
//   - last_targeted: by channel and user, the last targeted one the user
//     sent or was the target of.
// channels.last_activity_ms is the last one of any kind (expiration).
// When a message is deleted, the first three move back to the message before
// it (lastMessageGone, DeleteMessagesBefore): the model's
// LastMessageTimestamp is that of the last message the caller can see.
// last_activity_ms does not: the channel was active then.

// SetLastMessage records an untargeted persistent message sent at at, in
// subchannel sub of an elastic channel ("" otherwise): each time moves
// forward only.
func (t *Tx) SetLastMessage(channel, sub string, at time.Time) error {
	v := ms(at)
	if _, err := t.exec(`UPDATE channels SET
		last_message_ms = CASE WHEN last_message_ms IS NULL OR last_message_ms < ? THEN ? ELSE last_message_ms END,
		last_activity_ms = CASE WHEN last_activity_ms IS NULL OR last_activity_ms < ? THEN ? ELSE last_activity_ms END
		WHERE arn = ? AND (last_message_ms IS NULL OR last_message_ms < ? OR last_activity_ms IS NULL OR last_activity_ms < ?)`,
		v, v, v, v, channel, v, v); err != nil {
		return err
	}
	if sub == "" {
		return nil
	}
	_, err := t.exec(`UPDATE sub_channels SET last_message_ms = ? WHERE channel_arn = ? AND sub_channel_id = ?
		AND (last_message_ms IS NULL OR last_message_ms < ?)`, v, channel, sub, v)
	return err
}

// SetLastTargeted records a targeted persistent message sent at at by one
// of members to the other (the same one twice when a member targets
// itself): each time moves forward only.
func (t *Tx) SetLastTargeted(channel string, members []string, at time.Time) error {
	v := ms(at)
	// GetChannel does not read last_activity_ms: this statement leaves the
	// writer's cached channel rows as they are (changesChannels).
	if _, err := t.exec(`UPDATE channels SET last_activity_ms = ? WHERE arn = ? AND (last_activity_ms IS NULL OR last_activity_ms < ?)`,
		v, channel, v); err != nil {
		return err
	}
	ck, ca := t.channelKeyArg(channel)
	for i, m := range members {
		if i > 0 && m == members[0] {
			continue
		}
		mk, ma := t.memberKeyArg(m)
		if _, err := t.exec(`INSERT INTO last_targeted (channel_id, member_id, last_ms) VALUES (`+ck+`, `+mk+`, ?)
			ON CONFLICT (channel_id, member_id) DO UPDATE SET last_ms = excluded.last_ms WHERE last_targeted.last_ms < excluded.last_ms`,
			ca, ma, v); err != nil {
			return err
		}
	}
	return nil
}

// lastMessageGone moves back the last message times that were those of m,
// just deleted, to the latest message left of the same kind: each is a walk
// down the history index from the newest message, which stops at the first
// that fits; for a targeted one, its sender's and target's are found by
// index (lastTargetedAgain).
func (t *Tx) lastMessageGone(m chime.Message) error {
	at := ms(m.Created)
	if m.Target == "" {
		if m.SubChannelID != "" {
			if _, err := t.exec(`UPDATE sub_channels SET last_message_ms = (SELECT created_ms FROM messages
				WHERE channel_arn = ? AND sub_channel_id = ? AND target_arn = '' ORDER BY created_ms DESC LIMIT 1)
				WHERE channel_arn = ? AND sub_channel_id = ? AND last_message_ms = ?`,
				m.ChannelArn, m.SubChannelID, m.ChannelArn, m.SubChannelID, at); err != nil {
				return err
			}
			_, err := t.exec(`UPDATE channels SET last_message_ms = (SELECT MAX(last_message_ms) FROM sub_channels WHERE channel_arn = ?)
				WHERE arn = ? AND last_message_ms = ?`, m.ChannelArn, m.ChannelArn, at)
			return err
		}
		_, err := t.exec(`UPDATE channels SET last_message_ms = (SELECT created_ms FROM messages
			WHERE channel_arn = ? AND sub_channel_id = '' AND target_arn = '' ORDER BY created_ms DESC LIMIT 1)
			WHERE arn = ? AND last_message_ms = ?`, m.ChannelArn, m.ChannelArn, at)
		return err
	}
	for i, who := range []string{m.Sender.Arn, m.Target} {
		if i > 0 && who == m.Sender.Arn {
			continue
		}
		if err := t.lastTargetedAgain(m.ChannelArn, who, &at); err != nil {
			return err
		}
	}
	return nil
}

// lastTargetedAgain sets who's last targeted message time in channel to the
// latest targeted message left that who sent or received (none: the row
// goes); with was, only when the time is was. Two probes of the targeted
// message indexes (migration 0011).
func (t *Tx) lastTargetedAgain(channel, who string, was *int64) error {
	ck, ca := t.channelKeyArg(channel)
	mk, ma := t.memberKeyArg(who)
	cond := ``
	var condArgs []any
	if was != nil {
		cond, condArgs = ` AND last_ms = ?`, []any{*was}
	}
	var prev sql.NullInt64
	err := t.queryRow(t.lastTargetedSQL(), channel, who, channel, who).Scan(&prev)
	if err != nil {
		return err
	}
	if prev.Valid && prev.Int64 >= 0 {
		_, err = t.exec(`UPDATE last_targeted SET last_ms = ? WHERE channel_id = `+ck+` AND member_id = `+mk+cond, append([]any{prev.Int64, ca, ma}, condArgs...)...)
	} else {
		_, err = t.exec(`DELETE FROM last_targeted WHERE channel_id = `+ck+` AND member_id = `+mk+cond, append([]any{ca, ma}, condArgs...)...)
	}
	return err
}

// lastTargetedSQL reads the time of the latest targeted message of a
// channel (the first and third arguments) a user (the second and fourth)
// sent or received, -1 when none. The terms on an empty target_arn let both
// dialects use the partial indexes.
func (t *Tx) lastTargetedSQL() string {
	return `SELECT ` + t.laterOf(`(SELECT MAX(created_ms) FROM messages WHERE channel_arn = ? AND target_arn = ? AND target_arn <> '')`,
		`(SELECT MAX(created_ms) FROM messages WHERE channel_arn = ? AND sender_arn = ? AND target_arn <> '')`)
}

// laterOf is the SQL of the later of two times, either NULL, -1 when both
// are: GREATEST ignores NULLs, SQLite's MAX(a, b) is NULL when either is;
// times are never negative.
func (t *Tx) laterOf(a, b string) string {
	greatest := "MAX"
	if t.pg {
		greatest = "GREATEST"
	}
	return greatest + `(COALESCE(` + a + `, -1), COALESCE(` + b + `, -1))`
}

// lastSeenSQL is the time of the last persistent message that the user or
// bot of identities row u sees in the channel of channels row c, NULL when
// it sees none (SEMANTICS.md §4, §6): the later of
//   - the last untargeted one it may read: the channel's, unless the
//     channel is elastic and u is neither an admin of its app instance nor
//     one of its moderators (who read every subchannel); then the one of the
//     subchannel u is a member of (none when it is in none);
//   - the last targeted one u sent or was the target of.
//
// Each part is an index probe or two. u is the identities row's alias.
func (t *Tx) lastSeenSQL(u string) string {
	untargeted := `CASE WHEN c.max_sub_channels IS NULL
		OR EXISTS (SELECT 1 FROM admins la WHERE la.app_instance_arn = c.app_instance_arn AND la.admin_arn = {u}.arn)
		OR EXISTS (SELECT 1 FROM moderators ld WHERE ld.channel_arn = c.arn AND ld.moderator_arn = {u}.arn)
		THEN c.last_message_ms
		ELSE (SELECT MAX(ls.last_message_ms) FROM memberships lm JOIN sub_channels ls ON ls.channel_arn = c.arn AND ls.sub_channel_id = lm.sub_channel_id
			WHERE lm.channel_id = c.seq AND lm.member_id = {u}.seq) END`
	targeted := `(SELECT lt.last_ms FROM last_targeted lt WHERE lt.channel_id = c.seq AND lt.member_id = {u}.seq)`
	q := `NULLIF(` + t.laterOf(untargeted, targeted) + `, -1)`
	return strings.ReplaceAll(q, "{u}", u)
}

// SawTargeted reports whether user has sent or received a persistent
// targeted message in any channel: one probe of last_targeted_by_member.
func (t *Tx) SawTargeted(user string) (bool, error) {
	mk, ma := t.memberKeyArg(user)
	var some bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM last_targeted WHERE member_id = `+mk+`)`, ma).Scan(&some)
	return some, err
}

// LastMessagesSeen returns, for each of channels that has one, the time of
// the last persistent message viewer sees in it (lastSeenSQL), in one read
// (a list page's channels, 50 at most).
func (t *Tx) LastMessagesSeen(viewer string, channels []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(channels) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(channels)+1)
	args = append(args, viewer)
	for _, c := range channels {
		args = append(args, c)
	}
	rows, err := t.query(`SELECT c.arn, `+t.lastSeenSQL("u")+` FROM channels c JOIN identities u ON u.arn = ?
		WHERE c.arn IN (?`+strings.Repeat(`, ?`, len(channels)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var arn string
		var last sql.NullInt64
		if err := rows.Scan(&arn, &last); err != nil {
			return nil, err
		}
		if last.Valid {
			out[arn] = fromMS(last.Int64)
		}
	}
	return out, rows.Err()
}
