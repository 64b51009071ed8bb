package store

import "github.com/belfry/belfry/internal/chime"

// PrefetchChannels returns up to limit of a member's memberships with their
// channels, as a messaging session's prefetch picks them (SEMANTICS.md §10):
// by unread first (a last message newer than the read marker) when byUnread,
// then by latest LastMessageTimestamp, channels without messages last, ties
// in membership order. The sort reads every membership of the user, which
// the per-user membership quota bounds (20,000 by default); it runs once per
// connect, not per page. The SQL is the same on SQLite and PostgreSQL.
func (t *Tx) PrefetchChannels(member string, byUnread bool, limit int) ([]chime.UserMembership, error) {
	order := `c.last_message_ms IS NULL, c.last_message_ms DESC, m.seq`
	if byUnread {
		order = `(c.last_message_ms IS NOT NULL AND (m.read_marker_ms IS NULL OR c.last_message_ms > m.read_marker_ms)) DESC, ` + order
	}
	rows, err := t.query(`SELECT `+membershipCols+`, `+channelCols+membershipFrom+`LEFT JOIN identities cb ON cb.arn = c.created_by WHERE m.member_id = `+memberKey+` ORDER BY `+order+limitParam, member, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chime.UserMembership
	for rows.Next() {
		um, _, err := scanUserMembership(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, um)
	}
	return out, rows.Err()
}
