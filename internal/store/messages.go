package store

import (
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

const messageCols = `m.seq, m.channel_arn, m.message_id, m.sender_arn, COALESCE(s.name, ''), m.type, m.content, m.metadata, m.content_type,
	m.attributes, m.push, m.target_arn, m.redacted, m.created_ms, m.updated_ms, m.edited_ms, m.sub_channel_id`

const messageFrom = ` FROM messages m LEFT JOIN identities s ON s.arn = m.sender_arn `

func scanMessage(r interface{ Scan(...any) error }) (chime.Message, int64, error) {
	var m chime.Message
	var seq, c, u int64
	var attrs, push sql.NullString
	var edited sql.NullInt64
	err := r.Scan(&seq, &m.ChannelArn, &m.MessageID, &m.Sender.Arn, &m.Sender.Name, &m.Type, &m.Content, &m.Metadata, &m.ContentType,
		&attrs, &push, &m.Target, &m.Redacted, &c, &u, &edited, &m.SubChannelID)
	if err != nil {
		return m, 0, err
	}
	m.Persistence = chime.PersistencePersist
	m.Created, m.Updated, m.Edited = fromMS(c), fromMS(u), fromNullMS(edited)
	if attrs.Valid {
		if err := json.Unmarshal([]byte(attrs.String), &m.Attributes); err != nil {
			return m, 0, err
		}
	}
	if push.Valid {
		m.Push = new(chime.PushNotification)
		if err := json.Unmarshal([]byte(push.String), m.Push); err != nil {
			return m, 0, err
		}
	}
	return m, seq, nil
}

// InsertMessage stores a persistent message.
func (t *Tx) InsertMessage(m chime.Message) error {
	attrs, err := nullJSON(m.Attributes, len(m.Attributes) == 0)
	if err != nil {
		return err
	}
	push, err := nullJSON(m.Push, m.Push == nil)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO messages (channel_arn, message_id, sender_arn, type, content, metadata, content_type, attributes, push, target_arn,
		redacted, created_ms, updated_ms, edited_ms, sub_channel_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		m.ChannelArn, m.MessageID, m.Sender.Arn, m.Type, m.Content, m.Metadata, m.ContentType, attrs, push, m.Target, m.Redacted,
		ms(m.Created), ms(m.Updated), m.SubChannelID)
	return err
}

// GetMessage returns a message, or ErrNotFound.
func (t *Tx) GetMessage(channel, id string) (chime.Message, error) {
	m, _, err := scanMessage(t.queryRow(`SELECT `+messageCols+messageFrom+`WHERE m.channel_arn = ? AND m.message_id = ?`, channel, id))
	return m, notFound(err)
}

// UpdateMessage writes a message's content, metadata, content type,
// redaction and timestamps.
func (t *Tx) UpdateMessage(m chime.Message) error {
	var edited sql.NullInt64
	if m.Edited != nil {
		edited = sql.NullInt64{Int64: ms(*m.Edited), Valid: true}
	}
	_, err := t.exec(`UPDATE messages SET content = ?, metadata = ?, content_type = ?, redacted = ?, updated_ms = ?, edited_ms = ?
		WHERE channel_arn = ? AND message_id = ?`, m.Content, m.Metadata, m.ContentType, m.Redacted, ms(m.Updated), edited, m.ChannelArn, m.MessageID)
	return err
}

// DeleteMessage deletes message m (as GetMessage read it); it reports
// whether one was deleted. The last message times that were m's move back
// to the message before it (lastmessage.go).
func (t *Tx) DeleteMessage(m chime.Message) (bool, error) {
	res, err := t.exec(`DELETE FROM messages WHERE channel_arn = ? AND message_id = ?`, m.ChannelArn, m.MessageID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	return true, t.lastMessageGone(m)
}

// MessageCursor is where a history page continues: after (before, when
// descending) the message created at Created with sequence Seq.
type MessageCursor struct {
	Created int64
	Seq     int64
}

// MessageQuery selects one page of a channel's history as one viewer sees it.
type MessageQuery struct {
	Channel   string
	Sub       string // the subchannel of an elastic channel, "" otherwise
	Viewer    string // targeted messages are shown only to their sender and target
	Ascending bool
	NotBefore *time.Time
	NotAfter  *time.Time
	After     *MessageCursor
	Limit     int
}

// NotBeforeMS is the first millisecond a NotBefore lets in. Times are kept
// in milliseconds: a NotBefore between two is the next one, or a message of
// the millisecond before it would be in.
func NotBeforeMS(t time.Time) int64 {
	nb := ms(t)
	if t.After(time.UnixMilli(nb)) {
		nb++
	}
	return nb
}

// ListMessages returns one page of history: a walk of the messages_history
// index from the cursor, bounded by the time window. Next is set, with
// NextCursor, when more messages follow.
func (t *Tx) ListMessages(q MessageQuery) (Page[chime.Message], *MessageCursor, error) {
	where := `m.channel_arn = ? AND m.sub_channel_id = ? AND (m.target_arn = '' OR m.sender_arn = ? OR m.target_arn = ?)`
	args := []any{q.Channel, q.Sub, q.Viewer, q.Viewer}
	// A cursor lies inside the bounds (it is the last message of a page
	// within them), so it replaces the bound on its side: the walk starts at
	// the cursor instead of at the bound and skipping the pages before it.
	if q.NotBefore != nil && (q.After == nil || !q.Ascending) {
		where += ` AND m.created_ms >= ?`
		args = append(args, NotBeforeMS(*q.NotBefore))
	}
	if q.NotAfter != nil && (q.After == nil || q.Ascending) {
		where += ` AND m.created_ms <= ?`
		args = append(args, ms(*q.NotAfter))
	}
	order := `m.created_ms DESC, m.seq DESC`
	if q.Ascending {
		order = `m.created_ms ASC, m.seq ASC`
	}
	if q.After != nil {
		if q.Ascending {
			where += ` AND (m.created_ms, m.seq) > (?, ?)`
		} else {
			where += ` AND (m.created_ms, m.seq) < (?, ?)`
		}
		args = append(args, q.After.Created, q.After.Seq)
	}
	args = append(args, q.Limit+1)
	rows, err := t.query(`SELECT `+messageCols+messageFrom+`WHERE `+where+` ORDER BY `+order+limitParam, args...)
	if err != nil {
		return Page[chime.Message]{}, nil, err
	}
	page, err := scanPage(rows, q.Limit, func(r *resultRows) (chime.Message, int64, error) { return scanMessage(r) })
	if err != nil || page.Next == 0 {
		return page, nil, err
	}
	last := page.Items[len(page.Items)-1]
	return page, &MessageCursor{Created: ms(last.Created), Seq: page.Next}, nil
}

// SetReadMarker sets a member's read marker.
func (t *Tx) SetReadMarker(channel, member string, at time.Time) error {
	_, err := t.exec(`UPDATE memberships SET read_marker_ms = ? WHERE channel_id = `+channelKey+` AND member_id = `+memberKey+``, ms(at), channel, member)
	return err
}

// SetRetention sets (days > 0) or clears (days == 0) an app instance's
// message retention, recording when it was set.
func (t *Tx) SetRetention(appInstance string, days int, at time.Time) error {
	var v sql.NullInt64
	if days > 0 {
		v = sql.NullInt64{Int64: int64(days), Valid: true}
	}
	_, err := t.exec(`UPDATE app_instances SET retention_days = ?, retention_set_ms = ? WHERE arn = ?`, v, ms(at), appInstance)
	return err
}

// Retention returns an app instance's retention in days (0 when none is
// set) and when it was set (nil when never).
func (t *Tx) Retention(appInstance string) (int, *time.Time, error) {
	var days, set sql.NullInt64
	err := t.queryRow(`SELECT retention_days, retention_set_ms FROM app_instances WHERE arn = ?`, appInstance).Scan(&days, &set)
	return int(days.Int64), fromNullMS(set), notFound(err)
}

// SetChannelExpiration sets or clears (nil) a channel's expiration settings.
func (t *Tx) SetChannelExpiration(channel string, e *chime.ExpirationSettings) error {
	v, err := nullJSON(e, e == nil)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE channels SET expiration = ? WHERE arn = ?`, v, channel)
	return err
}

// SetIdentityExpiration sets or clears (nil) a user's expiration settings.
func (t *Tx) SetIdentityExpiration(arn string, e *chime.ExpirationSettings) error {
	v, err := nullJSON(e, e == nil)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE identities SET expiration = ? WHERE arn = ?`, v, arn)
	return err
}

// DeleteMessagesBefore deletes at most limit of the messages of an app
// instance's channels created before cutoff, channel by channel in ARN order
// from the first after channel after ("" for the first); it returns how many,
// the channel to go on after, and whether none is left. Each channel's and
// subchannel's are found by an index range (messages_history), so a batch
// costs what it deletes, however much history is kept. A last message time
// before cutoff is that of a message deleted by this call or one to come,
// with all those before it: it goes (lastmessage.go). Those times are
// cleared first: on PostgreSQL that locks the channels concerned before
// their messages, as an edit or a send does; the messages of a channel whose
// time stays need no channel lock. A retention set on a large history
// deletes it over several transactions, each short: one statement for
// millions of messages held the SQLite writer (every write) for as long, and
// on PostgreSQL could outlast a transaction's 30 s every time.
func (t *Tx) DeleteMessagesBefore(appInstance string, cutoff time.Time, limit int, after string) (n int64, next string, done bool, err error) {
	for _, q := range []string{
		`UPDATE channels SET last_message_ms = NULL WHERE app_instance_arn = ? AND last_message_ms < ?`,
		`UPDATE sub_channels SET last_message_ms = NULL WHERE channel_arn IN (SELECT arn FROM channels WHERE app_instance_arn = ?) AND last_message_ms < ?`,
		`DELETE FROM last_targeted WHERE channel_id IN (SELECT seq FROM channels WHERE app_instance_arn = ?) AND last_ms < ?`,
	} {
		if _, err := t.exec(q, appInstance, ms(cutoff)); err != nil {
			return 0, "", false, err
		}
	}
	channels, err := t.strings(`SELECT arn FROM channels WHERE app_instance_arn = ? AND arn > ? ORDER BY arn`+limitParam, appInstance, after, limit)
	if err != nil {
		return 0, "", false, err
	}
	next = after
	if len(channels) == 0 {
		return 0, next, true, nil
	}
	// The subchannels of the page's elastic channels, in one query.
	subs := map[string][]string{}
	rows, err := t.query(`SELECT channel_arn, sub_channel_id FROM sub_channels WHERE channel_arn IN
		(SELECT arn FROM channels WHERE app_instance_arn = ? AND arn > ? AND arn <= ?)`, appInstance, after, channels[len(channels)-1])
	if err != nil {
		return 0, "", false, err
	}
	defer rows.Close()
	for rows.Next() {
		var ch, sub string
		if err := rows.Scan(&ch, &sub); err != nil {
			return 0, "", false, err
		}
		subs[ch] = append(subs[ch], sub)
	}
	if err := rows.Err(); err != nil {
		return 0, "", false, err
	}
	for _, ch := range channels {
		for _, sub := range append([]string{""}, subs[ch]...) {
			res, err := t.exec(`DELETE FROM messages WHERE seq IN (SELECT seq FROM messages
				WHERE channel_arn = ? AND sub_channel_id = ? AND created_ms < ?`+limitParam+`)`, ch, sub, ms(cutoff), int64(limit)-n)
			if err != nil {
				return n, "", false, err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return n, "", false, err
			}
			if n += k; n >= int64(limit) {
				return n, next, false, nil // this channel may hold more: it comes again
			}
		}
		next = ch
	}
	return n, next, len(channels) < limit, nil
}

// AppInstancesWithRetention lists the app instances that set a retention, with their days.
func (t *Tx) AppInstancesWithRetention() (map[string]int, error) {
	rows, err := t.query(`SELECT arn, retention_days FROM app_instances WHERE retention_days IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var arn string
		var days int
		if err := rows.Scan(&arn, &days); err != nil {
			return nil, err
		}
		out[arn] = days
	}
	return out, rows.Err()
}

// ExpiringChannel is a channel that has expiration settings, with the time
// of its last persistent message of any kind (targeted ones included, in
// any subchannel), nil when it never had one.
type ExpiringChannel struct {
	chime.Channel
	LastActivity *time.Time
}

// ExpiringChannels lists the channels that have expiration settings, in
// creation order: two reapers (nodes of one PostgreSQL store) lock them in
// the same order.
func (t *Tx) ExpiringChannels() ([]ExpiringChannel, error) {
	return t.expiringChannels(`SELECT ` + channelCols + `, c.last_activity_ms` + channelFrom + `WHERE c.expiration IS NOT NULL ORDER BY c.seq`)
}

// ExpiringChannelsAmong returns those of arns that have expiration
// settings, by ARN (as ExpiringChannels reads them), lockChunk a statement.
func (t *Tx) ExpiringChannelsAmong(arns []string) (map[string]ExpiringChannel, error) {
	out := make(map[string]ExpiringChannel, len(arns))
	for chunk := range slices.Chunk(arns, lockChunk) {
		in, args := inList(chunk)
		list, err := t.expiringChannels(`SELECT `+channelCols+`, c.last_activity_ms`+channelFrom+`WHERE c.arn IN `+in+` AND c.expiration IS NOT NULL`, args...)
		if err != nil {
			return nil, err
		}
		for _, ch := range list {
			out[ch.Arn] = ch
		}
	}
	return out, nil
}

// expiringChannels returns the channels a query of channelCols and
// last_activity_ms reads.
func (t *Tx) expiringChannels(q string, args ...any) ([]ExpiringChannel, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ExpiringChannel
	for rows.Next() {
		var cs channelScan
		var last sql.NullInt64
		if err := rows.Scan(append(cs.dest(), &last)...); err != nil {
			return nil, err
		}
		c, err := cs.done()
		if err != nil {
			return nil, err
		}
		out = append(out, ExpiringChannel{Channel: c, LastActivity: fromNullMS(last)})
	}
	return out, rows.Err()
}

// LockChannels locks the rows of channels (PostgreSQL writes; a no-op on
// the single-writer SQLite), given in creation order, in that order: as
// DeleteAppInstance and the reaper of another node take them.
func (t *Tx) LockChannels(arns []string) error {
	if !t.pg || !t.write {
		return nil
	}
	for chunk := range slices.Chunk(arns, lockChunk) {
		in, args := inList(chunk)
		rows, err := t.query(`SELECT arn FROM channels WHERE arn IN `+in+` ORDER BY seq FOR UPDATE`, args...)
		if err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// ExpiringIdentities lists the users and bots that have expiration
// settings, in creation order (as ExpiringChannels).
func (t *Tx) ExpiringIdentities() ([]chime.AppInstanceUser, error) {
	rows, err := t.query(`SELECT ` + identityCols + ` FROM identities WHERE expiration IS NOT NULL ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chime.AppInstanceUser
	for rows.Next() {
		u, _, err := scanIdentity(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
