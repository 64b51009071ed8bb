package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
)

// epoch is a timestamp written as epoch seconds with millisecond precision (rule D13).
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

func ts(t time.Time) *epoch {
	e := epoch(t)
	return &e
}

func tsp(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// page is the paging part of a List request.
type page struct {
	MaxResults int
	NextToken  string
}

func (p page) req() service.PageRequest {
	return service.PageRequest{MaxResults: p.MaxResults, NextToken: p.NextToken}
}

type identity struct {
	Arn  string  `json:"Arn"`
	Name *string `json:"Name,omitempty"`
}

func identityOut(i chime.Identity) *identity {
	if i.Arn == "" {
		return nil
	}
	return &identity{Arn: i.Arn, Name: str(i.Name)}
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func tagsIn(t []tag) []chime.Tag {
	out := make([]chime.Tag, 0, len(t))
	for _, x := range t {
		out = append(out, chime.Tag{Key: x.Key, Value: x.Value})
	}
	return out
}

type expirationSettings struct {
	ExpirationDays      int    `json:"ExpirationDays"`
	ExpirationCriterion string `json:"ExpirationCriterion"`
}

func expirationIn(e *expirationSettings) *chime.ExpirationSettings {
	if e == nil {
		return nil
	}
	return &chime.ExpirationSettings{ExpirationDays: e.ExpirationDays, ExpirationCriterion: e.ExpirationCriterion}
}

func expirationOut(e *chime.ExpirationSettings) *expirationSettings {
	if e == nil {
		return nil
	}
	return &expirationSettings{ExpirationDays: e.ExpirationDays, ExpirationCriterion: e.ExpirationCriterion}
}

type channelOut struct {
	Name                        string              `json:"Name"`
	ChannelArn                  string              `json:"ChannelArn"`
	Mode                        string              `json:"Mode"`
	Privacy                     string              `json:"Privacy"`
	Metadata                    *string             `json:"Metadata,omitempty"`
	CreatedBy                   *identity           `json:"CreatedBy,omitempty"`
	CreatedTimestamp            *epoch              `json:"CreatedTimestamp,omitempty"`
	LastMessageTimestamp        *epoch              `json:"LastMessageTimestamp,omitempty"`
	LastUpdatedTimestamp        *epoch              `json:"LastUpdatedTimestamp,omitempty"`
	ExpirationSettings          *expirationSettings `json:"ExpirationSettings,omitempty"`
	ElasticChannelConfiguration *elasticConfig      `json:"ElasticChannelConfiguration,omitempty"`
}

func channelFull(c chime.Channel) channelOut {
	return channelOut{Name: c.Name, ChannelArn: c.Arn, Mode: c.Mode, Privacy: c.Privacy, Metadata: str(c.Metadata),
		CreatedBy: identityOut(c.CreatedBy), CreatedTimestamp: ts(c.Created), LastMessageTimestamp: tsp(c.LastMessage),
		LastUpdatedTimestamp: ts(c.Updated), ExpirationSettings: expirationOut(c.Expiration), ElasticChannelConfiguration: elasticOut(c.Elastic)}
}

type channelSummary struct {
	Name                 string  `json:"Name"`
	ChannelArn           string  `json:"ChannelArn"`
	Mode                 string  `json:"Mode"`
	Privacy              string  `json:"Privacy"`
	Metadata             *string `json:"Metadata,omitempty"`
	LastMessageTimestamp *epoch  `json:"LastMessageTimestamp,omitempty"`
}

func channelSum(c chime.Channel) channelSummary {
	return channelSummary{Name: c.Name, ChannelArn: c.Arn, Mode: c.Mode, Privacy: c.Privacy, Metadata: str(c.Metadata), LastMessageTimestamp: tsp(c.LastMessage)}
}

type membershipOut struct {
	InvitedBy            *identity `json:"InvitedBy,omitempty"`
	Type                 string    `json:"Type"`
	Member               *identity `json:"Member"`
	ChannelArn           string    `json:"ChannelArn"`
	CreatedTimestamp     *epoch    `json:"CreatedTimestamp"`
	LastUpdatedTimestamp *epoch    `json:"LastUpdatedTimestamp"`
	SubChannelId         *string   `json:"SubChannelId,omitempty"`
}

func membershipFull(m chime.Membership) membershipOut {
	return membershipOut{InvitedBy: identityOut(m.InvitedBy), Type: m.Type, Member: identityOut(m.Member), ChannelArn: m.ChannelArn,
		CreatedTimestamp: ts(m.Created), LastUpdatedTimestamp: ts(m.Updated), SubChannelId: str(m.SubChannelID)}
}

type userMembershipOut struct {
	ChannelSummary                   channelSummary `json:"ChannelSummary"`
	AppInstanceUserMembershipSummary struct {
		Type                string  `json:"Type"`
		ReadMarkerTimestamp *epoch  `json:"ReadMarkerTimestamp,omitempty"`
		SubChannelId        *string `json:"SubChannelId,omitempty"`
	} `json:"AppInstanceUserMembershipSummary"`
}

func userMembership(um chime.UserMembership) userMembershipOut {
	var out userMembershipOut
	out.ChannelSummary = channelSum(um.Channel)
	out.AppInstanceUserMembershipSummary.Type = um.Membership.Type
	out.AppInstanceUserMembershipSummary.ReadMarkerTimestamp = tsp(um.Membership.ReadMarker)
	out.AppInstanceUserMembershipSummary.SubChannelId = str(um.Membership.SubChannelID)
	return out
}

type memberSummary struct {
	Member *identity `json:"Member"`
}

type moderatorSummary struct {
	Moderator *identity `json:"Moderator"`
}

type channelSummaryWrap struct {
	ChannelSummary channelSummary `json:"ChannelSummary"`
}

// mapList converts a page of domain values into wire values; the result is
// never nil, so an empty list is written as [] rather than null.
func mapList[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

// rawJSON returns b as raw JSON, nil when empty.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// paged adds NextToken to a list response when another page follows; the
// last page has none at all, or the SDK paginators would loop (rule D8).
func paged(out map[string]any, next *string) map[string]any {
	if next != nil {
		out["NextToken"] = *next
	}
	return out
}
