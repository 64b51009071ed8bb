package api

import (
	"context"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
)

type messageAttribute struct {
	StringValues []string `json:"StringValues,omitempty"` // {"k":{}} reads back as {"k":{}}
}

type target struct {
	MemberArn string `json:"MemberArn"`
}

type sendChannelMessageIn struct {
	ChannelArn, Content, Type, Persistence, Metadata, ContentType, ClientRequestToken, SubChannelId string
	MessageAttributes                                                                               map[string]messageAttribute
	PushNotification                                                                                *chime.PushNotification
	Target                                                                                          []target
}

var sentStatus = map[string]string{"Value": chime.StatusSent}

func (s *Server) sendChannelMessage(ctx context.Context, c chime.Caller, in *sendChannelMessageIn) (any, error) {
	sin := service.SendChannelMessageInput{ChannelArn: in.ChannelArn, Content: in.Content, Type: in.Type, Persistence: in.Persistence,
		Metadata: in.Metadata, ContentType: in.ContentType, ClientRequestToken: in.ClientRequestToken, Push: in.PushNotification,
		SubChannelID: in.SubChannelId}
	if len(in.MessageAttributes) > 0 {
		sin.Attributes = map[string][]string{}
		for k, v := range in.MessageAttributes {
			sin.Attributes[k] = v.StringValues
		}
	}
	if len(in.Target) == 1 {
		sin.Target = in.Target[0].MemberArn
	}
	m, err := s.svc.SendChannelMessage(ctx, c, sin)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelArn": m.ChannelArn, "MessageId": m.MessageID, "Status": sentStatus, "SubChannelId": str(m.SubChannelID)}, nil
}

type messageOut struct {
	ChannelArn           string                      `json:"ChannelArn,omitempty"`
	MessageId            string                      `json:"MessageId"`
	Content              *string                     `json:"Content,omitempty"`
	Metadata             *string                     `json:"Metadata,omitempty"`
	Type                 string                      `json:"Type"`
	CreatedTimestamp     *epoch                      `json:"CreatedTimestamp"`
	LastEditedTimestamp  *epoch                      `json:"LastEditedTimestamp,omitempty"`
	LastUpdatedTimestamp *epoch                      `json:"LastUpdatedTimestamp"`
	Sender               *identity                   `json:"Sender,omitempty"`
	Redacted             bool                        `json:"Redacted"`
	Persistence          string                      `json:"Persistence,omitempty"`
	Status               map[string]string           `json:"Status"`
	MessageAttributes    map[string]messageAttribute `json:"MessageAttributes,omitempty"`
	ContentType          *string                     `json:"ContentType,omitempty"`
	Target               []target                    `json:"Target,omitempty"`
	SubChannelId         *string                     `json:"SubChannelId,omitempty"`
}

// messageSummary is a message as ListChannelMessages shows it: redacted
// messages empty, with Redacted true.
func messageSummary(m chime.Message) messageOut {
	out := messageOut{MessageId: m.MessageID, Type: m.Type, CreatedTimestamp: ts(m.Created), LastEditedTimestamp: tsp(m.Edited),
		LastUpdatedTimestamp: ts(m.Updated), Sender: identityOut(m.Sender), Redacted: m.Redacted, Status: sentStatus, ContentType: str(m.ContentType)}
	if !m.Redacted {
		out.Content, out.Metadata = &m.Content, str(m.Metadata)
	}
	if len(m.Attributes) > 0 {
		out.MessageAttributes = map[string]messageAttribute{}
		for k, v := range m.Attributes {
			out.MessageAttributes[k] = messageAttribute{StringValues: v}
		}
	}
	if m.Target != "" {
		out.Target = []target{{MemberArn: m.Target}}
	}
	return out
}

type listChannelMessagesIn struct {
	ChannelArn, SortOrder, SubChannelId string
	NotBefore, NotAfter                 *time.Time
	page
}

func (s *Server) listChannelMessages(ctx context.Context, c chime.Caller, in *listChannelMessagesIn) (any, error) {
	items, sub, next, err := s.svc.ListChannelMessages(ctx, c, service.ListChannelMessagesInput{ChannelArn: in.ChannelArn,
		Ascending: in.SortOrder == "ASCENDING", NotBefore: in.NotBefore, NotAfter: in.NotAfter, SubChannelID: in.SubChannelId, PageRequest: in.req()})
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ChannelArn": in.ChannelArn, "ChannelMessages": mapList(items, messageSummary)}
	if sub != "" { // the one named, or the regular member's own
		out["SubChannelId"] = sub
	}
	return paged(out, next), nil
}

type messageIn struct {
	ChannelArn, MessageId, SubChannelId string
}

func (s *Server) getChannelMessage(ctx context.Context, c chime.Caller, in *messageIn) (any, error) {
	m, err := s.svc.GetChannelMessage(ctx, c, in.ChannelArn, in.MessageId, in.SubChannelId)
	if err != nil {
		return nil, err
	}
	out := messageSummary(m)
	out.ChannelArn, out.Persistence, out.SubChannelId = m.ChannelArn, m.Persistence, str(m.SubChannelID)
	return map[string]any{"ChannelMessage": out}, nil
}

func (s *Server) getChannelMessageStatus(ctx context.Context, c chime.Caller, in *messageIn) (any, error) {
	st, err := s.svc.GetChannelMessageStatus(ctx, c, in.ChannelArn, in.MessageId, in.SubChannelId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Status": map[string]string{"Value": st}}, nil
}

type updateChannelMessageIn struct {
	ChannelArn, MessageId, Content, SubChannelId string
	Metadata, ContentType                        *string // left out: unchanged
}

func (s *Server) updateChannelMessage(ctx context.Context, c chime.Caller, in *updateChannelMessageIn) (any, error) {
	m, err := s.svc.UpdateChannelMessage(ctx, c, service.UpdateChannelMessageInput{ChannelArn: in.ChannelArn, MessageID: in.MessageId,
		Content: in.Content, Metadata: in.Metadata, ContentType: in.ContentType, SubChannelID: in.SubChannelId})
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelArn": m.ChannelArn, "MessageId": m.MessageID, "Status": sentStatus, "SubChannelId": str(m.SubChannelID)}, nil
}

func (s *Server) redactChannelMessage(ctx context.Context, c chime.Caller, in *messageIn) (any, error) {
	m, err := s.svc.RedactChannelMessage(ctx, c, in.ChannelArn, in.MessageId, in.SubChannelId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelArn": m.ChannelArn, "MessageId": m.MessageID, "SubChannelId": str(m.SubChannelID)}, nil
}

func (s *Server) deleteChannelMessage(ctx context.Context, c chime.Caller, in *messageIn) (any, error) {
	return nil, s.svc.DeleteChannelMessage(ctx, c, in.ChannelArn, in.MessageId, in.SubChannelId)
}

func (s *Server) updateChannelReadMarker(ctx context.Context, c chime.Caller, in *channelArnIn) (any, error) {
	if err := s.svc.UpdateChannelReadMarker(ctx, c, in.ChannelArn); err != nil {
		return nil, err
	}
	return map[string]string{"ChannelArn": in.ChannelArn}, nil
}

type retentionIn struct {
	AppInstanceArn               string
	AppInstanceRetentionSettings struct {
		ChannelRetentionSettings *struct {
			RetentionDays int
		}
	}
}

func retentionOut(r service.Retention) map[string]any {
	settings := map[string]any{}
	if r.Days > 0 {
		settings["ChannelRetentionSettings"] = map[string]int{"RetentionDays": r.Days}
	}
	out := map[string]any{"AppInstanceRetentionSettings": settings}
	if r.InitiatedAt != nil {
		out["InitiateDeletionTimestamp"] = ts(*r.InitiatedAt)
	}
	return out
}

func (s *Server) putAppInstanceRetentionSettings(ctx context.Context, c chime.Caller, in *retentionIn) (any, error) {
	days := 0
	if crs := in.AppInstanceRetentionSettings.ChannelRetentionSettings; crs != nil {
		days = crs.RetentionDays
	}
	r, err := s.svc.PutAppInstanceRetentionSettings(ctx, in.AppInstanceArn, days)
	if err != nil {
		return nil, err
	}
	return retentionOut(r), nil
}

func (s *Server) getAppInstanceRetentionSettings(ctx context.Context, c chime.Caller, in *appInstanceArnIn) (any, error) {
	r, err := s.svc.GetAppInstanceRetentionSettings(ctx, in.AppInstanceArn)
	if err != nil {
		return nil, err
	}
	return retentionOut(r), nil
}

type putExpirationIn struct {
	ChannelArn, AppInstanceUserArn string
	ExpirationSettings             *expirationSettings
}

func (s *Server) putChannelExpirationSettings(ctx context.Context, c chime.Caller, in *putExpirationIn) (any, error) {
	if err := s.svc.PutChannelExpirationSettings(ctx, c, in.ChannelArn, expirationIn(in.ExpirationSettings)); err != nil {
		return nil, err
	}
	return map[string]any{"ChannelArn": in.ChannelArn, "ExpirationSettings": in.ExpirationSettings}, nil
}

func (s *Server) putAppInstanceUserExpirationSettings(ctx context.Context, c chime.Caller, in *putExpirationIn) (any, error) {
	if err := s.svc.PutAppInstanceUserExpirationSettings(ctx, in.AppInstanceUserArn, expirationIn(in.ExpirationSettings)); err != nil {
		return nil, err
	}
	return map[string]any{"AppInstanceUserArn": in.AppInstanceUserArn, "ExpirationSettings": in.ExpirationSettings}, nil
}
