package service

import (
	"strconv"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// role is what the bearer is in one channel (SEMANTICS.md §5). Admin and
// moderator are not membership: an admin or moderator who never joined is
// not a member.
type role struct {
	bearer    chime.AppInstanceUser
	channel   chime.Channel
	admin     bool // AppInstanceAdmin of the channel's app instance
	moderator bool
	member    bool
	hidden    bool // member with a HIDDEN membership
	banned    bool
}

func (r role) privileged() bool { return r.admin || r.moderator }

// channelKey names this channel, not only its ARN, for the NextToken of a
// list of its contents: a channel deleted and created again under the same
// ChannelId is another channel, and a token of the first is refused (D8).
func (r role) channelKey() string {
	return r.channel.Arn + "@" + strconv.FormatInt(r.channel.Created.UnixMilli(), 10)
}

// userKey is channelKey for the lists of one user's channels: a user
// deleted and created again under the same id is another user.
func userKey(u chime.AppInstanceUser) string {
	return u.Arn + "@" + strconv.FormatInt(u.Created.UnixMilli(), 10)
}

// roleIn loads the channel and the bearer's role in it. A bearer of another
// app instance is unauthorized (rule D5).
func (s *Service) roleIn(tx *store.Tx, c chime.Caller, channelArn string) (role, error) {
	var r role
	var err error
	// The bearer is checked first: an unknown bearer learns nothing about channels.
	if r.bearer, err = s.bearer(tx, c, ""); err != nil {
		return r, err
	}
	// A bearer of another app instance is unauthorized whether or not the
	// channel exists: the answer must not tell it which channels do (D5).
	// (An ARN that names no app instance is a channel that does not exist.)
	if ai := chime.AppInstanceOf(channelArn); ai != "" && ai != r.bearer.AppInstanceArn {
		return r, chime.Errorf(chime.KindUnauthorized, chime.MsgInvalidBearer)
	}
	if r.channel, err = s.channel(tx, channelArn); err != nil {
		return r, err
	}
	// Admin, moderator, member and banned, in one statement.
	sr, err := tx.RoleOf(r.channel.AppInstanceArn, channelArn, r.bearer.Arn)
	if err != nil {
		return r, err
	}
	r.admin, r.moderator, r.banned = sr.Admin, sr.Moderator, sr.Banned
	r.member, r.hidden = sr.Membership != "", sr.Membership == chime.MembershipHidden
	return r, nil
}

// moderatorIn is roleIn for what only the channel's moderators and the app
// instance's admins may do.
func (s *Service) moderatorIn(tx *store.Tx, c chime.Caller, channelArn string) (role, error) {
	r, err := s.roleIn(tx, c, channelArn)
	if err == nil {
		err = r.canModerate()
	}
	return r, err
}

func forbidden(format string, args ...any) error {
	return chime.Errorf(chime.KindForbidden, format, args...)
}

// canRead: members, moderators and admins read any channel they belong to or
// manage; anyone else only PUBLIC channels; a banned user nothing.
func (r role) canRead() error {
	switch {
	case r.banned:
		return forbidden("The bearer is banned from this channel.")
	case r.admin || r.moderator || r.member:
		return nil
	case r.channel.Privacy == chime.PrivacyPublic:
		return nil
	}
	return forbidden("The bearer is not a member of this private channel.")
}

// canWrite: changing a channel's messages belongs to its members, moderators
// and the app instance's admins; not to a non-member who may read a PUBLIC
// channel, nor to a banned user.
func (r role) canWrite() error {
	switch {
	case r.banned:
		return forbidden("The bearer is banned from this channel.")
	case r.admin || r.moderator || r.member:
		return nil
	}
	return forbidden("The bearer is not a member of this channel.")
}

// canModerate: moderator powers belong to the channel's moderators and the app instance's admins.
func (r role) canModerate() error {
	if r.privileged() && !r.banned {
		return nil
	}
	return forbidden("Only moderators of this channel and app instance admins can perform this action.")
}

// canAdd applies rule D9 to adding member (self when member is the bearer).
func (r role) canAdd(member, typ string) error {
	if r.banned {
		return forbidden("The bearer is banned from this channel.")
	}
	if typ == chime.MembershipHidden && !r.privileged() {
		return forbidden("Only moderators and app instance admins can create HIDDEN memberships.")
	}
	if r.privileged() {
		return nil
	}
	if r.channel.Mode == chime.ModeRestricted {
		return forbidden("Only moderators and app instance admins can add members to a RESTRICTED channel.")
	}
	if r.member {
		return nil
	}
	if member == r.bearer.Arn && r.channel.Privacy == chime.PrivacyPublic {
		return nil
	}
	if member == r.bearer.Arn {
		return forbidden("A non-member cannot join a PRIVATE channel: its members, moderators and app instance admins add members.")
	}
	return forbidden("Only members, moderators and app instance admins can add other members to this channel.")
}
