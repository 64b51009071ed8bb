package service

import (
	"context"
	"errors"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// publish hands committed events to the bus. A bus failure is logged by the
// bus; the change itself is already durable and is not undone.
func (s *Service) publish(ctx context.Context, events []chime.Event) {
	if s.bus == nil || len(events) == 0 {
		return
	}
	_ = s.bus.Publish(ctx, events)
}

// isoTime formats a WebSocket payload timestamp (rule D13).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func isoTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoTime(*t)
	return &s
}

type wsIdentity struct {
	Arn  string `json:"Arn"`
	Name string `json:"Name,omitempty"`
}

func wsID(i chime.Identity) *wsIdentity {
	if i.Arn == "" {
		return nil
	}
	return &wsIdentity{Arn: i.Arn, Name: i.Name}
}

type wsChannel struct {
	ChannelArn           string      `json:"ChannelArn"`
	Name                 string      `json:"Name"`
	Mode                 string      `json:"Mode"`
	Privacy              string      `json:"Privacy"`
	Metadata             string      `json:"Metadata,omitempty"`
	CreatedBy            *wsIdentity `json:"CreatedBy,omitempty"`
	CreatedTimestamp     string      `json:"CreatedTimestamp"`
	LastUpdatedTimestamp string      `json:"LastUpdatedTimestamp"`
	LastMessageTimestamp *string     `json:"LastMessageTimestamp,omitempty"`
	// The model's Channel members, under its names.
	ElasticChannelConfiguration *chime.ElasticConfig      `json:"ElasticChannelConfiguration,omitempty"`
	ExpirationSettings          *chime.ExpirationSettings `json:"ExpirationSettings,omitempty"`
}

// wsChannelSummary is the model's ChannelSummary, as prefetch's
// CHANNEL_DETAILS carries a channel (SEMANTICS.md §10).
type wsChannelSummary struct {
	ChannelArn           string  `json:"ChannelArn"`
	Name                 string  `json:"Name"`
	Mode                 string  `json:"Mode"`
	Privacy              string  `json:"Privacy"`
	Metadata             string  `json:"Metadata,omitempty"`
	LastMessageTimestamp *string `json:"LastMessageTimestamp,omitempty"`
}

func channelSummary(c chime.Channel) wsChannelSummary {
	return wsChannelSummary{ChannelArn: c.Arn, Name: c.Name, Mode: c.Mode, Privacy: c.Privacy, Metadata: c.Metadata, LastMessageTimestamp: isoTimePtr(c.LastMessage)}
}

func channelPayload(c chime.Channel) wsChannel {
	return wsChannel{ChannelArn: c.Arn, Name: c.Name, Mode: c.Mode, Privacy: c.Privacy, Metadata: c.Metadata, CreatedBy: wsID(c.CreatedBy),
		CreatedTimestamp: isoTime(c.Created), LastUpdatedTimestamp: isoTime(c.Updated), LastMessageTimestamp: isoTimePtr(c.LastMessage),
		ElasticChannelConfiguration: c.Elastic, ExpirationSettings: c.Expiration}
}

type wsMembership struct {
	ChannelArn           string      `json:"ChannelArn"`
	Member               *wsIdentity `json:"Member"`
	InvitedBy            *wsIdentity `json:"InvitedBy,omitempty"`
	Type                 string      `json:"Type"`
	CreatedTimestamp     string      `json:"CreatedTimestamp"`
	LastUpdatedTimestamp string      `json:"LastUpdatedTimestamp"`
	SubChannelId         string      `json:"SubChannelId,omitempty"`
}

func membershipPayload(m chime.Membership) wsMembership {
	return wsMembership{ChannelArn: m.ChannelArn, Member: wsID(m.Member), InvitedBy: wsID(m.InvitedBy), Type: m.Type,
		CreatedTimestamp: isoTime(m.Created), LastUpdatedTimestamp: isoTime(m.Updated), SubChannelId: m.SubChannelID}
}

// membershipEvent describes a membership change to the channel's members and
// the member concerned; a HIDDEN membership only to that member.
func membershipEvent(tx *store.Tx, typ string, m chime.Membership) (chime.Event, error) {
	ev := chime.Event{Type: typ, MessageType: "SYSTEM", ChannelArn: m.ChannelArn, Payload: membershipPayload(m), Recipients: []string{m.Member.Arn}}
	if m.Type == chime.MembershipHidden {
		return ev, nil
	}
	// The member is among the members: it is called after the insert of a
	// new membership and before the delete of a removed one.
	var err error
	ev.Recipients, ev.Also, err = recipientsOf(tx, m.ChannelArn, m.SubChannelID)
	return ev, err
}

// channelEvent describes a change of the channel itself to its members.
func channelEvent(tx *store.Tx, typ string, c chime.Channel) (chime.Event, error) {
	ev := chime.Event{Type: typ, MessageType: "SYSTEM", ChannelArn: c.Arn, Payload: channelPayload(c)}
	var err error
	ev.Recipients, ev.Also, err = tx.MemberArns(c.Arn)
	return ev, err
}

type wsBatch struct {
	ChannelArn string        `json:"ChannelArn"`
	InvitedBy  *wsIdentity   `json:"InvitedBy,omitempty"`
	Type       string        `json:"Type"`
	Members    []*wsIdentity `json:"Members"`
}

// batchEvent describes a batch of new members to the channel's members; a
// HIDDEN batch only to the members it added.
func batchEvent(tx *store.Tx, channelArn string, res BatchResult, added []string) (chime.Event, error) {
	p := wsBatch{ChannelArn: channelArn, InvitedBy: wsID(res.InvitedBy), Type: res.Type}
	isNew := map[string]bool{}
	for _, a := range added {
		isNew[a] = true
	}
	for _, m := range res.Members {
		if isNew[m.Arn] {
			p.Members = append(p.Members, wsID(m))
		}
	}
	ev := chime.Event{Type: chime.EventBatchCreateChannelMembership, MessageType: "SYSTEM", ChannelArn: channelArn, Payload: p, Recipients: added}
	if res.Type == chime.MembershipHidden {
		return ev, nil
	}
	var err error
	ev.Recipients, ev.Also, err = tx.MemberArns(channelArn)
	return ev, err
}

// wsMessage is the model's ChannelMessage: its ChannelMessageSummary and
// three members more.
type wsMessage struct {
	ChannelArn string `json:"ChannelArn"`
	wsMessageSummary
	Persistence  string `json:"Persistence"`
	SubChannelId string `json:"SubChannelId,omitempty"`
}

// wsMessageSummary is the model's ChannelMessageSummary, as prefetch's
// CHANNEL_DETAILS carries a message (SEMANTICS.md §10).
type wsMessageSummary struct {
	MessageId            string              `json:"MessageId"`
	Content              *string             `json:"Content,omitempty"`
	Metadata             *string             `json:"Metadata,omitempty"`
	Type                 string              `json:"Type"`
	CreatedTimestamp     string              `json:"CreatedTimestamp"`
	LastUpdatedTimestamp string              `json:"LastUpdatedTimestamp"`
	LastEditedTimestamp  *string             `json:"LastEditedTimestamp,omitempty"`
	Sender               *wsIdentity         `json:"Sender"`
	Redacted             bool                `json:"Redacted"`
	Status               map[string]string   `json:"Status"`
	MessageAttributes    map[string]wsValues `json:"MessageAttributes,omitempty"`
	ContentType          string              `json:"ContentType,omitempty"`
	Target               []wsTarget          `json:"Target,omitempty"`
}

type wsValues struct {
	StringValues []string `json:"StringValues,omitempty"`
}

type wsTarget struct {
	MemberArn string `json:"MemberArn"`
}

// MessagePayload is a message as WebSocket events and prefetch carry it.
func MessagePayload(m chime.Message) any {
	return wsMessage{ChannelArn: m.ChannelArn, wsMessageSummary: messageSummary(m), Persistence: m.Persistence, SubChannelId: m.SubChannelID}
}

// messageSummary is a message as prefetch carries it.
func messageSummary(m chime.Message) wsMessageSummary {
	p := wsMessageSummary{MessageId: m.MessageID, Type: m.Type, CreatedTimestamp: isoTime(m.Created),
		LastUpdatedTimestamp: isoTime(m.Updated), LastEditedTimestamp: isoTimePtr(m.Edited), Sender: wsID(m.Sender), Redacted: m.Redacted,
		Status: map[string]string{"Value": chime.StatusSent}, ContentType: m.ContentType}
	if !m.Redacted {
		p.Content, p.Metadata = &m.Content, nilIfEmpty(m.Metadata)
	}
	if len(m.Attributes) > 0 {
		p.MessageAttributes = map[string]wsValues{}
		for k, v := range m.Attributes {
			p.MessageAttributes[k] = wsValues{StringValues: v}
		}
	}
	if m.Target != "" {
		p.Target = []wsTarget{{MemberArn: m.Target}}
	}
	return p
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// messageEvent tells a message change to the channel's members, or to its
// sender and target alone for a targeted message.
func messageEvent(tx *store.Tx, typ string, m chime.Message) (chime.Event, error) {
	ev := chime.Event{Type: typ, MessageType: m.Type, ChannelArn: m.ChannelArn, Payload: MessagePayload(m)}
	if m.Target != "" {
		// Its sender and target, while they are members of its (sub)channel:
		// one who left or was banned hears no more of it.
		who := []string{m.Sender.Arn}
		if m.Target != m.Sender.Arn {
			who = append(who, m.Target)
		}
		for _, arn := range who {
			var err error
			if m.SubChannelID != "" {
				_, err = tx.GetMembershipIn(m.ChannelArn, arn, m.SubChannelID)
			} else {
				_, err = tx.GetMembership(m.ChannelArn, arn)
			}
			if err == nil {
				ev.Recipients = append(ev.Recipients, arn)
			} else if !errors.Is(err, store.ErrNotFound) {
				return ev, err
			}
		}
		return ev, nil
	}
	var err error
	ev.Recipients, ev.Also, err = recipientsOf(tx, m.ChannelArn, m.SubChannelID)
	return ev, err
}

// recipientsOf returns the members who hear of a change: the channel's, or
// in an elastic channel those of the subchannel it happened in.
func recipientsOf(tx *store.Tx, channelArn, sub string) (list, also []string, err error) {
	if sub != "" {
		list, err = tx.MemberArnsIn(channelArn, sub)
		return list, nil, err
	}
	return tx.MemberArns(channelArn)
}
