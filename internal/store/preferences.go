package store

import (
	"database/sql"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// Membership preferences live on the membership row (sub_channel_id '':
// elastic channels have none), so whatever deletes a membership deletes them.

// GetMembershipPreferences returns the preferences of member's membership
// in channel: nil when the member never put any, ErrNotFound when there is
// no such membership.
func (t *Tx) GetMembershipPreferences(channel, member string) (*chime.MembershipPreferences, error) {
	var set sql.NullInt64
	var allow, rule sql.NullString
	err := t.queryRow(`SELECT preferences_ms, push_allow, push_filter_rule FROM memberships
		WHERE channel_id = `+channelKey+` AND member_id = `+memberKey+` AND sub_channel_id = ''`, channel, member).Scan(&set, &allow, &rule)
	if err != nil {
		return nil, notFound(err)
	}
	if !set.Valid {
		return nil, nil
	}
	p := &chime.MembershipPreferences{}
	if allow.Valid {
		p.PushNotifications = &chime.PushNotificationPreferences{AllowNotifications: allow.String, FilterRule: rule.String}
	}
	return p, nil
}

// PutMembershipPreferences replaces the preferences of member's membership
// in channel, recording when; it reports whether there was such a membership.
func (t *Tx) PutMembershipPreferences(channel, member string, p chime.MembershipPreferences, at time.Time) (bool, error) {
	var allow, rule sql.NullString
	if pn := p.PushNotifications; pn != nil {
		allow = sql.NullString{String: pn.AllowNotifications, Valid: true}
		rule = sql.NullString{String: pn.FilterRule, Valid: pn.FilterRule != ""}
	}
	res, err := t.exec(`UPDATE memberships SET preferences_ms = ?, push_allow = ?, push_filter_rule = ?
		WHERE channel_id = `+channelKey+` AND member_id = `+memberKey+` AND sub_channel_id = ''`, ms(at), allow, rule, channel, member)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
