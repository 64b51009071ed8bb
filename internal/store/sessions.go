package store

import (
	"database/sql"

	"github.com/belfry/belfry/internal/chime"
)

// PrefetchChannels returns up to limit of a member's channels, each with its
// first membership in this order (an elastic channel's moderator holds one
// per subchannel it joined), as a messaging session's prefetch picks them
// (SEMANTICS.md §10):
// by unread first (a last message newer than the read marker) when byUnread,
// then by latest LastMessageTimestamp, channels without messages last, ties
// in membership order. The LastMessageTimestamp is the one the member sees
// (lastSeenSQL), set on each channel returned. The sort reads every
// membership of the user, which the per-user membership quota bounds (20,000
// by default); it runs once per connect, not per page. The SQL is the same
// on SQLite and PostgreSQL.
func (t *Tx) PrefetchChannels(member string, byUnread bool, limit int) ([]chime.UserMembership, error) {
	seen := `COALESCE(` + t.lastSeenSQL("mi") + `, -1)`
	order := seen + ` DESC, m.seq`
	if byUnread {
		order = `(` + seen + ` > COALESCE(m.read_marker_ms, -1)) DESC, ` + order
	}
	// Each membership beyond a channel's first takes a row of the limit: read
	// that many more, so that limit channels come back when there are.
	var extra int
	if err := t.queryRow(`SELECT COUNT(*) - COUNT(DISTINCT channel_id) FROM memberships WHERE member_id = `+memberKey, member).Scan(&extra); err != nil {
		return nil, err
	}
	rows, err := t.query(`SELECT `+membershipCols+`, `+channelCols+`, `+seen+membershipFrom+`LEFT JOIN identities cb ON cb.arn = c.created_by WHERE m.member_id = `+memberKey+` ORDER BY `+order+limitParam, member, limit+extra)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chime.UserMembership
	picked := map[string]bool{}
	for len(out) < limit && rows.Next() {
		var ms membershipScan
		var cs channelScan
		var last sql.NullInt64
		if err := rows.Scan(append(append(ms.dest(), cs.dest()...), &last)...); err != nil {
			return nil, err
		}
		c, err := cs.done()
		if err != nil {
			return nil, err
		}
		c.LastMessage = nil
		if last.Int64 >= 0 {
			c.LastMessage = fromNullMS(last)
		}
		if !picked[c.Arn] {
			picked[c.Arn] = true
			out = append(out, chime.UserMembership{Membership: ms.done(), Channel: c})
		}
	}
	return out, rows.Err()
}
