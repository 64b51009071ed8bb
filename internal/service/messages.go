package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// Content limits of rule D16 and SEMANTICS.md §7.
const (
	maxStandardBytes   = 4096
	maxControlBytes    = 30
	maxAttributesBytes = 1024
)

func newMessageID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func errSizeLimit() error {
	return chime.Errorf(chime.KindBadRequest, "Channel Messages size limit exceeded.")
}

// checkContent applies rule D16 to a message's content and metadata.
func checkContent(typ, content, metadata string) error {
	if typ == chime.MessageControl {
		if metadata != "" {
			return chime.Errorf(chime.KindBadRequest, "CONTROL messages cannot carry Metadata.")
		}
		if len(content) > maxControlBytes {
			return errSizeLimit()
		}
		return nil
	}
	if len(content)+len(metadata) > maxStandardBytes {
		return errSizeLimit()
	}
	return nil
}

func attributesSize(a map[string][]string) int {
	n := 0
	for k, vs := range a {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// SendChannelMessageInput is the input of SendChannelMessage.
type SendChannelMessageInput struct {
	ChannelArn         string
	Content            string
	Type               string
	Persistence        string
	Metadata           string
	ContentType        string
	ClientRequestToken string
	Attributes         map[string][]string
	Push               *chime.PushNotification
	Target             string
	SubChannelID       string
}

// SendChannelMessage sends a message as the bearer, who must be a
// non-hidden member of the channel (and not banned). NON_PERSISTENT messages
// are delivered but never stored. The same ClientRequestToken with the same
// message returns the original MessageId (rule D12).
// Errors: Unauthorized, NotFound, Forbidden (role; Target not of the app instance, D4),
// BadRequest (size, Target not a member), Conflict (token reuse).
func (s *Service) SendChannelMessage(ctx context.Context, c chime.Caller, in SendChannelMessageInput) (chime.Message, error) {
	var m chime.Message
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		r, err := s.roleIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		switch {
		case r.banned:
			return forbidden("The bearer is banned from this channel.")
		case !r.member:
			return forbidden("Only members of the channel can send messages; moderators and admins must join first.")
		case r.hidden:
			return forbidden("HIDDEN members cannot send messages.")
		}
		sub, err := s.subChannelOf(tx, r, in.SubChannelID, true)
		if err != nil {
			return err
		}
		if err := checkContent(in.Type, in.Content, in.Metadata); err != nil {
			return err
		}
		if attributesSize(in.Attributes) > maxAttributesBytes {
			return chime.Errorf(chime.KindBadRequest, "MessageAttributes exceed %d bytes in total.", maxAttributesBytes)
		}
		if in.Target != "" {
			// Rule D4 for an ARN that is no user or bot of the app instance;
			// a user or bot who is not a member is a bad Target.
			if _, err := s.memberIdentity(tx, r.channel.AppInstanceArn, in.Target); err != nil {
				return err
			}
			if _, err := tx.GetMembershipIn(in.ChannelArn, in.Target, sub); errors.Is(err, store.ErrNotFound) {
				return chime.Errorf(chime.KindBadRequest, "The Target %s is not a member of the channel (or of its SubChannel).", in.Target)
			} else if err != nil {
				return err
			}
		}
		scope := in.ChannelArn + "/SendChannelMessage:" + r.bearer.Arn
		prev, fp, err := s.replay(tx, scope, in.ClientRequestToken, in, in)
		if err != nil {
			return err
		}
		if prev != "" {
			// The answer as first given: the subchannel the message went to
			// (a member may have moved since), else the bearer's.
			m = chime.Message{ChannelArn: in.ChannelArn, MessageID: prev, Persistence: in.Persistence, SubChannelID: sub}
			if stored, err := tx.GetMessage(in.ChannelArn, prev); err == nil {
				m.SubChannelID = stored.SubChannelID
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}
		now := s.clock()
		m = chime.Message{ChannelArn: in.ChannelArn, MessageID: newMessageID(), Sender: identityOf(r.bearer), Type: in.Type,
			Persistence: in.Persistence, Content: in.Content, Metadata: in.Metadata, ContentType: in.ContentType,
			Attributes: in.Attributes, Push: in.Push, Target: in.Target, Created: now, Updated: now, SubChannelID: sub}
		if in.Persistence == chime.PersistencePersist {
			if err := tx.InsertMessage(m); err != nil {
				return err
			}
			// What each member sees as the channel's last message (SEMANTICS.md
			// §4, §6): an untargeted message moves the channel's and its
			// subchannel's; a targeted one its sender's and target's only.
			if in.Target == "" {
				err = tx.SetLastMessage(in.ChannelArn, sub, now)
			} else {
				err = tx.SetLastTargeted(in.ChannelArn, []string{r.bearer.Arn, in.Target}, now)
			}
			if err != nil {
				return err
			}
		}
		ev, err := messageEvent(tx, chime.EventCreateChannelMessage, m)
		events = append(events, ev)
		if err != nil {
			return err
		}
		return s.remember(tx, scope, in.ClientRequestToken, fp, m.MessageID)
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return m, err
}

// ListChannelMessagesInput is the input of ListChannelMessages.
type ListChannelMessagesInput struct {
	ChannelArn   string
	Ascending    bool
	NotBefore    *time.Time
	NotAfter     *time.Time
	SubChannelID string
	PageRequest
}

// ListChannelMessages pages through a channel's history, newest first unless
// Ascending, within the time bounds (inclusive). Redacted messages are
// listed empty; targeted ones only for their sender and target. Non-members
// read PUBLIC channels only. Errors: Unauthorized, NotFound, Forbidden, BadRequest.
func (s *Service) ListChannelMessages(ctx context.Context, c chime.Caller, in ListChannelMessagesInput) (items []chime.Message, subChannelID string, next *string, err error) {
	var page store.Page[chime.Message]
	var cursor *store.MessageCursor
	var filter string
	err = s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, in.ChannelArn)
		if err != nil {
			return err
		}
		if err := r.canRead(); err != nil {
			return err
		}
		sub, err := s.subChannelOf(tx, r, in.SubChannelID, false)
		if err != nil {
			return err
		}
		subChannelID = sub
		filter = fmt.Sprintf("%s|%s|%s|%v|%v|%v", r.channelKey(), sub, r.bearer.Arn, in.Ascending, notBeforeOrNil(in.NotBefore), msOrNil(in.NotAfter))
		tb, err := s.readToken("ListChannelMessages", filter, in.NextToken)
		if err != nil {
			if was, ok := s.decodeToken(in.NextToken); ok && was.Op == "ListChannelMessages" && was.Sub != "" && was.Sub != sub {
				// The pages before were of another subchannel: the bearer's
				// (SubChannelId not given) changed, as a rebalance moves
				// members (SEMANTICS.md §6).
				return chime.Errorf(chime.KindBadRequest, "The NextToken is for SubChannel %s; this request lists SubChannel %s "+
					"(an elastic channel moves members between its SubChannels). List again without a NextToken.", was.Sub, sub)
			}
			return err
		}
		q := store.MessageQuery{Channel: in.ChannelArn, Sub: sub, Viewer: r.bearer.Arn, Ascending: in.Ascending, NotBefore: in.NotBefore,
			NotAfter: in.NotAfter, Limit: in.limit()}
		if tb.After != 0 {
			q.After = &store.MessageCursor{Created: tb.Time, Seq: tb.After}
		}
		page, cursor, err = tx.ListMessages(q)
		return err
	})
	if err != nil {
		return nil, "", nil, err
	}
	if cursor != nil {
		next = s.writeToken(tokenBody{Op: "ListChannelMessages", Filter: filter, After: cursor.Seq, Time: cursor.Created, Sub: subChannelID})
	}
	return page.Items, subChannelID, next, nil
}

// notBeforeOrNil is the bound a NotBefore sets (store.NotBeforeMS): a token
// is bound to the bound the query applied, not to how the client wrote it.
func notBeforeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return store.NotBeforeMS(*t)
}

func msOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// visibleMessage loads a message the bearer may see: a targeted message is
// NotFound for anyone but its sender and target, and in an elastic channel
// a message outside the subchannel the operation acts in (see subChannelOf).
func (s *Service) visibleMessage(tx *store.Tx, r role, id, givenSub string) (chime.Message, error) {
	sub, err := s.subChannelOf(tx, r, givenSub, false)
	if err != nil {
		return chime.Message{}, err
	}
	m, err := tx.GetMessage(r.channel.Arn, id)
	if err == nil && (!m.VisibleTo(r.bearer.Arn) || m.SubChannelID != sub) {
		err = store.ErrNotFound
	}
	return m, notFoundAs(err, "The message %s does not exist in %s.", id, r.channel.Arn)
}

// GetChannelMessage returns a message to those who may read the channel.
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (SubChannelId).
func (s *Service) GetChannelMessage(ctx context.Context, c chime.Caller, channelArn, id, subChannelID string) (chime.Message, error) {
	var m chime.Message
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if err := r.canRead(); err != nil {
			return err
		}
		m, err = s.visibleMessage(tx, r, id, subChannelID)
		return err
	})
	return m, err
}

// GetChannelMessageStatus returns a message's status to its sender, while
// they are a member, moderator or admin of the channel (SEMANTICS.md §5: a
// member power, "own only"). Errors: Unauthorized, NotFound, Forbidden,
// BadRequest (SubChannelId).
func (s *Service) GetChannelMessageStatus(ctx context.Context, c chime.Caller, channelArn, id, subChannelID string) (string, error) {
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if err := r.canWrite(); err != nil {
			return err
		}
		m, err := s.visibleMessage(tx, r, id, subChannelID)
		if err == nil && m.Sender.Arn != r.bearer.Arn {
			err = forbidden("Only the sender can get a message's status.")
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return chime.StatusSent, nil
}

// UpdateChannelMessageInput is the input of UpdateChannelMessage. Metadata
// and ContentType left out (nil) stay as they are, as UpdateChannel keeps
// a Metadata it is not sent.
type UpdateChannelMessageInput struct {
	ChannelArn, MessageID, Content, SubChannelID string
	Metadata, ContentType                        *string
}

// UpdateChannelMessage edits a message: the sender's own only, whatever
// their role. Errors: Unauthorized, NotFound, Forbidden, BadRequest (size, redacted).
func (s *Service) UpdateChannelMessage(ctx context.Context, c chime.Caller, in UpdateChannelMessageInput) (chime.Message, error) {
	return s.changeMessage(ctx, c, in.ChannelArn, in.MessageID, in.SubChannelID, chime.EventUpdateChannelMessage,
		func(r role, m *chime.Message, now time.Time) error {
			if m.Sender.Arn != r.bearer.Arn {
				return forbidden("Only the sender can edit a message.")
			}
			if m.Redacted {
				return chime.Errorf(chime.KindBadRequest, "A redacted message cannot be edited.")
			}
			if in.Content != "" { // none (it cannot be empty): unchanged (the legacy model's optional Content)
				m.Content = in.Content
			}
			if in.Metadata != nil {
				m.Metadata = *in.Metadata
			}
			if in.ContentType != nil {
				m.ContentType = *in.ContentType
			}
			if err := checkContent(m.Type, m.Content, m.Metadata); err != nil {
				return err
			}
			m.Edited = &now
			return nil
		})
}

// RedactChannelMessage empties a message: members their own, moderators and
// admins any. Errors: Unauthorized, NotFound, Forbidden, BadRequest (SubChannelId).
func (s *Service) RedactChannelMessage(ctx context.Context, c chime.Caller, channelArn, id, subChannelID string) (chime.Message, error) {
	return s.changeMessage(ctx, c, channelArn, id, subChannelID, chime.EventRedactChannelMessage,
		func(r role, m *chime.Message, now time.Time) error {
			if !r.privileged() && m.Sender.Arn != r.bearer.Arn {
				return forbidden("Members can redact only their own messages; moderators and admins any.")
			}
			m.Content, m.Metadata, m.Redacted = "", "", true
			return nil
		})
}

// changeMessage runs one edit of a stored message and tells the channel.
func (s *Service) changeMessage(ctx context.Context, c chime.Caller, channelArn, id, subChannelID, event string,
	change func(r role, m *chime.Message, now time.Time) error) (chime.Message, error) {
	var m chime.Message
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		// Editing and redacting are member powers (own messages) and
		// moderator powers: a former member of a PUBLIC channel, who may
		// still read it, changes nothing (SEMANTICS.md §5).
		if err := r.canWrite(); err != nil {
			return err
		}
		if m, err = s.visibleMessage(tx, r, id, subChannelID); err != nil {
			return err
		}
		now := s.clock()
		if err := change(r, &m, now); err != nil {
			return err
		}
		m.Updated = now
		if err := tx.UpdateMessage(m); err != nil {
			return err
		}
		ev, err := messageEvent(tx, event, m)
		events = append(events, ev)
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return m, err
}

// DeleteChannelMessage deletes a message at once; AppInstanceAdmins only,
// including targeted messages they cannot see.
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (SubChannelId).
func (s *Service) DeleteChannelMessage(ctx context.Context, c chime.Caller, channelArn, id, subChannelID string) error {
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		events = nil
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if subChannelID != "" && r.channel.Elastic == nil {
			return errNotElastic()
		}
		if !r.admin {
			return forbidden("Only an AppInstanceAdmin can delete messages.")
		}
		m, err := tx.GetMessage(channelArn, id)
		if err == nil && subChannelID != "" && m.SubChannelID != subChannelID {
			err = store.ErrNotFound
		}
		if err != nil {
			return notFoundAs(err, "The message %s does not exist in %s.", id, channelArn)
		}
		ev, err := messageEvent(tx, chime.EventDeleteChannelMessage, m)
		if err != nil {
			return err
		}
		events = append(events, ev)
		_, err = tx.DeleteMessage(m)
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return err
}

// UpdateChannelReadMarker sets the bearer's read marker to now; members only.
// Errors: Unauthorized, NotFound, Forbidden.
func (s *Service) UpdateChannelReadMarker(ctx context.Context, c chime.Caller, channelArn string) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		r, err := s.roleIn(tx, c, channelArn)
		if err != nil {
			return err
		}
		if r.channel.Elastic != nil {
			return chime.Errorf(chime.KindBadRequest, "Read markers are not supported in elastic channels.")
		}
		if r.banned || !r.member {
			return forbidden("Only members of the channel have a read marker; moderators and admins must join first.")
		}
		return tx.SetReadMarker(channelArn, r.bearer.Arn, s.clock())
	})
}
