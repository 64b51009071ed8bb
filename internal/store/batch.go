package store

import (
	"database/sql"
	"slices"
	"sort"
	"strings"

	"github.com/belfry/belfry/internal/chime"
)

// The set-based reads and writes of BatchCreateChannelMembership: one
// statement for the whole batch instead of one per member.

// inList returns "(?, ?, …)" for n values and the arguments, padded by
// repeating the last value to a power of two so that a handful of statement
// texts (each prepared once) serve every batch size.
func inList[T any](values []T) (string, []any) {
	n := 1
	for n < len(values) {
		n *= 2
	}
	args := make([]any, n)
	for i := range args {
		args[i] = values[min(i, len(values)-1)]
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")", args
}

// GetIdentities returns the users and bots among arns, by ARN.
func (t *Tx) GetIdentities(arns []string) (map[string]chime.AppInstanceUser, error) {
	out := map[string]chime.AppInstanceUser{}
	cached := t.cachesIdentities()
	if len(t.absent) > 0 { // PostgreSQL: those found absent when locked stay so
		arns = slices.DeleteFunc(slices.Clone(arns), func(arn string) bool { return t.absent[arn] })
	}
	missing := arns
	if cached {
		missing = nil
		for _, arn := range arns {
			if u, ok := getRow(t.members, t.members.ids, arn); ok {
				out[arn] = u.row
			} else {
				missing = append(missing, arn)
			}
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	in, args := inList(missing)
	rows, err := t.query(`SELECT `+identityCols+` FROM identities WHERE arn IN `+in, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u, seq, err := scanIdentity(rows)
		if err != nil {
			return nil, err
		}
		out[u.Arn] = u
		if cached {
			putRow(t.members, t.members.ids, u.Arn, keyed[chime.AppInstanceUser]{u, seq})
		}
	}
	return out, rows.Err()
}

// stringSet runs a query of one text column and returns its values as a set.
func (t *Tx) stringSet(q string, args ...any) (map[string]bool, error) {
	list, err := t.strings(q, args...)
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set, err
}

// cachedKey is the key a channelKeyArg or memberKeyArg found in the
// writer's cache, if it did.
func cachedKey(sql string, arg any) (int64, bool) {
	k, ok := arg.(int64)
	return k, ok && sql == "?"
}

// MembersAmong returns those of arns who hold a membership of channel.
func (t *Tx) MembersAmong(channel string, arns []string) (map[string]bool, error) {
	if len(arns) == 0 {
		return map[string]bool{}, nil
	}
	if ck, ca := t.channelKeyArg(channel); ck == "?" {
		// The keys as the cache holds them all: one probe of the memberships'
		// unique key for each.
		byKey := make(map[int64]string, len(arns))
		keys := make([]int64, 0, len(arns))
		for _, arn := range arns {
			k, ok := cachedKey(t.memberKeyArg(arn))
			if !ok {
				break
			}
			byKey[k] = arn
			keys = append(keys, k)
		}
		if len(keys) == len(arns) {
			in, args := inList(keys)
			rows, err := t.query(`SELECT member_id FROM memberships WHERE channel_id = ? AND member_id IN `+in, append([]any{ca}, args...)...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			out := map[string]bool{}
			for rows.Next() {
				var k int64
				if err := rows.Scan(&k); err != nil {
					return nil, err
				}
				out[byKey[k]] = true
			}
			return out, rows.Err()
		}
	}
	in, args := inList(arns)
	// Each ARN is one probe of the identities' ARN index and one of the
	// memberships' unique key, both covering: no row is read.
	return t.stringSet(`SELECT i.arn FROM identities i WHERE i.arn IN `+in+`
		AND EXISTS (SELECT 1 FROM memberships m WHERE m.channel_id = `+channelKey+` AND m.member_id = i.seq)`, append(args, channel)...)
}

// BannedAmong returns those of arns banned from channel.
func (t *Tx) BannedAmong(channel string, arns []string) (map[string]bool, error) {
	if len(arns) == 0 {
		return map[string]bool{}, nil
	}
	// Most channels ban no one: one probe of bans_list tells, before a probe
	// for each ARN.
	var some bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM bans WHERE channel_arn = ?)`, channel).Scan(&some); err != nil || !some {
		return map[string]bool{}, err
	}
	in, args := inList(arns)
	return t.stringSet(`SELECT member_arn FROM bans WHERE channel_arn = ? AND member_arn IN `+in, append([]any{channel}, args...)...)
}

// CountUserMembershipsOf counts the memberships of each of arns across
// channels (those with none are absent). The SQLite writer reads them
// through its cache (members.go) while its group has removed no membership.
func (t *Tx) CountUserMembershipsOf(arns []string) (map[string]int, error) {
	out := map[string]int{}
	cached := t.inWriterGroup() && !t.group.countsChanged() && !t.delta.countsChanged()
	missing := arns
	if cached {
		missing = nil
		for _, arn := range arns {
			if n, ok := getRow(t.members, t.members.userCounts, arn); ok {
				// The committed count, and what this group inserted since.
				if n += t.group.userAdds[arn] + t.delta.userAdds[arn]; n > 0 {
					out[arn] = n
				}
			} else {
				missing = append(missing, arn)
			}
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	in, args := inList(missing)
	rows, err := t.query(`SELECT i.arn, (SELECT COUNT(*) FROM memberships m WHERE m.member_id = i.seq) FROM identities i WHERE i.arn IN `+in, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var n int
		if err := rows.Scan(&a, &n); err != nil {
			return nil, err
		}
		if n > 0 {
			out[a] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if cached {
		for _, arn := range missing {
			// The database shows this group's inserts; the cache holds what is committed.
			putRow(t.members, t.members.userCounts, arn, out[arn]-t.group.userAdds[arn]-t.delta.userAdds[arn])
		}
	}
	return out, nil
}

// lockChunk is how many rows one locking statement names at most: the
// reaper locks every expired user at once, and PostgreSQL takes at most
// 65,535 parameters a statement (inList pads to a power of two, so 32,769
// ARNs would already ask 65,536).
const lockChunk = 1024

// LockIdentities locks the rows of users and bots (PostgreSQL; a no-op on
// the single-writer SQLite), in ARN order so that two batches locking
// overlapping users cannot deadlock; those it finds absent stay absent to
// the transaction (markAbsent). It takes lockChunk of them a statement, in
// that order still.
func (t *Tx) LockIdentities(arns []string) error {
	if !t.pg || len(arns) == 0 {
		return nil
	}
	sorted := append([]string(nil), arns...)
	sort.Strings(sorted)
	for chunk := range slices.Chunk(sorted, lockChunk) {
		in, args := inList(chunk)
		locked, err := t.stringSet(`SELECT arn FROM identities WHERE arn IN `+in+` ORDER BY arn FOR UPDATE`, args...)
		if err != nil {
			return err
		}
		for _, arn := range chunk {
			if !locked[arn] {
				t.markAbsent(arn)
			}
		}
	}
	return nil
}

// InsertMemberships stores new memberships of one channel in one statement,
// skipping any that exists; it returns how many it inserted.
func (t *Tx) InsertMemberships(channel string, list []chime.Membership) (int, error) {
	if len(list) == 0 {
		return 0, nil
	}
	key, ok := cachedKey(t.channelKeyArg(channel))
	if !ok {
		if err := t.queryRow(`SELECT seq FROM channels WHERE arn = ?`, channel).Scan(&key); err != nil {
			return 0, notFound(err)
		}
	}
	// The members' keys as the cache holds them all, else looked up by ARN.
	keys := make([]any, len(list))
	mk := "?"
	for i, m := range list {
		var ok bool
		if keys[i], ok = cachedKey(t.memberKeyArg(m.Member.Arn)); !ok {
			keys, mk = nil, memberKey
			break
		}
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms) VALUES `)
	args := make([]any, 0, 7*len(list))
	members := make([]string, 0, len(list))
	sub := list[0].SubChannelID
	for i, m := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, " + mk + ", ?, ?, ?, ?, ?)")
		var ma any = m.Member.Arn
		if keys != nil {
			ma = keys[i]
		}
		args = append(args, key, ma, m.SubChannelID, m.Type, m.InvitedBy.Arn, ms(m.Created), ms(m.Updated))
		members = append(members, m.Member.Arn)
		if m.SubChannelID != sub {
			sub = "various"
		}
	}
	b.WriteString(` ON CONFLICT (channel_id, member_id, sub_channel_id) DO NOTHING`)
	res, err := t.execMembers(b.String(), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	if int(n) == len(list) {
		t.insertedMembers(channel, sub, members...)
	} else {
		t.removedMembers(channel) // which ones were inserted is unknown: the list is read again
	}
	return int(n), t.addMemberCount(channel, int(n))
}

// Role is what a user is in a channel, as far as the store knows it.
type Role struct {
	Admin      bool   // AppInstanceAdmin of the app instance
	Moderator  bool   // moderator of the channel
	Membership string // the type of the user's (first) membership; "" when not a member
	Banned     bool
}

// RoleOf reads in one statement whether user is an admin of appInstance, a
// moderator of channel, a member (and of which type) and banned from it.
func (t *Tx) RoleOf(appInstance, channel, user string) (Role, error) {
	// The SQLite writer keeps the roles it reads while its group has changed
	// none of what they depend on, and inserted no membership for user
	// (members.go): what it reads then is committed.
	cached := t.inWriterGroup() && !t.group.rolesChanged() && !t.delta.rolesChanged() &&
		t.group.userAdds[user] == 0 && t.delta.userAdds[user] == 0
	key := [2]string{appInstance, channel}
	if cached {
		if r, ok := t.members.getRole(user, key); ok {
			return r, nil
		}
	}
	r, err := t.readRole(appInstance, channel, user)
	if err == nil && cached {
		t.members.putRole(user, key, r)
	}
	return r, err
}

func (t *Tx) readRole(appInstance, channel, user string) (Role, error) {
	var r Role
	var admin, moderator, banned int
	var typ sql.NullString
	err := t.queryRow(`SELECT
		(SELECT COUNT(*) FROM admins WHERE app_instance_arn = ? AND admin_arn = ?),
		(SELECT COUNT(*) FROM moderators WHERE channel_arn = ? AND moderator_arn = ?),
		(SELECT type FROM memberships WHERE channel_id = `+channelKey+` AND member_id = `+memberKey+` ORDER BY seq LIMIT 1),
		(SELECT COUNT(*) FROM bans WHERE channel_arn = ? AND member_arn = ?)`,
		appInstance, user, channel, user, channel, user, channel, user).Scan(&admin, &moderator, &typ, &banned)
	r.Admin, r.Moderator, r.Membership, r.Banned = admin > 0, moderator > 0, typ.String, banned > 0
	return r, err
}

// AddState is what adding a member to a channel depends on, read in one
// statement: whether they hold a membership already (in subchannel sub, or
// anywhere in the channel when sub is ""), whether they are banned, the
// channel's membership count and the member's count across channels.
type AddState struct {
	Member          bool
	Banned          bool
	ChannelMembers  int
	UserMemberships int
}

// AddStateOf reads the AddState of member in channel. On PostgreSQL the
// channel and the member must be locked first (GetChannel, LockIdentity),
// so that the counts hold until the commit.
func (t *Tx) AddStateOf(channel, member, sub string) (AddState, error) {
	var st AddState
	var isMember, banned int
	var chCount sql.NullInt64
	ck, ca := t.channelKeyArg(channel)
	mk, ma := t.memberKeyArg(member)
	inSub, args := "", []any{ca, ma}
	if sub != "" {
		inSub, args = ` AND sub_channel_id = ?`, append(args, sub)
	}
	args = append(args, channel, member, channel)
	// The member's count across channels: the SQLite writer reads it through
	// its cache (CountUserMembershipsOf), as it may be in thousands of channels.
	userCount := `0`
	if !t.inWriterGroup() {
		userCount = `(SELECT COUNT(*) FROM memberships WHERE member_id = ` + mk + `)`
		args = append(args, ma)
	}
	err := t.queryRow(`SELECT
		(SELECT COUNT(*) FROM memberships WHERE channel_id = `+ck+` AND member_id = `+mk+inSub+`),
		(SELECT COUNT(*) FROM bans WHERE channel_arn = ? AND member_arn = ?),
		(SELECT member_count FROM channels WHERE arn = ?),
		`+userCount, args...).Scan(&isMember, &banned, &chCount, &st.UserMemberships)
	st.Member, st.Banned, st.ChannelMembers = isMember > 0, banned > 0, int(chCount.Int64)+t.pendingMemberCount(channel)
	if err == nil && t.inWriterGroup() {
		var counts map[string]int
		counts, err = t.CountUserMembershipsOf([]string{member})
		st.UserMemberships = counts[member]
	}
	return st, err
}
