package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/belfry/belfry/internal/chime"
)

// InsertAppInstance stores a new app instance owned by owner ("<region>:<account>").
func (t *Tx) InsertAppInstance(owner string, a chime.AppInstance) error {
	_, err := t.exec(`INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Arn, owner, a.Name, a.Metadata, ms(a.Created), ms(a.Updated))
	return err
}

// GetAppInstance returns the app instance, or ErrNotFound.
func (t *Tx) GetAppInstance(arn string) (chime.AppInstance, error) {
	var a chime.AppInstance
	var c, u int64
	err := t.queryRow(`SELECT arn, name, metadata, created_ms, updated_ms FROM app_instances WHERE arn = ?`+t.forUpdate(""), arn).
		Scan(&a.Arn, &a.Name, &a.Metadata, &c, &u)
	a.Created, a.Updated = fromMS(c), fromMS(u)
	return a, notFound(err)
}

// LockAppInstance makes concurrent write transactions that lock the same app
// instance wait for each other (PostgreSQL; a no-op on the single-writer
// SQLite), as GetAppInstance does, without reading it: a transaction that
// deletes a channel, user or bot takes it first, before the channel and
// identity rows it locks, since it changes the app instance's counts
// (addAppInstanceCounts) and those who create take the app instance first too.
func (t *Tx) LockAppInstance(arn string) error {
	if !t.pg || !t.write {
		return nil
	}
	var one int
	err := t.queryRow(`SELECT 1 FROM app_instances WHERE arn = ? FOR UPDATE`, arn).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// LockAccount serialises, on PostgreSQL, the transactions that create app
// instances for owner (an account in a region): two nodes then neither both
// create for one ClientRequestToken (rule D12) nor both pass the
// per-account quota. An account has no row of its own; the upsert of one
// in meta locks it until the commit, as CockroachDB does too (it has no
// advisory locks).
func (t *Tx) LockAccount(owner string) error {
	if !t.pg || !t.write {
		return nil
	}
	_, err := t.exec(`INSERT INTO meta (key, value) VALUES (?, '') ON CONFLICT (key) DO UPDATE SET value = excluded.value`, "account-lock:"+owner)
	return err
}

// The counts of an app instance's channels, elastic channels, users and bots
// are kept on its row (migration 0006), changed in the transaction that
// inserts or deletes one (addAppInstanceCounts), so that a quota check reads
// one row (TestAppInstanceCountsAreOneRowRead) instead of counting rows. On
// PostgreSQL the transaction that creates has locked the app instance's row
// before it reads the count (GetAppInstance) and holds the lock until it
// commits its change of the count, so concurrent creates respect the quota
// exactly; a delete changes the count under the same lock (LockAppInstance,
// or the UPDATE's own row lock).
const (
	countChannelsSQL        = `SELECT channel_count FROM app_instances WHERE arn = ?`
	countElasticChannelsSQL = `SELECT elastic_channel_count FROM app_instances WHERE arn = ?`
	countUsersSQL           = `SELECT user_count FROM app_instances WHERE arn = ?`
	countBotsSQL            = `SELECT bot_count FROM app_instances WHERE arn = ?`
)

// appInstanceCount runs one of the count queries above; an app instance that
// does not exist has none.
func (t *Tx) appInstanceCount(q, appInstance string) (int, error) {
	var n int
	err := t.queryRow(q, appInstance).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// addAppInstanceCounts changes the counts kept on an app instance's row.
func (t *Tx) addAppInstanceCounts(appInstance string, channels, elastic, users, bots int) error {
	_, err := t.exec(`UPDATE app_instances SET channel_count = channel_count + ?, elastic_channel_count = elastic_channel_count + ?,
		user_count = user_count + ?, bot_count = bot_count + ? WHERE arn = ?`, channels, elastic, users, bots, appInstance)
	return err
}

// addIdentityCount changes the count of users or bots of an app instance.
func (t *Tx) addIdentityCount(appInstance, kind string, delta int) error {
	switch kind {
	case chime.KindUser:
		return t.addAppInstanceCounts(appInstance, 0, 0, delta, 0)
	case chime.KindBot:
		return t.addAppInstanceCounts(appInstance, 0, 0, 0, delta)
	}
	return fmt.Errorf("store: an identity of unknown kind %q", kind)
}

// CountAppInstances counts the app instances of owner.
func (t *Tx) CountAppInstances(owner string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM app_instances WHERE owner = ?`, owner).Scan(&n)
	return n, err
}

// ListAppInstances pages through owner's app instances in creation order.
func (t *Tx) ListAppInstances(owner string, after int64, limit int) (Page[chime.AppInstance], error) {
	rows, err := t.query(`SELECT seq, arn, name, metadata, created_ms, updated_ms FROM app_instances WHERE owner = ? AND seq > ? ORDER BY seq`+limitParam,
		owner, after, limit+1)
	if err != nil {
		return Page[chime.AppInstance]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.AppInstance, int64, error) {
		var a chime.AppInstance
		var seq, c, u int64
		err := r.Scan(&seq, &a.Arn, &a.Name, &a.Metadata, &c, &u)
		a.Created, a.Updated = fromMS(c), fromMS(u)
		return a, seq, err
	})
}

// UpdateAppInstance sets the name and metadata.
func (t *Tx) UpdateAppInstance(a chime.AppInstance) error {
	_, err := t.exec(`UPDATE app_instances SET name = ?, metadata = ?, updated_ms = ? WHERE arn = ?`, a.Name, a.Metadata, ms(a.Updated), a.Arn)
	return err
}

// DeleteAppInstance deletes the app instance and everything that hangs off
// it (its counts go with its row).
func (t *Tx) DeleteAppInstance(arn string) error {
	under := likePrefix(arn + "/")
	// On PostgreSQL the caller holds the app instance's lock; its users and
	// bots, then its channels, are locked too, in the order every writer
	// takes them (lockMembers, then GetChannel): a write that locked one
	// first commits before the rows below are deleted (each DELETE sees it),
	// and one that locks it after finds it gone. Without this, a membership
	// or message added meanwhile outlived its channel.
	if t.pg {
		for _, q := range []string{
			`SELECT arn FROM identities WHERE app_instance_arn = ? ORDER BY arn FOR UPDATE`,
			`SELECT arn FROM channels WHERE app_instance_arn = ? ORDER BY seq FOR UPDATE`,
		} {
			rows, err := t.query(q, arn)
			if err != nil {
				return err
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
	}
	for _, q := range []string{
		`DELETE FROM memberships WHERE channel_id IN (SELECT seq FROM channels WHERE arn LIKE ? ESCAPE '\')`,
		`DELETE FROM last_targeted WHERE channel_id IN (SELECT seq FROM channels WHERE arn LIKE ? ESCAPE '\')`,
		`DELETE FROM messages WHERE channel_arn LIKE ? ESCAPE '\'`,
		`DELETE FROM sub_channels WHERE channel_arn LIKE ? ESCAPE '\'`,
		`DELETE FROM moderators WHERE channel_arn LIKE ? ESCAPE '\'`,
		`DELETE FROM bans WHERE channel_arn LIKE ? ESCAPE '\'`,
		`DELETE FROM idempotency WHERE scope LIKE ? ESCAPE '\'`,
	} {
		if _, err := t.exec(q, under); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM channels WHERE app_instance_arn = ?`,
		`DELETE FROM admins WHERE app_instance_arn = ?`,
		`DELETE FROM identities WHERE app_instance_arn = ?`,
		`DELETE FROM app_instances WHERE arn = ?`,
	} {
		if _, err := t.exec(q, arn); err != nil {
			return err
		}
	}
	return t.deleteTagsUnder(arn)
}

const identityCols = `seq, arn, app_instance_arn, kind, name, metadata, configuration, expiration, created_ms, updated_ms`

func scanIdentity(r interface{ Scan(...any) error }) (chime.AppInstanceUser, int64, error) {
	var u chime.AppInstanceUser
	var seq, c, up int64
	var conf, exp sql.NullString
	err := r.Scan(&seq, &u.Arn, &u.AppInstanceArn, &u.Kind, &u.Name, &u.Metadata, &conf, &exp, &c, &up)
	if err != nil {
		return u, 0, err
	}
	u.Created, u.Updated = fromMS(c), fromMS(up)
	if conf.Valid {
		u.Configuration = []byte(conf.String)
	}
	if exp.Valid {
		u.Expiration = new(chime.ExpirationSettings)
		if err := json.Unmarshal([]byte(exp.String), u.Expiration); err != nil {
			return u, 0, err
		}
	}
	return u, seq, nil
}

func nullJSON(v any, isNil bool) (sql.NullString, error) {
	if isNil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(v)
	return sql.NullString{String: string(b), Valid: true}, err
}

// InsertIdentity stores a new app instance user or bot and counts it on its
// app instance.
func (t *Tx) InsertIdentity(u chime.AppInstanceUser) error {
	if u.Kind != chime.KindUser && u.Kind != chime.KindBot {
		return fmt.Errorf("store: an identity of unknown kind %q", u.Kind)
	}
	exp, err := nullJSON(u.Expiration, u.Expiration == nil)
	if err != nil {
		return err
	}
	conf := sql.NullString{String: string(u.Configuration), Valid: u.Configuration != nil}
	_, err = t.exec(`INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, configuration, expiration, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Arn, u.AppInstanceArn, u.Kind, u.Name, u.Metadata, conf, exp, ms(u.Created), ms(u.Updated))
	if err != nil {
		return err
	}
	return t.addIdentityCount(u.AppInstanceArn, u.Kind, 1)
}

// GetIdentity returns the user or bot with this ARN, or ErrNotFound.
func (t *Tx) GetIdentity(arn string) (chime.AppInstanceUser, error) {
	cached := t.cachesIdentities()
	if cached {
		if u, ok := getRow(t.members, t.members.ids, arn); ok {
			return u.row, nil
		}
	}
	if t.absent[arn] {
		return chime.AppInstanceUser{}, ErrNotFound
	}
	u, seq, err := scanIdentity(t.queryRow(`SELECT `+identityCols+` FROM identities WHERE arn = ?`, arn))
	if err == nil && cached {
		putRow(t.members, t.members.ids, u.Arn, keyed[chime.AppInstanceUser]{u, seq})
	}
	return u, notFound(err)
}

// cachesIdentities reports whether the transaction reads identities
// through the cache: the SQLite writer keeps what it reads while its group
// has changed no identity, as what it reads then is committed (members.go).
func (t *Tx) cachesIdentities() bool {
	return t.inWriterGroup() && !t.group.rowsChanged(false) && !t.delta.rowsChanged(false)
}

// inWriterGroup reports whether the transaction is one of the SQLite
// writer's group, whose caches (members.go) it may read through.
func (t *Tx) inWriterGroup() bool {
	return t.members != nil && t.write && t.group != nil && t.delta != nil
}

// LockIdentity makes concurrent write transactions that lock the same user
// or bot wait for each other (PostgreSQL); a no-op on the single-writer SQLite
// and in a read transaction.
// ErrNotFound: the row is gone, deleted by a transaction that held the lock
// (DeleteIdentity takes it first), so nothing may be added for it.
func (t *Tx) LockIdentity(arn string) error {
	if !t.pg || !t.write {
		return nil
	}
	var one int
	err := notFound(t.queryRow(`SELECT 1 FROM identities WHERE arn = ? FOR UPDATE`, arn).Scan(&one))
	if errors.Is(err, ErrNotFound) {
		t.markAbsent(arn)
	}
	return err
}

// markAbsent records that arn had no row when this transaction locked it.
func (t *Tx) markAbsent(arn string) {
	if t.absent == nil {
		t.absent = map[string]bool{}
	}
	t.absent[arn] = true
}

// CountIdentities counts an app instance's users or bots (one read: the
// counts are kept on the app instance).
func (t *Tx) CountIdentities(appInstance, kind string) (int, error) {
	switch kind {
	case chime.KindUser:
		return t.appInstanceCount(countUsersSQL, appInstance)
	case chime.KindBot:
		return t.appInstanceCount(countBotsSQL, appInstance)
	}
	return 0, fmt.Errorf("store: an identity of unknown kind %q", kind)
}

// ListIdentities pages through an app instance's users or bots in creation order.
func (t *Tx) ListIdentities(appInstance, kind string, after int64, limit int) (Page[chime.AppInstanceUser], error) {
	rows, err := t.query(`SELECT `+identityCols+` FROM identities WHERE app_instance_arn = ? AND kind = ? AND seq > ? ORDER BY seq`+limitParam,
		appInstance, kind, after, limit+1)
	if err != nil {
		return Page[chime.AppInstanceUser]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.AppInstanceUser, int64, error) { return scanIdentity(r) })
}

// UpdateIdentity sets name, metadata and configuration.
func (t *Tx) UpdateIdentity(u chime.AppInstanceUser) error {
	conf := sql.NullString{String: string(u.Configuration), Valid: u.Configuration != nil}
	_, err := t.exec(`UPDATE identities SET name = ?, metadata = ?, configuration = ?, updated_ms = ? WHERE arn = ?`,
		u.Name, u.Metadata, conf, ms(u.Updated), u.Arn)
	return err
}

// IdentityArns returns the ARNs of an app instance's users and bots.
func (t *Tx) IdentityArns(appInstance string) ([]string, error) {
	return t.strings(`SELECT arn FROM identities WHERE app_instance_arn = ?`, appInstance)
}

// ChannelsOfMember returns the channels where member has a membership (of
// any type, in any subchannel), each once, in ARN order.
func (t *Tx) ChannelsOfMember(member string) ([]string, error) {
	return t.strings(`SELECT DISTINCT c.arn FROM memberships m JOIN channels c ON c.seq = m.channel_id
		WHERE m.member_id = `+memberKey+` ORDER BY c.arn`, member)
}

// DeleteIdentity deletes a user or bot and what hangs off it: memberships,
// the times of its last targeted messages, moderator roles, bans, admin role and tags; its app instance counts one
// user or bot less.
func (t *Tx) DeleteIdentity(arn string) error {
	// Whose count it is in (a user's app instance and kind never change). On
	// PostgreSQL the caller holds the app instance's lock (LockAppInstance),
	// which any insert of this ARN needs too.
	// On PostgreSQL the row is locked before its memberships are deleted: an
	// add that locked it first commits before, and its membership is deleted
	// here; one that locks it after finds it gone (LockIdentity).
	if err := t.LockIdentity(arn); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	u, err := t.GetIdentity(arn)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	// The member lists of the channels it leaves are dropped from the cache,
	// and only those (members.go).
	channels, err := t.ChannelsOfMember(arn)
	if err != nil {
		return err
	}
	for _, q := range []string{
		// The subchannels it was a regular member of count one member less.
		`UPDATE sub_channels SET member_count = member_count - 1 WHERE (channel_arn, sub_channel_id) IN (
			SELECT c.arn, m.sub_channel_id FROM memberships m JOIN channels c ON c.seq = m.channel_id
			WHERE m.member_id = ` + memberKey + ` AND m.sub_channel_id <> ''
			AND NOT EXISTS (SELECT 1 FROM moderators d WHERE d.channel_arn = c.arn AND d.moderator_arn = ?))`,
		`UPDATE channels SET member_count = member_count - (SELECT COUNT(*) FROM memberships m WHERE m.channel_id = channels.seq AND m.member_id = ` + memberKey + `)
			WHERE seq IN (SELECT channel_id FROM memberships WHERE member_id = ` + memberKey + `)`,
		`DELETE FROM memberships WHERE member_id = ` + memberKey,
		`DELETE FROM last_targeted WHERE member_id = ` + memberKey,
		`DELETE FROM moderators WHERE moderator_arn = ?`,
		`DELETE FROM bans WHERE member_arn = ?`,
		`DELETE FROM admins WHERE admin_arn = ?`,
		`DELETE FROM tags WHERE resource_arn = ?`,
	} {
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = arn
		}
		if _, err := t.execMembers(q, args...); err != nil {
			return err
		}
	}
	for _, ch := range channels {
		t.removedMembers(ch)
	}
	// Counted off only if this transaction deleted the row: a concurrent
	// delete of the same user may have deleted it since it was read.
	res, err := t.exec(`DELETE FROM identities WHERE arn = ?`, arn)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 || !found {
		return err
	}
	return t.addIdentityCount(u.AppInstanceArn, u.Kind, -1)
}

// InsertAdmin makes adminArn an admin of the app instance.
func (t *Tx) InsertAdmin(a chime.AppInstanceAdmin) error {
	_, err := t.exec(`INSERT INTO admins (app_instance_arn, admin_arn, created_ms) VALUES (?, ?, ?)`, a.AppInstanceArn, a.Admin.Arn, ms(a.Created))
	return err
}

// GetAdmin returns the admin entry, or ErrNotFound.
func (t *Tx) GetAdmin(appInstance, adminArn string) (chime.AppInstanceAdmin, error) {
	var a chime.AppInstanceAdmin
	var c int64
	err := t.queryRow(`SELECT a.app_instance_arn, a.admin_arn, COALESCE(i.name, ''), a.created_ms FROM admins a
		LEFT JOIN identities i ON i.arn = a.admin_arn WHERE a.app_instance_arn = ? AND a.admin_arn = ?`, appInstance, adminArn).
		Scan(&a.AppInstanceArn, &a.Admin.Arn, &a.Admin.Name, &c)
	a.Created = fromMS(c)
	return a, notFound(err)
}

// IsAdmin tells whether arn is an admin of the app instance.
func (t *Tx) IsAdmin(appInstance, arn string) (bool, error) {
	_, err := t.GetAdmin(appInstance, arn)
	if err == ErrNotFound {
		return false, nil
	}
	return err == nil, err
}

// CountAdmins counts an app instance's admins.
func (t *Tx) CountAdmins(appInstance string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM admins WHERE app_instance_arn = ?`, appInstance).Scan(&n)
	return n, err
}

// ListAdmins pages through an app instance's admins in the order they were made.
func (t *Tx) ListAdmins(appInstance string, after int64, limit int) (Page[chime.AppInstanceAdmin], error) {
	rows, err := t.query(`SELECT a.seq, a.app_instance_arn, a.admin_arn, COALESCE(i.name, ''), a.created_ms FROM admins a
		LEFT JOIN identities i ON i.arn = a.admin_arn WHERE a.app_instance_arn = ? AND a.seq > ? ORDER BY a.seq`+limitParam, appInstance, after, limit+1)
	if err != nil {
		return Page[chime.AppInstanceAdmin]{}, err
	}
	return scanPage(rows, limit, func(r *resultRows) (chime.AppInstanceAdmin, int64, error) {
		var a chime.AppInstanceAdmin
		var seq, c int64
		err := r.Scan(&seq, &a.AppInstanceArn, &a.Admin.Arn, &a.Admin.Name, &c)
		a.Created = fromMS(c)
		return a, seq, err
	})
}

// DeleteAdmin removes an admin; it reports whether one was removed.
func (t *Tx) DeleteAdmin(appInstance, adminArn string) (bool, error) {
	res, err := t.exec(`DELETE FROM admins WHERE app_instance_arn = ? AND admin_arn = ?`, appInstance, adminArn)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
