package chime

import "time"

// Principal is who signed a request: the AWS account and region it acts in
// (rule D14), and what its key may do.
type Principal struct {
	AccessKeyID string
	Region      string
	Account     string
	Scope       Scope
}

// ScopeKind says how far a key reaches, in the spirit of an IAM policy.
type ScopeKind int

// The scopes a key can have. The zero value allows nothing.
const (
	ScopeNone        ScopeKind = iota
	ScopeAccount               // account admin: every operation
	ScopeAppInstance           // every operation on one app instance and what it holds
	ScopeUser                  // messaging operations as one AppInstanceUser or bot (its bearer), and its messaging session
)

// Scope is what a key may do: ARN is the app instance of ScopeAppInstance
// and the user or bot of ScopeUser.
type Scope struct {
	Kind ScopeKind
	ARN  string
}

// Caller is a request's principal plus, for messaging operations, the
// x-amz-chime-bearer ARN it acts as. The service resolves the bearer.
type Caller struct {
	Principal
	Bearer string
}

// Identity is an ARN with its display name.
type Identity struct {
	Arn  string
	Name string
}

// Tag is a resource tag.
type Tag struct {
	Key   string
	Value string
}

// ExpirationSettings says when a user or channel expires.
type ExpirationSettings struct {
	ExpirationDays      int
	ExpirationCriterion string
}

// AppInstance is a chime-sdk-identity app instance.
type AppInstance struct {
	Arn      string
	Name     string
	Metadata string
	Created  time.Time
	Updated  time.Time
}

// Identity kinds stored for app instance users and bots.
const (
	KindUser = "user"
	KindBot  = "bot"
)

// AppInstanceUser is a user or a bot of an app instance (Kind tells which).
type AppInstanceUser struct {
	Arn            string
	AppInstanceArn string
	Kind           string
	Name           string
	Metadata       string
	Configuration  []byte // bots: the Configuration JSON as received
	Expiration     *ExpirationSettings
	Created        time.Time
	Updated        time.Time
}

// AppInstanceAdmin is an admin of an app instance.
type AppInstanceAdmin struct {
	AppInstanceArn string
	Admin          Identity
	Created        time.Time
}

// Channel modes and privacies.
const (
	ModeUnrestricted = "UNRESTRICTED"
	ModeRestricted   = "RESTRICTED"
	PrivacyPublic    = "PUBLIC"
	PrivacyPrivate   = "PRIVATE"
)

// Membership types.
const (
	MembershipDefault = "DEFAULT"
	MembershipHidden  = "HIDDEN"
)

// Channel is a messaging channel.
type Channel struct {
	Arn            string
	AppInstanceArn string
	Name           string
	Mode           string
	Privacy        string
	Metadata       string
	CreatedBy      Identity
	Created        time.Time
	Updated        time.Time
	LastMessage    *time.Time
	Expiration     *ExpirationSettings
	Elastic        *ElasticConfig // nil for a standard channel
}

// ElasticConfig is an elastic channel's ElasticChannelConfiguration.
type ElasticConfig struct {
	MaximumSubChannels             int
	TargetMembershipsPerSubChannel int
	MinimumMembershipPercentage    int
}

// SubChannel is one subchannel of an elastic channel.
type SubChannel struct {
	ID              string
	MembershipCount int // regular members; moderators are not counted
}

// Membership is a channel membership.
type Membership struct {
	ChannelArn string
	Member     Identity
	Type       string
	InvitedBy  Identity
	Created    time.Time
	Updated    time.Time
	ReadMarker *time.Time
	// SubChannelID is the subchannel of a membership in an elastic channel, "" otherwise.
	SubChannelID string
}

// Push notification settings of AllowNotifications.
const (
	NotificationsAll      = "ALL"
	NotificationsNone     = "NONE"
	NotificationsFiltered = "FILTERED"
)

// MembershipPreferences are what a member set on its own membership with
// PutChannelMembershipPreferences.
type MembershipPreferences struct {
	PushNotifications *PushNotificationPreferences // nil when not set
}

// PushNotificationPreferences say which push notifications a member gets.
type PushNotificationPreferences struct {
	AllowNotifications string // ALL, NONE or FILTERED
	FilterRule         string // a JSON object; "" when none
}

// UserMembership is one of a user's memberships with its channel, as
// ListChannelMembershipsForAppInstanceUser returns it.
type UserMembership struct {
	Channel    Channel
	Membership Membership
}

// Moderator is a channel moderator.
type Moderator struct {
	ChannelArn string
	Moderator  Identity
	CreatedBy  Identity
	Created    time.Time
}

// Ban is a channel ban.
type Ban struct {
	ChannelArn string
	Member     Identity
	CreatedBy  Identity
	Created    time.Time
}
