package api

// routes maps each built operation to its handler, one line each. The
// method, path and query that select an operation come from the models;
// an operation of the models that is missing here answers 501
// NotImplementedException.
func (s *Server) routes() map[string]opFunc {
	return map[string]opFunc{
		// chime-sdk-identity
		"CreateAppInstance":        op(s.createAppInstance),
		"DescribeAppInstance":      op(s.describeAppInstance),
		"ListAppInstances":         op(s.listAppInstances),
		"UpdateAppInstance":        op(s.updateAppInstance),
		"DeleteAppInstance":        op(s.deleteAppInstance),
		"CreateAppInstanceUser":    op(s.createAppInstanceUser),
		"DescribeAppInstanceUser":  op(s.describeAppInstanceUser),
		"ListAppInstanceUsers":     op(s.listAppInstanceUsers),
		"UpdateAppInstanceUser":    op(s.updateAppInstanceUser),
		"DeleteAppInstanceUser":    op(s.deleteAppInstanceUser),
		"CreateAppInstanceBot":     op(s.createAppInstanceBot),
		"DescribeAppInstanceBot":   op(s.describeAppInstanceBot),
		"ListAppInstanceBots":      op(s.listAppInstanceBots),
		"UpdateAppInstanceBot":     op(s.updateAppInstanceBot),
		"DeleteAppInstanceBot":     op(s.deleteAppInstanceBot),
		"CreateAppInstanceAdmin":   op(s.createAppInstanceAdmin),
		"DescribeAppInstanceAdmin": op(s.describeAppInstanceAdmin),
		"ListAppInstanceAdmins":    op(s.listAppInstanceAdmins),
		"DeleteAppInstanceAdmin":   op(s.deleteAppInstanceAdmin),

		// both services
		"TagResource":         op(s.tagResource),
		"UntagResource":       op(s.untagResource),
		"ListTagsForResource": op(s.listTagsForResource),

		// chime-sdk-messaging: channels
		"CreateChannel":   op(s.createChannel),
		"DescribeChannel": op(s.describeChannel),
		"ListChannels":    op(s.listChannels),
		"UpdateChannel":   op(s.updateChannel),
		"DeleteChannel":   op(s.deleteChannel),

		// memberships
		"CreateChannelMembership":                     op(s.createChannelMembership),
		"BatchCreateChannelMembership":                op(s.batchCreateChannelMembership),
		"DescribeChannelMembership":                   op(s.describeChannelMembership),
		"DeleteChannelMembership":                     op(s.deleteChannelMembership),
		"ListChannelMemberships":                      op(s.listChannelMemberships),
		"ListChannelMembershipsForAppInstanceUser":    op(s.listChannelMembershipsForAppInstanceUser),
		"DescribeChannelMembershipForAppInstanceUser": op(s.describeChannelMembershipForAppInstanceUser),
		"GetChannelMembershipPreferences":             op(s.getChannelMembershipPreferences),
		"PutChannelMembershipPreferences":             op(s.putChannelMembershipPreferences),

		// moderators
		"CreateChannelModerator":                    op(s.createChannelModerator),
		"DescribeChannelModerator":                  op(s.describeChannelModerator),
		"ListChannelModerators":                     op(s.listChannelModerators),
		"DeleteChannelModerator":                    op(s.deleteChannelModerator),
		"ListChannelsModeratedByAppInstanceUser":    op(s.listChannelsModeratedByAppInstanceUser),
		"DescribeChannelModeratedByAppInstanceUser": op(s.describeChannelModeratedByAppInstanceUser),

		// messages, read markers, retention and expiration
		"SendChannelMessage":                   op(s.sendChannelMessage),
		"ListChannelMessages":                  op(s.listChannelMessages),
		"GetChannelMessage":                    op(s.getChannelMessage),
		"GetChannelMessageStatus":              op(s.getChannelMessageStatus),
		"UpdateChannelMessage":                 op(s.updateChannelMessage),
		"RedactChannelMessage":                 op(s.redactChannelMessage),
		"DeleteChannelMessage":                 op(s.deleteChannelMessage),
		"UpdateChannelReadMarker":              op(s.updateChannelReadMarker),
		"PutAppInstanceRetentionSettings":      op(s.putAppInstanceRetentionSettings),
		"GetAppInstanceRetentionSettings":      op(s.getAppInstanceRetentionSettings),
		"PutChannelExpirationSettings":         op(s.putChannelExpirationSettings),
		"PutAppInstanceUserExpirationSettings": op(s.putAppInstanceUserExpirationSettings),

		// elastic channels
		"ListSubChannels": op(s.listSubChannels),

		// bans
		"CreateChannelBan":   op(s.createChannelBan),
		"DescribeChannelBan": op(s.describeChannelBan),
		"ListChannelBans":    op(s.listChannelBans),
		"DeleteChannelBan":   op(s.deleteChannelBan),

		// messaging sessions
		"GetMessagingSessionEndpoint": op(s.getMessagingSessionEndpoint).withHost(),
	}
}

// legacyAlias completes the 501 message of an operation not built whose path
// the legacy chime API serves under another name, so a v1 SDK caller
// recognises the call it made.
var legacyAlias = map[string]string{
	"GetMessagingStreamingConfigurations":    " (GetAppInstanceStreamingConfigurations in the legacy chime API)",
	"PutMessagingStreamingConfigurations":    " (PutAppInstanceStreamingConfigurations in the legacy chime API)",
	"DeleteMessagingStreamingConfigurations": " (DeleteAppInstanceStreamingConfigurations in the legacy chime API)",
}
