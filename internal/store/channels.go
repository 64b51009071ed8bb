package store

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/belfry/belfry/internal/chime"
)

const channelCols = `c.seq, c.arn, c.app_instance_arn, c.name, c.mode, c.privacy, c.metadata, c.created_by, COALESCE(cb.name, ''),
	c.expiration, c.created_ms, c.updated_ms, c.last_message_ms, c.max_sub_channels, c.target_per_sub_channel, c.min_membership_pct`

const channelFrom = ` FROM channels c LEFT JOIN identities cb ON cb.arn = c.created_by `

// channelScan receives the channelCols of one row.
type channelScan struct {
	c                      chime.Channel
	seq, cr, up            int64
	exp                    sql.NullString
	last                   sql.NullInt64
	maxSub, target, minPct sql.NullInt64
}

func (s *channelScan) dest() []any {
	c := &s.c
	return []any{&s.seq, &c.Arn, &c.AppInstanceArn, &c.Name, &c.Mode, &c.Privacy, &c.Metadata, &c.CreatedBy.Arn, &c.CreatedBy.Name,
		&s.exp, &s.cr, &s.up, &s.last, &s.maxSub, &s.target, &s.minPct}
}

func (s *channelScan) done() (chime.Channel, error) {
	c := s.c
	c.Created, c.Updated, c.LastMessage = fromMS(s.cr), fromMS(s.up), fromNullMS(s.last)
	if s.exp.Valid {
		c.Expiration = new(chime.ExpirationSettings)
		if err := json.Unmarshal([]byte(s.exp.String), c.Expiration); err != nil {
			return c, err
		}
	}
	if s.maxSub.Valid {
		c.Elastic = &chime.ElasticConfig{MaximumSubChannels: int(s.maxSub.Int64), TargetMembershipsPerSubChannel: int(s.target.Int64),
			MinimumMembershipPercentage: int(s.minPct.Int64)}
	}
	return c, nil
}

func scanChannel(r interface{ Scan(...any) error }) (chime.Channel, int64, error) {
	var cs channelScan
	if err := r.Scan(cs.dest()...); err != nil {
		return chime.Channel{}, 0, err
	}
	c, err := cs.done()
	return c, cs.seq, err
}

// InsertChannel stores a new channel and counts it on its app instance.
func (t *Tx) InsertChannel(c chime.Channel) error {
	exp, err := nullJSON(c.Expiration, c.Expiration == nil)
	if err != nil {
		return err
	}
	var maxSub, target, minPct sql.NullInt64
	if e := c.Elastic; e != nil {
		maxSub = sql.NullInt64{Int64: int64(e.MaximumSubChannels), Valid: true}
		target = sql.NullInt64{Int64: int64(e.TargetMembershipsPerSubChannel), Valid: true}
		minPct = sql.NullInt64{Int64: int64(e.MinimumMembershipPercentage), Valid: true}
	}
	_, err = t.exec(`INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, expiration, created_ms, updated_ms,
		max_sub_channels, target_per_sub_channel, min_membership_pct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Arn, c.AppInstanceArn, c.Name, c.Mode, c.Privacy, c.Metadata, c.CreatedBy.Arn, exp, ms(c.Created), ms(c.Updated), maxSub, target, minPct)
	if err != nil {
		return err
	}
	elastic := 0
	if c.Elastic != nil {
		elastic = 1
	}
	return t.addAppInstanceCounts(c.AppInstanceArn, 1, elastic, 0, 0)
}

// GetChannel returns the channel, or ErrNotFound.
func (t *Tx) GetChannel(arn string) (chime.Channel, error) {
	// The SQLite writer keeps what it reads, as for GetIdentity.
	cached := t.cachesChannels()
	if cached {
		if c, ok := getRow(t.members, t.members.channels, arn); ok {
			return c.row, nil
		}
	}
	c, seq, err := scanChannel(t.queryRow(`SELECT `+channelCols+channelFrom+`WHERE c.arn = ?`+t.forUpdate("c"), arn))
	if err == nil && cached {
		putRow(t.members, t.members.channels, c.Arn, keyed[chime.Channel]{c, seq})
	}
	return c, notFound(err)
}

// cachesChannels reports whether the transaction reads channels through
// the cache (as cachesIdentities).
func (t *Tx) cachesChannels() bool {
	return t.inWriterGroup() && !t.group.rowsChanged(true) && !t.delta.rowsChanged(true)
}

// channelKeyArg returns how a statement names a channel's key (channel_id =
// …), with its argument: the key itself when the writer's cache holds it,
// else channelKey and the ARN.
func (t *Tx) channelKeyArg(arn string) (string, any) {
	if t.cachesChannels() {
		if c, ok := getRow(t.members, t.members.channels, arn); ok {
			return "?", c.key
		}
	}
	return channelKey, arn
}

// memberKeyArg is channelKeyArg for a user or bot (member_id = …).
func (t *Tx) memberKeyArg(arn string) (string, any) {
	if t.cachesIdentities() {
		if u, ok := getRow(t.members, t.members.ids, arn); ok {
			return "?", u.key
		}
	}
	return memberKey, arn
}

// CountChannels counts an app instance's channels (one read: the count is
// kept on the app instance).
func (t *Tx) CountChannels(appInstance string) (int, error) {
	return t.appInstanceCount(countChannelsSQL, appInstance)
}

// ListChannels pages through an app instance's channels of one privacy in creation order.
func (t *Tx) ListChannels(appInstance, privacy string, after int64, limit int) (Page[chime.Channel], error) {
	rows, err := t.query(`SELECT `+channelCols+channelFrom+`WHERE c.app_instance_arn = ? AND c.privacy = ? AND c.seq > ? ORDER BY c.seq`+limitParam,
		appInstance, privacy, after, limit+1)
	if err != nil {
		return Page[chime.Channel]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.Channel, int64, error) { return scanChannel(r) })
}

// UpdateChannel sets name, mode and metadata.
func (t *Tx) UpdateChannel(c chime.Channel) error {
	_, err := t.exec(`UPDATE channels SET name = ?, mode = ?, metadata = ?, updated_ms = ? WHERE arn = ?`, c.Name, c.Mode, c.Metadata, ms(c.Updated), c.Arn)
	return err
}

// DeleteChannel deletes a channel with its memberships, messages (and their
// last times), subchannels, moderators, bans and tags; its app instance
// counts one channel less.
func (t *Tx) DeleteChannel(arn string) error {
	// Whose count it is in, and whether elastic (neither ever changes). On
	// PostgreSQL the caller holds the app instance's lock (LockAppInstance),
	// which any insert of this ARN needs too.
	var appInstance string
	var maxSub sql.NullInt64
	// Locked (PostgreSQL), whoever calls: an add that holds the row commits
	// first and its membership is deleted below; one after finds it gone.
	err := t.queryRow(`SELECT app_instance_arn, max_sub_channels FROM channels WHERE arn = ?`+t.forUpdate(""), arn).Scan(&appInstance, &maxSub)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// The count changes the writer's group holds for this ARN were of the
	// row deleted here: written later, they would land on a channel
	// created again under the same ARN in the same group.
	if t.inWriterGroup() {
		t.delta.resetMemberCount(arn)
	}
	var res sql.Result
	for _, q := range []string{
		`DELETE FROM memberships WHERE channel_id = ` + channelKey,
		`DELETE FROM last_targeted WHERE channel_id = ` + channelKey,
		`DELETE FROM messages WHERE channel_arn = ?`,
		`DELETE FROM sub_channels WHERE channel_arn = ?`,
		`DELETE FROM moderators WHERE channel_arn = ?`,
		`DELETE FROM bans WHERE channel_arn = ?`,
		`DELETE FROM tags WHERE resource_arn = ?`,
		`DELETE FROM channels WHERE arn = ?`,
	} {
		if res, err = t.exec(q, arn); err != nil {
			return err
		}
	}
	// Counted off only if this transaction deleted the row: a concurrent
	// delete of the same channel may have deleted it since it was read.
	if n, err := res.RowsAffected(); err != nil || n == 0 || !found {
		return err
	}
	elastic := 0
	if maxSub.Valid {
		elastic = 1
	}
	return t.addAppInstanceCounts(appInstance, -1, -elastic, 0, 0)
}

const membershipCols = `m.seq, c.arn, mi.arn, COALESCE(mi.name, ''), m.type, m.invited_by, COALESCE(ib.name, ''),
	m.created_ms, m.updated_ms, m.read_marker_ms, m.sub_channel_id`

const membershipFrom = ` FROM memberships m LEFT JOIN channels c ON c.seq = m.channel_id LEFT JOIN identities mi ON mi.seq = m.member_id
	LEFT JOIN identities ib ON ib.arn = m.invited_by `

// Memberships are indexed by the integer keys of their channel and member
// (channel_id, member_id: channels.seq, identities.seq), not by their ARNs,
// whose index entries are some fifty times larger. channelKey and memberKey
// find the key from an ARN argument, once per statement:
// `WHERE m.channel_id = `+channelKey.
const (
	channelKey = `(SELECT seq FROM channels WHERE arn = ?)`
	memberKey  = `(SELECT seq FROM identities WHERE arn = ?)`
)

// membershipScan receives the membershipCols of one row.
type membershipScan struct {
	m         chime.Membership
	seq, c, u int64
	rm        sql.NullInt64
}

func (s *membershipScan) dest() []any {
	m := &s.m
	return []any{&s.seq, &m.ChannelArn, &m.Member.Arn, &m.Member.Name, &m.Type, &m.InvitedBy.Arn, &m.InvitedBy.Name, &s.c, &s.u, &s.rm, &m.SubChannelID}
}

func (s *membershipScan) done() chime.Membership {
	m := s.m
	m.Created, m.Updated, m.ReadMarker = fromMS(s.c), fromMS(s.u), fromNullMS(s.rm)
	return m
}

func scanMembership(r interface{ Scan(...any) error }) (chime.Membership, int64, error) {
	var ms membershipScan
	err := r.Scan(ms.dest()...)
	return ms.done(), ms.seq, err
}

// InsertMembership stores a new membership unless one exists; it reports
// whether it inserted one.
func (t *Tx) InsertMembership(m chime.Membership) (bool, error) {
	ck, ca := t.channelKeyArg(m.ChannelArn)
	mk, ma := t.memberKeyArg(m.Member.Arn)
	res, err := t.execMembers(t.insertOne()+` INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
		VALUES (`+ck+`, `+mk+`, ?, ?, ?, ?, ?) ON CONFLICT (channel_id, member_id, sub_channel_id) DO NOTHING`,
		ca, ma, m.SubChannelID, m.Type, m.InvitedBy.Arn, ms(m.Created), ms(m.Updated))
	return t.insertedMembership(m, res, err)
}

// InsertMembershipIfAllowed is InsertMembership for a channel that is not
// elastic, which inserts only when every check of an add passes: the member
// is not banned from the channel, the channel has fewer than maxChannel
// members and the member fewer than maxUser memberships. It is one statement
// where AddStateOf and InsertMembership are two (a CreateChannelMembership
// spent 8% of its CPU in AddStateOf). False means that m exists or a check
// failed: AddStateOf then tells which.
func (t *Tx) InsertMembershipIfAllowed(m chime.Membership, maxChannel, maxUser int) (bool, error) {
	ck, ca := t.channelKeyArg(m.ChannelArn)
	mk, ma := t.memberKeyArg(m.Member.Arn)
	args := []any{ca, ma, m.Type, m.InvitedBy.Arn, ms(m.Created), ms(m.Updated), m.ChannelArn, m.Member.Arn, ca, maxChannel - t.pendingMemberCount(m.ChannelArn)}
	// The member's count across channels: the SQLite writer keeps it (see AddStateOf).
	userCheck := ``
	if t.inWriterGroup() {
		counts, err := t.CountUserMembershipsOf([]string{m.Member.Arn})
		if err != nil || counts[m.Member.Arn] >= maxUser {
			return false, err
		}
	} else {
		userCheck = ` AND (SELECT COUNT(*) FROM memberships WHERE member_id = ` + mk + `) < ?`
		args = append(args, ma, maxUser)
	}
	// The casts give PostgreSQL the types a VALUES list would take from the columns.
	res, err := t.execMembers(t.insertOne()+` INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
		SELECT CAST(`+ck+` AS BIGINT), CAST(`+mk+` AS BIGINT), '', CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT)
		WHERE NOT EXISTS (SELECT 1 FROM bans WHERE channel_arn = ? AND member_arn = ?)
		AND (SELECT member_count FROM channels WHERE seq = `+ck+`) < ?`+userCheck+`
		ON CONFLICT (channel_id, member_id, sub_channel_id) DO NOTHING`, args...)
	return t.insertedMembership(m, res, err)
}

// insertedMembership records the outcome of an insert of m.
func (t *Tx) insertedMembership(m chime.Membership, res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	t.insertedMembers(m.ChannelArn, m.SubChannelID, m.Member.Arn)
	return true, t.addMemberCount(m.ChannelArn, int(n))
}

// addMemberCount changes a channel's member count: at once, or in the
// SQLite writer's group at its commit (pendingMemberCount).
func (t *Tx) addMemberCount(channel string, delta int) error {
	if t.inWriterGroup() {
		t.delta.addMemberCount(channel, delta)
		return nil
	}
	return t.writeMemberCount(channel, delta)
}

// pendingMemberCount is the change of a channel's member count that the
// writer's group has not written yet: what a read of member_count in the
// group must add.
func (t *Tx) pendingMemberCount(channel string) int {
	if !t.inWriterGroup() {
		return 0
	}
	if t.delta.countsReset[channel] { // deleted in this transaction: the group's changes were of the old row
		return t.delta.memberCounts[channel]
	}
	return t.group.memberCounts[channel] + t.delta.memberCounts[channel]
}

// flushMemberCounts writes the member counts the writer's group changed,
// one statement a channel, before its commit.
func (t *Tx) flushMemberCounts() error {
	counts := t.group.memberCounts
	t.group.memberCounts, t.group.countsReset = nil, nil
	t.delta = &memberDelta{}
	for ch, n := range counts {
		if n == 0 {
			continue
		}
		if err := t.writeMemberCount(ch, n); err != nil {
			return err
		}
	}
	t.group.merge(t.delta)
	return nil
}

func (t *Tx) writeMemberCount(channel string, delta int) error {
	q, arg := `UPDATE channels SET member_count = member_count + ? WHERE arn = ?`, any(channel)
	if k, ok := cachedKey(t.channelKeyArg(channel)); ok {
		q, arg = `UPDATE channels SET member_count = member_count + ? WHERE seq = ?`, k
	}
	_, err := t.exec(q, delta, arg)
	return err
}

// GetMembership returns the member's membership in the channel (a
// moderator of an elastic channel: the first of its subchannels), or ErrNotFound.
func (t *Tx) GetMembership(channel, member string) (chime.Membership, error) {
	m, _, err := scanMembership(t.queryRow(`SELECT `+membershipCols+membershipFrom+`WHERE m.channel_id = `+channelKey+` AND m.member_id = `+memberKey+`
		ORDER BY m.seq LIMIT 1`, channel, member))
	return m, notFound(err)
}

// GetMembershipIn returns the member's membership in one subchannel, or ErrNotFound.
func (t *Tx) GetMembershipIn(channel, member, sub string) (chime.Membership, error) {
	m, _, err := scanMembership(t.queryRow(`SELECT `+membershipCols+membershipFrom+`WHERE m.channel_id = `+channelKey+` AND m.member_id = `+memberKey+` AND m.sub_channel_id = ?`,
		channel, member, sub))
	return m, notFound(err)
}

// MembershipsOf returns every membership of a member in a channel: one, or
// one per subchannel for a moderator of an elastic channel.
func (t *Tx) MembershipsOf(channel, member string) ([]chime.Membership, error) {
	rows, err := t.query(`SELECT `+membershipCols+membershipFrom+`WHERE m.channel_id = `+channelKey+` AND m.member_id = `+memberKey+` ORDER BY m.seq`, channel, member)
	if err != nil {
		return nil, err
	}
	page, err := scanPage(rows, 1<<30, func(r *resultRows) (chime.Membership, int64, error) { return scanMembership(r) })
	return page.Items, err
}

// CountMemberships counts a channel's memberships of every type (one read:
// the count is kept on the channel).
func (t *Tx) CountMemberships(channel string) (int, error) {
	var n int
	err := t.queryRow(`SELECT member_count FROM channels WHERE arn = ?`, channel).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n + t.pendingMemberCount(channel), err
}

// CountUserMemberships counts a user's memberships across channels.
func (t *Tx) CountUserMemberships(member string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM memberships WHERE member_id = `+memberKey, member).Scan(&n)
	return n, err
}

// ListMemberships pages through the memberships of one type of a channel
// (sub "") or of one of its subchannels, in creation order.
func (t *Tx) ListMemberships(channel, sub, typ string, after int64, limit int) (Page[chime.Membership], error) {
	rows, err := t.query(`SELECT `+membershipCols+membershipFrom+`WHERE m.channel_id = `+channelKey+` AND m.sub_channel_id = ? AND m.type = ? AND m.seq > ?
		ORDER BY m.seq`+limitParam, channel, sub, typ, after, limit+1)
	if err != nil {
		return Page[chime.Membership]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.Membership, int64, error) { return scanMembership(r) })
}

// ListUserMemberships pages through a user's memberships, with their channels, in the order they were made.
func (t *Tx) ListUserMemberships(member string, after int64, limit int) (Page[chime.UserMembership], error) {
	rows, err := t.query(`SELECT `+membershipCols+`, `+channelCols+membershipFrom+`LEFT JOIN identities cb ON cb.arn = c.created_by WHERE m.member_id = `+memberKey+` AND m.seq > ? ORDER BY m.seq`+limitParam, member, after, limit+1)
	if err != nil {
		return Page[chime.UserMembership]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.UserMembership, int64, error) { return scanUserMembership(r) })
}

// GetUserMembership returns a user's membership in a channel with the channel, or ErrNotFound.
func (t *Tx) GetUserMembership(channel, member string) (chime.UserMembership, error) {
	um, _, err := scanUserMembership(t.queryRow(`SELECT `+membershipCols+`, `+channelCols+membershipFrom+`LEFT JOIN identities cb ON cb.arn = c.created_by WHERE m.channel_id = `+channelKey+` AND m.member_id = `+memberKey+` ORDER BY m.seq LIMIT 1`, channel, member))
	return um, notFound(err)
}

func scanUserMembership(r interface{ Scan(...any) error }) (chime.UserMembership, int64, error) {
	var ms membershipScan
	var cs channelScan
	if err := r.Scan(append(ms.dest(), cs.dest()...)...); err != nil {
		return chime.UserMembership{}, 0, err
	}
	c, err := cs.done()
	return chime.UserMembership{Membership: ms.done(), Channel: c}, ms.seq, err
}

// DeleteMembershipIn removes a member's membership in one subchannel; it reports whether one was removed.
func (t *Tx) DeleteMembershipIn(channel, member, sub string) (bool, error) {
	res, err := t.execMembers(`DELETE FROM memberships WHERE channel_id = `+channelKey+` AND member_id = `+memberKey+` AND sub_channel_id = ?`, channel, member, sub)
	if err != nil {
		return false, err
	}
	t.removedMembers(channel)
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	return true, t.addMemberCount(channel, -int(n))
}

// DeleteMembership removes a member's memberships in the channel (in every
// subchannel); it reports whether any was removed.
func (t *Tx) DeleteMembership(channel, member string) (bool, error) {
	res, err := t.execMembers(`DELETE FROM memberships WHERE channel_id = `+channelKey+` AND member_id = `+memberKey, channel, member)
	if err != nil {
		return false, err
	}
	t.removedMembers(channel)
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	return true, t.addMemberCount(channel, -int(n))
}

const moderatorCols = `m.seq, m.channel_arn, m.moderator_arn, COALESCE(mi.name, ''), m.created_by, COALESCE(cb.name, ''), m.created_ms`

const moderatorFrom = ` FROM moderators m LEFT JOIN identities mi ON mi.arn = m.moderator_arn LEFT JOIN identities cb ON cb.arn = m.created_by `

func scanModerator(r interface{ Scan(...any) error }) (chime.Moderator, int64, error) {
	var m chime.Moderator
	var seq, c int64
	err := r.Scan(&seq, &m.ChannelArn, &m.Moderator.Arn, &m.Moderator.Name, &m.CreatedBy.Arn, &m.CreatedBy.Name, &c)
	m.Created = fromMS(c)
	return m, seq, err
}

// InsertModerator stores a new moderator; an existing one is a Conflict.
func (t *Tx) InsertModerator(m chime.Moderator) error {
	_, err := t.exec(`INSERT INTO moderators (channel_arn, moderator_arn, created_by, created_ms) VALUES (?, ?, ?, ?)`,
		m.ChannelArn, m.Moderator.Arn, m.CreatedBy.Arn, ms(m.Created))
	return err
}

// GetModerator returns the moderator, or ErrNotFound.
func (t *Tx) GetModerator(channel, moderator string) (chime.Moderator, error) {
	m, _, err := scanModerator(t.queryRow(`SELECT `+moderatorCols+moderatorFrom+`WHERE m.channel_arn = ? AND m.moderator_arn = ?`, channel, moderator))
	return m, notFound(err)
}

// CountModerators counts a channel's moderators.
func (t *Tx) CountModerators(channel string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM moderators WHERE channel_arn = ?`, channel).Scan(&n)
	return n, err
}

// ListModerators pages through a channel's moderators in creation order.
func (t *Tx) ListModerators(channel string, after int64, limit int) (Page[chime.Moderator], error) {
	rows, err := t.query(`SELECT `+moderatorCols+moderatorFrom+`WHERE m.channel_arn = ? AND m.seq > ? ORDER BY m.seq`+limitParam, channel, after, limit+1)
	if err != nil {
		return Page[chime.Moderator]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.Moderator, int64, error) { return scanModerator(r) })
}

// ListModeratedChannels pages through the channels a user moderates, in the order they became moderator.
func (t *Tx) ListModeratedChannels(moderator string, after int64, limit int) (Page[chime.Channel], error) {
	rows, err := t.query(`SELECT m.seq, `+channelCols+` FROM moderators m JOIN channels c ON c.arn = m.channel_arn
		LEFT JOIN identities cb ON cb.arn = c.created_by WHERE m.moderator_arn = ? AND m.seq > ? ORDER BY m.seq`+limitParam, moderator, after, limit+1)
	if err != nil {
		return Page[chime.Channel]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.Channel, int64, error) {
		var mseq int64
		var cs channelScan
		if err := r.Scan(append([]any{&mseq}, cs.dest()...)...); err != nil {
			return chime.Channel{}, 0, err
		}
		c, err := cs.done()
		return c, mseq, err
	})
}

// DeleteModerator removes a moderator; it reports whether one was removed.
func (t *Tx) DeleteModerator(channel, moderator string) (bool, error) {
	res, err := t.exec(`DELETE FROM moderators WHERE channel_arn = ? AND moderator_arn = ?`, channel, moderator)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

const banCols = `b.seq, b.channel_arn, b.member_arn, COALESCE(mi.name, ''), b.created_by, COALESCE(cb.name, ''), b.created_ms`

const banFrom = ` FROM bans b LEFT JOIN identities mi ON mi.arn = b.member_arn LEFT JOIN identities cb ON cb.arn = b.created_by `

func scanBan(r interface{ Scan(...any) error }) (chime.Ban, int64, error) {
	var b chime.Ban
	var seq, c int64
	err := r.Scan(&seq, &b.ChannelArn, &b.Member.Arn, &b.Member.Name, &b.CreatedBy.Arn, &b.CreatedBy.Name, &c)
	b.Created = fromMS(c)
	return b, seq, err
}

// InsertBan stores a new ban; an existing one is a Conflict.
func (t *Tx) InsertBan(b chime.Ban) error {
	_, err := t.exec(`INSERT INTO bans (channel_arn, member_arn, created_by, created_ms) VALUES (?, ?, ?, ?)`,
		b.ChannelArn, b.Member.Arn, b.CreatedBy.Arn, ms(b.Created))
	return err
}

// GetBan returns the ban, or ErrNotFound.
func (t *Tx) GetBan(channel, member string) (chime.Ban, error) {
	b, _, err := scanBan(t.queryRow(`SELECT `+banCols+banFrom+`WHERE b.channel_arn = ? AND b.member_arn = ?`, channel, member))
	return b, notFound(err)
}

// ListBans pages through a channel's bans in creation order.
func (t *Tx) ListBans(channel string, after int64, limit int) (Page[chime.Ban], error) {
	rows, err := t.query(`SELECT `+banCols+banFrom+`WHERE b.channel_arn = ? AND b.seq > ? ORDER BY b.seq`+limitParam, channel, after, limit+1)
	if err != nil {
		return Page[chime.Ban]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.Ban, int64, error) { return scanBan(r) })
}

// DeleteBan removes a ban; it reports whether one was removed.
func (t *Tx) DeleteBan(channel, member string) (bool, error) {
	res, err := t.exec(`DELETE FROM bans WHERE channel_arn = ? AND member_arn = ?`, channel, member)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteBansOf lifts every ban of member, in every channel.
func (t *Tx) DeleteBansOf(member string) error {
	_, err := t.exec(`DELETE FROM bans WHERE member_arn = ?`, member)
	return err
}

// strings runs a query of one text column and returns its values.
func (t *Tx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
