package api

import (
	"context"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
)

type createChannelIn struct {
	AppInstanceArn, Name, Mode, Privacy, Metadata, ClientRequestToken, ChannelId string
	Tags                                                                         []tag
	MemberArns, ModeratorArns                                                    []string
	ElasticChannelConfiguration                                                  *elasticConfig
	ExpirationSettings                                                           *expirationSettings
}

func (s *Server) createChannel(ctx context.Context, c chime.Caller, in *createChannelIn) (any, error) {
	arn, err := s.svc.CreateChannel(ctx, c, service.CreateChannelInput{AppInstanceArn: in.AppInstanceArn, Name: in.Name, Mode: in.Mode,
		Privacy: in.Privacy, Metadata: in.Metadata, ChannelID: in.ChannelId, ClientRequestToken: in.ClientRequestToken,
		MemberArns: in.MemberArns, ModeratorArns: in.ModeratorArns, Tags: tagsIn(in.Tags), Expiration: expirationIn(in.ExpirationSettings),
		Elastic: in.ElasticChannelConfiguration.domain()})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ChannelArn": arn}, nil
}

type channelArnIn struct {
	ChannelArn string
}

func (s *Server) describeChannel(ctx context.Context, c chime.Caller, in *channelArnIn) (any, error) {
	ch, err := s.svc.DescribeChannel(ctx, c, in.ChannelArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Channel": channelFull(ch)}, nil
}

type listChannelsIn struct {
	AppInstanceArn, Privacy string
	page
}

func (s *Server) listChannels(ctx context.Context, c chime.Caller, in *listChannelsIn) (any, error) {
	items, next, err := s.svc.ListChannels(ctx, c, service.ListChannelsInput{AppInstanceArn: in.AppInstanceArn, Privacy: in.Privacy, PageRequest: in.req()})
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"Channels": mapList(items, channelSum)}, next), nil
}

type updateChannelIn struct {
	ChannelArn           string
	Name, Mode, Metadata *string
}

func (s *Server) updateChannel(ctx context.Context, c chime.Caller, in *updateChannelIn) (any, error) {
	err := s.svc.UpdateChannel(ctx, c, service.UpdateChannelInput{ChannelArn: in.ChannelArn, Name: in.Name, Mode: in.Mode, Metadata: in.Metadata})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ChannelArn": in.ChannelArn}, nil
}

func (s *Server) deleteChannel(ctx context.Context, c chime.Caller, in *channelArnIn) (any, error) {
	return nil, s.svc.DeleteChannel(ctx, c, in.ChannelArn)
}

type membershipIn struct {
	ChannelArn, MemberArn, Type, SubChannelId string
}

func (s *Server) createChannelMembership(ctx context.Context, c chime.Caller, in *membershipIn) (any, error) {
	m, err := s.svc.CreateChannelMembership(ctx, c, service.CreateChannelMembershipInput{ChannelArn: in.ChannelArn, MemberArn: in.MemberArn,
		Type: in.Type, SubChannelID: in.SubChannelId})
	if err != nil {
		return nil, err
	}
	return createChannelMembershipOutput(m), nil
}

// createChannelMembershipOut is CreateChannelMembership's response. It
// writes its own JSON (appendJSON, and MarshalJSON with it), byte for byte
// what the map it replaced gave (TestCreateChannelMembershipOutput): the
// keys in order, Member, SubChannelId and Member's Name left out when empty.
type createChannelMembershipOut struct {
	channelArn, memberArn, memberName, subChannelID string
}

func createChannelMembershipOutput(m chime.Membership) createChannelMembershipOut {
	return createChannelMembershipOut{channelArn: m.ChannelArn, memberArn: m.Member.Arn, memberName: m.Member.Name, subChannelID: m.SubChannelID}
}

func (o createChannelMembershipOut) appendJSON(b []byte) []byte {
	b = append(b, `{"ChannelArn":`...)
	b = appendJSONString(b, o.channelArn)
	if o.memberArn != "" {
		b = append(b, `,"Member":`...)
		b = appendIdentityJSON(b, chime.Identity{Arn: o.memberArn, Name: o.memberName})
	}
	if o.subChannelID != "" {
		b = append(b, `,"SubChannelId":`...)
		b = appendJSONString(b, o.subChannelID)
	}
	return append(b, '}')
}

func (o createChannelMembershipOut) MarshalJSON() ([]byte, error) { return o.appendJSON(nil), nil }

type batchCreateChannelMembershipIn struct {
	ChannelArn, Type, SubChannelId string
	MemberArns                     []string
}

type batchErrorOut struct {
	MemberArn    string `json:"MemberArn"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

func (s *Server) batchCreateChannelMembership(ctx context.Context, c chime.Caller, in *batchCreateChannelMembershipIn) (any, error) {
	res, err := s.svc.BatchCreateChannelMembership(ctx, c, in.ChannelArn, in.Type, in.MemberArns, in.SubChannelId)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"BatchChannelMemberships": map[string]any{
			"InvitedBy":    identityOut(res.InvitedBy),
			"Type":         res.Type,
			"Members":      mapList(res.Members, identityOut),
			"ChannelArn":   in.ChannelArn,
			"SubChannelId": str(res.SubChannelID),
		},
		"Errors": mapList(res.Errors, func(e service.BatchError) batchErrorOut {
			return batchErrorOut{MemberArn: e.MemberArn, ErrorCode: e.Code, ErrorMessage: e.Message}
		}),
	}, nil
}

func (s *Server) describeChannelMembership(ctx context.Context, c chime.Caller, in *membershipIn) (any, error) {
	m, err := s.svc.DescribeChannelMembership(ctx, c, in.ChannelArn, in.MemberArn, in.SubChannelId)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelMembership": membershipFull(m)}, nil
}

func (s *Server) deleteChannelMembership(ctx context.Context, c chime.Caller, in *membershipIn) (any, error) {
	return nil, s.svc.DeleteChannelMembership(ctx, c, in.ChannelArn, in.MemberArn, in.SubChannelId)
}

type membershipPreferencesIn struct {
	ChannelArn, MemberArn string
	Preferences           *preferencesWire
}

type preferencesWire struct {
	PushNotifications *pushPreferencesWire `json:"PushNotifications,omitempty"`
}

type pushPreferencesWire struct {
	AllowNotifications string  `json:"AllowNotifications"`
	FilterRule         *string `json:"FilterRule,omitempty"`
}

func (p *preferencesWire) domain() chime.MembershipPreferences {
	var out chime.MembershipPreferences
	if p != nil && p.PushNotifications != nil {
		out.PushNotifications = &chime.PushNotificationPreferences{AllowNotifications: p.PushNotifications.AllowNotifications}
		if fr := p.PushNotifications.FilterRule; fr != nil {
			out.PushNotifications.FilterRule = *fr
		}
	}
	return out
}

func preferencesOut(mp service.ChannelMembershipPreferences) map[string]any {
	out := map[string]any{"ChannelArn": mp.ChannelArn, "Member": identityOut(mp.Member)}
	if p := mp.Preferences; p != nil {
		w := &preferencesWire{}
		if pn := p.PushNotifications; pn != nil {
			w.PushNotifications = &pushPreferencesWire{AllowNotifications: pn.AllowNotifications, FilterRule: str(pn.FilterRule)}
		}
		out["Preferences"] = w
	}
	return out
}

func (s *Server) getChannelMembershipPreferences(ctx context.Context, c chime.Caller, in *membershipPreferencesIn) (any, error) {
	mp, err := s.svc.GetChannelMembershipPreferences(ctx, c, in.ChannelArn, in.MemberArn)
	if err != nil {
		return nil, err
	}
	return preferencesOut(mp), nil
}

func (s *Server) putChannelMembershipPreferences(ctx context.Context, c chime.Caller, in *membershipPreferencesIn) (any, error) {
	mp, err := s.svc.PutChannelMembershipPreferences(ctx, c, in.ChannelArn, in.MemberArn, in.Preferences.domain())
	if err != nil {
		return nil, err
	}
	return preferencesOut(mp), nil
}

type listChannelMembershipsIn struct {
	ChannelArn, Type, SubChannelId string
	page
}

func (s *Server) listChannelMemberships(ctx context.Context, c chime.Caller, in *listChannelMembershipsIn) (any, error) {
	items, next, err := s.svc.ListChannelMemberships(ctx, c, service.ListChannelMembershipsInput{ChannelArn: in.ChannelArn, Type: in.Type,
		SubChannelID: in.SubChannelId, PageRequest: in.req()})
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"ChannelArn": in.ChannelArn, "ChannelMemberships": mapList(items, func(m chime.Membership) memberSummary {
		return memberSummary{Member: identityOut(m.Member)}
	})}, next), nil
}

type forUserIn struct {
	ChannelArn, AppInstanceUserArn string
	page
}

func (s *Server) listChannelMembershipsForAppInstanceUser(ctx context.Context, c chime.Caller, in *forUserIn) (any, error) {
	items, next, err := s.svc.ListChannelMembershipsForAppInstanceUser(ctx, c, in.AppInstanceUserArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"ChannelMemberships": mapList(items, userMembership)}, next), nil
}

func (s *Server) describeChannelMembershipForAppInstanceUser(ctx context.Context, c chime.Caller, in *forUserIn) (any, error) {
	um, err := s.svc.DescribeChannelMembershipForAppInstanceUser(ctx, c, in.ChannelArn, in.AppInstanceUserArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelMembership": userMembership(um)}, nil
}

type moderatorIn struct {
	ChannelArn, ChannelModeratorArn string
	page
}

func (s *Server) createChannelModerator(ctx context.Context, c chime.Caller, in *moderatorIn) (any, error) {
	id, err := s.svc.CreateChannelModerator(ctx, c, in.ChannelArn, in.ChannelModeratorArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelArn": in.ChannelArn, "ChannelModerator": identityOut(id)}, nil
}

func (s *Server) describeChannelModerator(ctx context.Context, c chime.Caller, in *moderatorIn) (any, error) {
	m, err := s.svc.DescribeChannelModerator(ctx, c, in.ChannelArn, in.ChannelModeratorArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelModerator": map[string]any{"Moderator": identityOut(m.Moderator), "ChannelArn": m.ChannelArn,
		"CreatedTimestamp": ts(m.Created), "CreatedBy": identityOut(m.CreatedBy)}}, nil
}

func (s *Server) listChannelModerators(ctx context.Context, c chime.Caller, in *moderatorIn) (any, error) {
	items, next, err := s.svc.ListChannelModerators(ctx, c, in.ChannelArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"ChannelArn": in.ChannelArn, "ChannelModerators": mapList(items, func(m chime.Moderator) moderatorSummary {
		return moderatorSummary{Moderator: identityOut(m.Moderator)}
	})}, next), nil
}

func (s *Server) deleteChannelModerator(ctx context.Context, c chime.Caller, in *moderatorIn) (any, error) {
	return nil, s.svc.DeleteChannelModerator(ctx, c, in.ChannelArn, in.ChannelModeratorArn)
}

func (s *Server) listChannelsModeratedByAppInstanceUser(ctx context.Context, c chime.Caller, in *forUserIn) (any, error) {
	items, next, err := s.svc.ListChannelsModeratedByAppInstanceUser(ctx, c, in.AppInstanceUserArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"Channels": mapList(items, func(ch chime.Channel) channelSummaryWrap {
		return channelSummaryWrap{ChannelSummary: channelSum(ch)}
	})}, next), nil
}

func (s *Server) describeChannelModeratedByAppInstanceUser(ctx context.Context, c chime.Caller, in *forUserIn) (any, error) {
	ch, err := s.svc.DescribeChannelModeratedByAppInstanceUser(ctx, c, in.ChannelArn, in.AppInstanceUserArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Channel": channelSummaryWrap{ChannelSummary: channelSum(ch)}}, nil
}

type banIn struct {
	ChannelArn, MemberArn string
	page
}

func (s *Server) createChannelBan(ctx context.Context, c chime.Caller, in *banIn) (any, error) {
	id, err := s.svc.CreateChannelBan(ctx, c, in.ChannelArn, in.MemberArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelArn": in.ChannelArn, "Member": identityOut(id)}, nil
}

func (s *Server) describeChannelBan(ctx context.Context, c chime.Caller, in *banIn) (any, error) {
	b, err := s.svc.DescribeChannelBan(ctx, c, in.ChannelArn, in.MemberArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ChannelBan": map[string]any{"Member": identityOut(b.Member), "ChannelArn": b.ChannelArn,
		"CreatedTimestamp": ts(b.Created), "CreatedBy": identityOut(b.CreatedBy)}}, nil
}

func (s *Server) listChannelBans(ctx context.Context, c chime.Caller, in *banIn) (any, error) {
	items, next, err := s.svc.ListChannelBans(ctx, c, in.ChannelArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"ChannelArn": in.ChannelArn, "ChannelBans": mapList(items, func(b chime.Ban) memberSummary {
		return memberSummary{Member: identityOut(b.Member)}
	})}, next), nil
}

func (s *Server) deleteChannelBan(ctx context.Context, c chime.Caller, in *banIn) (any, error) {
	return nil, s.svc.DeleteChannelBan(ctx, c, in.ChannelArn, in.MemberArn)
}

type elasticConfig struct {
	MaximumSubChannels             int `json:"MaximumSubChannels"`
	TargetMembershipsPerSubChannel int `json:"TargetMembershipsPerSubChannel"`
	MinimumMembershipPercentage    int `json:"MinimumMembershipPercentage"`
}

func (e *elasticConfig) domain() *chime.ElasticConfig {
	if e == nil {
		return nil
	}
	return &chime.ElasticConfig{MaximumSubChannels: e.MaximumSubChannels, TargetMembershipsPerSubChannel: e.TargetMembershipsPerSubChannel,
		MinimumMembershipPercentage: e.MinimumMembershipPercentage}
}

func elasticOut(e *chime.ElasticConfig) *elasticConfig {
	if e == nil {
		return nil
	}
	return &elasticConfig{MaximumSubChannels: e.MaximumSubChannels, TargetMembershipsPerSubChannel: e.TargetMembershipsPerSubChannel,
		MinimumMembershipPercentage: e.MinimumMembershipPercentage}
}

func (s *Server) listSubChannels(ctx context.Context, c chime.Caller, in *channelArnPageIn) (any, error) {
	items, next, err := s.svc.ListSubChannels(ctx, c, in.ChannelArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"ChannelArn": in.ChannelArn, "SubChannels": mapList(items, func(sc chime.SubChannel) map[string]any {
		return map[string]any{"SubChannelId": sc.ID, "MembershipCount": sc.MembershipCount}
	})}, next), nil
}

type channelArnPageIn struct {
	ChannelArn string
	page
}
