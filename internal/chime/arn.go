package chime

import "strings"

// ARN is a parsed Chime ARN: arn:aws:chime:<region>:<account>:app-instance/<id>[/<kind>/<id>].
type ARN struct {
	Partition     string
	Region        string
	Account       string
	AppInstanceID string
	Kind          string // "" for the app instance itself, else "user", "bot", "channel", "channel-flow"
	ID            string // the id after Kind
}

// Resource kinds that can follow an app instance in an ARN.
const (
	ArnUser        = "user"
	ArnBot         = "bot"
	ArnChannel     = "channel"
	ArnChannelFlow = "channel-flow"
)

// ParseARN parses a Chime SDK ARN. ok is false when s is not a chime
// app-instance ARN or one of its children.
func ParseARN(s string) (a ARN, ok bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "chime" || parts[3] == "" || parts[4] == "" {
		return ARN{}, false
	}
	a.Partition, a.Region, a.Account = parts[1], parts[3], parts[4]
	res, found := strings.CutPrefix(parts[5], "app-instance/")
	if !found {
		return ARN{}, false
	}
	id, rest, hasRest := strings.Cut(res, "/")
	if id == "" {
		return ARN{}, false
	}
	a.AppInstanceID = id
	if !hasRest {
		return a, true
	}
	kind, childID, ok := strings.Cut(rest, "/")
	if !ok || childID == "" || strings.Contains(childID, "/") {
		return ARN{}, false
	}
	switch kind {
	case ArnUser, ArnBot, ArnChannel, ArnChannelFlow:
	default:
		return ARN{}, false
	}
	a.Kind, a.ID = kind, childID
	return a, true
}

// AppInstanceARN returns the ARN of the app instance a belongs to.
func (a ARN) AppInstanceARN() string {
	return "arn:" + a.Partition + ":chime:" + a.Region + ":" + a.Account + ":app-instance/" + a.AppInstanceID
}

// String formats a.
func (a ARN) String() string {
	if a.Kind == "" {
		return a.AppInstanceARN()
	}
	return a.AppInstanceARN() + "/" + a.Kind + "/" + a.ID
}

// Child returns the ARN of a resource of the given kind and id inside app instance a.
func (a ARN) Child(kind, id string) string {
	c := a
	c.Kind, c.ID = kind, id
	return c.String()
}

// AppInstanceOf returns the app instance ARN that the ARN s belongs to, or "" if s is not a Chime ARN.
func AppInstanceOf(s string) string {
	a, ok := ParseARN(s)
	if !ok {
		return ""
	}
	return a.AppInstanceARN()
}
