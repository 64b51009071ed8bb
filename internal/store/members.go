package store

import (
	"database/sql"
	"slices"
	"strings"
	"sync"

	"github.com/belfry/belfry/internal/chime"
)

// memberCache holds the member ARNs of the larger channels of an embedded
// store, the recipients of every event of the channel: without it, each
// membership added to a channel of n members read n rows again to address
// its event (61% of the CPU of CreateChannelMembership into channels of a
// few thousand members, BENCHMARKS.md). Only SQLite has one: one process
// owns the file, and every change goes through its writer goroutine. On
// PostgreSQL other nodes change memberships too, so lists are read afresh.
//
// The cache holds committed state only. A write transaction records what it
// changes in its memberDelta; the deltas of a group's transactions that
// succeed are applied once the group's commit is durable. Inserts through
// InsertMembership append to a cached list; any other change of a channel's
// memberships drops that channel's list; a change of memberships no Tx
// method accounts for (caught in exec) drops every list.
//
// It also holds the identity and channel rows the writer reads (GetIdentity,
// GetChannel), emptied after a group whose statements changed any row of
// their table (caught in exec by the statement's text).
type memberCache struct {
	mu    sync.Mutex
	lists map[string]*cachedList
	total int    // ARNs held, and one for each list
	tick  uint64 // counts uses of lists: the least recently used go first

	// The users and bots the writer has read (GetIdentity): the bearer and
	// the member of every membership call, two statements of each otherwise.
	// A group that changes any identity row empties it.
	ids map[string]keyed[chime.AppInstanceUser]
	// The channels the writer has read (GetChannel). A group that changes
	// any channel row (but for its member count, which GetChannel does not
	// read) or any identity row (it reads the creator's name) empties it.
	channels map[string]keyed[chime.Channel]
	// The users' membership counts across channels that the writer has read
	// (CountUserMembershipsOf, the per-user quota of every batch): inserts
	// add to them; a group that removes any membership empties it.
	userCounts map[string]int
	// The roles the writer has read (RoleOf: the bearer of every channel
	// call), by user, then by app instance and channel. A group that
	// changes admins, moderators, bans or removes any membership empties
	// it; one that inserts a membership for a user drops that user's.
	roles map[string]map[[2]string]Role
}

const (
	// maxCachedMembers bounds the memory the cache holds (about 120 bytes an
	// ARN, and as much for each list): lists are dropped, the least recently
	// used first, to stay under it (dropping arbitrary ones dropped the
	// lists of the channels being filled, read again in full at their next
	// event: BENCHMARKS.md). Lists of every size are kept: a channel being
	// filled by batches was read again, grown, until it was big enough.
	maxCachedMembers = 200_000
	// maxCachedRows bounds the identities held (about 300 bytes each), and
	// the channels (about 500 bytes each).
	maxCachedRows = 50_000
)

// keyed is a cached row with its integer key (its seq), by which
// memberships are indexed: the writer then writes and probes memberships
// without looking the key up by ARN.
type keyed[T any] struct {
	row T
	key int64
}

// cachedList is a channel's member ARNs, each once: appended to, never
// changed in place.
type cachedList struct {
	arns []string
	used uint64 // the cache's tick at its last use
}

func newMemberCache() *memberCache {
	return &memberCache{lists: map[string]*cachedList{}, ids: map[string]keyed[chime.AppInstanceUser]{}, channels: map[string]keyed[chime.Channel]{},
		userCounts: map[string]int{}, roles: map[string]map[[2]string]Role{}}
}

func (c *memberCache) identityCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// getRow reads one of the cache's row maps (ids, channels) under its lock.
// apply empties those maps with clear, never replaces them, so a map
// passed here stays the cache's own.
func getRow[T any](c *memberCache, rows map[string]T, arn string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := rows[arn]
	return v, ok
}

// putRow adds a row to one of the cache's row maps, dropping an arbitrary
// one when the map holds maxCachedRows.
func putRow[T any](c *memberCache, rows map[string]T, arn string, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(rows) >= maxCachedRows {
		for a := range rows {
			delete(rows, a)
			break
		}
	}
	rows[arn] = v
}

// getRole returns user's cached role in a channel.
func (c *memberCache) getRole(user string, key [2]string) (Role, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.roles[user][key]
	return r, ok
}

// putRole keeps user's role in a channel, forgetting every role when
// maxCachedRows users' are held.
func (c *memberCache) putRole(user string, key [2]string, r Role) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.roles[user]
	if !ok {
		if len(c.roles) >= maxCachedRows {
			clear(c.roles)
		}
		m = map[[2]string]Role{}
		c.roles[user] = m
	}
	if len(m) >= maxCachedRows {
		clear(m)
	}
	m[key] = r
}

func (c *memberCache) size() (lists, members int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lists), c.total - len(c.lists)
}

// get returns the cached list of channel; the caller must not change it.
func (c *memberCache) get(channel string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[channel]
	if !ok {
		return nil, false
	}
	c.tick++
	l.used = c.tick
	return l.arns, true
}

func (c *memberCache) put(channel string, arns []string) {
	if len(arns)+1 > maxCachedMembers {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(channel)
	c.tick++
	c.lists[channel] = &cachedList{arns: arns, used: c.tick}
	c.total += len(arns) + 1
	for c.total > maxCachedMembers {
		oldest := ""
		for ch, l := range c.lists {
			if ch != channel && (oldest == "" || l.used < c.lists[oldest].used) {
				oldest = ch
			}
		}
		if oldest == "" {
			break
		}
		c.drop(oldest)
	}
}

// drop forgets channel's list; the caller holds mu.
func (c *memberCache) drop(channel string) {
	if l, ok := c.lists[channel]; ok {
		c.total -= len(l.arns) + 1
		delete(c.lists, channel)
	}
}

// apply makes a committed group's changes to the cached lists.
func (c *memberCache) apply(d *memberDelta) {
	if d.empty() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.identities {
		clear(c.ids)
	}
	if d.identities || d.channels {
		clear(c.channels)
	}
	if d.rolesChanged() {
		clear(c.roles)
	} else {
		for u := range d.userAdds {
			delete(c.roles, u)
		}
	}
	if d.countsChanged() {
		clear(c.userCounts)
	} else {
		for u, n := range d.userAdds {
			if _, ok := c.userCounts[u]; ok {
				c.userCounts[u] += n
			}
		}
	}
	if d.all {
		c.lists, c.total = map[string]*cachedList{}, 0
		return
	}
	for ch := range d.dirty {
		c.drop(ch)
	}
	for ch, added := range d.added {
		if l, ok := c.lists[ch]; ok {
			// Appending never changes the elements readers of the old slice see.
			l.arns = append(l.arns, added...)
			c.total += len(added)
		}
	}
}

// memberDelta is what write transactions changed in channels' member lists.
// It also says whether they changed any identity row.
type memberDelta struct {
	all        bool                // some change no method accounted for: every list is dropped
	dirty      map[string]bool     // channels whose lists are dropped
	added      map[string][]string // channel → members inserted (new to the channel)
	identities bool                // a user or bot was inserted, changed or deleted
	channels   bool                // a channel was inserted, changed (but for its member count) or deleted
	userAdds   map[string]int      // user → memberships inserted (InsertMembership, InsertMemberships)
	roles      bool                // admins, moderators, bans or a membership's columns changed
	// Channel → change of its member count not written yet: the writer
	// writes a group's once, before its commit (flushMemberCounts), where
	// each add rewrote the channel's row.
	memberCounts map[string]int
	// Channels deleted: the changes of their counts before (in memberCounts
	// of earlier transactions) were of a row that is gone, and must not be
	// written to a channel created again under the same ARN.
	countsReset map[string]bool
}

func (d *memberDelta) empty() bool {
	return !d.all && !d.identities && !d.channels && !d.roles && len(d.dirty) == 0 && len(d.added) == 0 && len(d.userAdds) == 0
}

// rolesChanged reports whether d may have changed roles otherwise than by
// the inserts in userAdds.
func (d *memberDelta) rolesChanged() bool {
	return d.roles || d.countsChanged()
}

// countsChanged reports whether d may have changed users' membership counts
// otherwise than by the inserts in userAdds: every removal of a membership
// drops its channel's list (or all lists), so any drop counts.
func (d *memberDelta) countsChanged() bool {
	return d.all || len(d.dirty) > 0
}

// addUsers records one membership inserted for each of users.
func (d *memberDelta) addUsers(users ...string) {
	if d.userAdds == nil {
		d.userAdds = map[string]int{}
	}
	for _, u := range users {
		d.userAdds[u]++
	}
}

// rowsChanged reports whether the identity (or channel) rows the writer
// caches may differ from what is committed in d's transactions.
func (d *memberDelta) rowsChanged(channels bool) bool {
	return d == nil || d.identities || (channels && d.channels)
}

func (d *memberDelta) drop(channel string) {
	if d.dirty == nil {
		d.dirty = map[string]bool{}
	}
	d.dirty[channel] = true
	delete(d.added, channel)
}

func (d *memberDelta) add(channel string, members ...string) {
	if d.dirty[channel] {
		return
	}
	if d.added == nil {
		d.added = map[string][]string{}
	}
	d.added[channel] = append(d.added[channel], members...)
}

// merge adds the changes of a later transaction e to d.
func (d *memberDelta) merge(e *memberDelta) {
	d.all = d.all || e.all
	d.identities = d.identities || e.identities
	d.channels = d.channels || e.channels
	d.roles = d.roles || e.roles
	for ch := range e.dirty {
		d.drop(ch)
	}
	for ch, added := range e.added {
		d.add(ch, added...)
	}
	for u, n := range e.userAdds {
		if d.userAdds == nil {
			d.userAdds = map[string]int{}
		}
		d.userAdds[u] += n
	}
	for ch := range e.countsReset { // e's own changes come after its reset
		d.resetMemberCount(ch)
	}
	for ch, n := range e.memberCounts {
		d.addMemberCount(ch, n)
	}
}

// resetMemberCount forgets the changes of channel's count so far: the
// channel was deleted.
func (d *memberDelta) resetMemberCount(channel string) {
	if d.countsReset == nil {
		d.countsReset = map[string]bool{}
	}
	d.countsReset[channel] = true
	delete(d.memberCounts, channel)
}

func (d *memberDelta) addMemberCount(channel string, n int) {
	if d.memberCounts == nil {
		d.memberCounts = map[string]int{}
	}
	d.memberCounts[channel] += n
}

// touches reports whether d changed channel: false, nil when not; true and
// the members it inserted when it only inserted; true, nil otherwise.
func (d *memberDelta) touches(channel string) (bool, []string) {
	if d == nil {
		return false, nil
	}
	if d.all || d.dirty[channel] {
		return true, nil
	}
	if a, ok := d.added[channel]; ok {
		return true, a
	}
	return false, nil
}

// changesIdentities reports whether a statement inserts, updates or deletes
// users and bots.
func changesIdentities(q string) bool {
	q = strings.TrimSpace(q)
	return strings.HasPrefix(q, "DELETE FROM identities") || strings.HasPrefix(q, "INSERT INTO identities") ||
		strings.HasPrefix(q, "UPDATE identities")
}

// changesChannels reports whether a statement inserts, deletes or updates
// channels in a way GetChannel can see (not their member count or last
// activity).
func changesChannels(q string) bool {
	q = strings.TrimSpace(q)
	if strings.HasPrefix(q, "UPDATE channels SET member_count =") || strings.HasPrefix(q, "UPDATE channels SET last_activity_ms =") {
		return false
	}
	return strings.HasPrefix(q, "DELETE FROM channels") || strings.HasPrefix(q, "INSERT INTO channels") ||
		strings.HasPrefix(q, "UPDATE channels")
}

// changesRoles reports whether a statement changes what RoleOf reads other
// than by inserting or deleting memberships: admins, moderators, bans, or
// a membership's columns (its type).
func changesRoles(q string) bool {
	q = strings.TrimSpace(q)
	for _, t := range []string{"admins", "moderators", "bans"} {
		if strings.HasPrefix(q, "INSERT INTO "+t) || strings.HasPrefix(q, "DELETE FROM "+t) || strings.HasPrefix(q, "UPDATE "+t) {
			return true
		}
	}
	return strings.HasPrefix(q, "UPDATE memberships")
}

// changesMembers reports whether a statement inserts or deletes memberships.
func changesMembers(q string) bool {
	q = strings.TrimSpace(q)
	return strings.HasPrefix(q, "DELETE FROM memberships") || strings.HasPrefix(q, "INSERT INTO memberships") ||
		strings.HasPrefix(q, "INSERT OR FAIL INTO memberships")
}

// execMembers runs a statement whose change of memberships the caller
// records in the transaction's delta itself.
func (t *Tx) execMembers(q string, args ...any) (sql.Result, error) {
	t.skipCatchAll = true
	defer func() { t.skipCatchAll = false }()
	return t.exec(q, args...)
}

// insertedMembers records members new to channel in this write transaction
// (not in a subchannel: a moderator of an elastic channel may hold several
// memberships, so such a change drops the channel's list).
func (t *Tx) insertedMembers(channel, sub string, members ...string) {
	if t.delta == nil {
		return
	}
	t.delta.addUsers(members...)
	if sub != "" {
		t.delta.drop(channel)
		return
	}
	t.delta.add(channel, members...)
}

// removedMembers records that channel lost members in this write transaction.
func (t *Tx) removedMembers(channel string) {
	if t.delta != nil {
		t.delta.drop(channel)
	}
}

// MemberArns returns the ARNs of every member of a channel, of every type:
// the recipients of the channel's events, in two parts that share no ARN
// (chime.Event's Recipients and Also). Both are read-only: list may be the
// cache's own, handed out without a copy, and also the members the commit
// group has added to it since.
func (t *Tx) MemberArns(channel string) (list, also []string, err error) {
	if t.members == nil {
		list, err = t.memberArns(channel)
		return list, nil, err
	}
	var added []string
	if t.write {
		g, ga := t.group.touches(channel)
		d, da := t.delta.touches(channel)
		if (g && ga == nil) || (d && da == nil) {
			list, err = t.memberArns(channel) // the database has this transaction's changes
			return list, nil, err
		}
		// Clipped: appending da must never write into the group's slice.
		added = append(slices.Clip(ga), da...)
	}
	cached, ok := t.members.get(channel)
	if !ok {
		arns, err := t.memberArns(channel)
		// Only the writer, between commits, reads what is committed (the
		// rows less those its group inserted, which the database shows it)
		// and nothing newer: a reader's snapshot may be older than the cache.
		if err == nil && t.write {
			committed := arns
			if len(added) > 0 {
				isNew := make(map[string]bool, len(added))
				for _, a := range added {
					isNew[a] = true
				}
				committed = make([]string, 0, len(arns))
				for _, a := range arns {
					if !isNew[a] {
						committed = append(committed, a)
					}
				}
			} else {
				arns = append([]string(nil), arns...)
			}
			t.members.put(channel, committed)
		}
		return arns, nil, err
	}
	return slices.Clip(cached), added, nil
}

func (t *Tx) memberArns(channel string) ([]string, error) {
	return t.strings(`SELECT DISTINCT mi.arn FROM memberships m JOIN identities mi ON mi.seq = m.member_id
		WHERE m.channel_id = `+channelKey, channel)
}
