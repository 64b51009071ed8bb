package chime

import "context"

// Event is one real-time event for messaging sessions (SEMANTICS.md §10),
// published only after the change it describes is committed.
type Event struct {
	Type        string // x-amz-chime-event-type, e.g. CREATE_CHANNEL_MEMBERSHIP
	MessageType string // x-amz-chime-message-type: STANDARD, CONTROL or SYSTEM
	Reason      string // x-amz-chime-event-reason, when there is one
	ChannelArn  string // the channel the event is about
	// Recipients and Also are the user and bot ARNs that receive it,
	// decided at commit time; none is in both. Both are read-only: a
	// channel's member list is handed to every event of the channel as it
	// is, shared with the store's cache, and Also holds the members its
	// commit group added since the list was cached.
	Recipients []string
	Also       []string
	Payload    any // marshalled to JSON and sent as the frame's Payload string
}

// EachRecipient calls fn with every recipient: Recipients, then Also.
func (e Event) EachRecipient(fn func(arn string)) {
	for _, r := range e.Recipients {
		fn(r)
	}
	for _, r := range e.Also {
		fn(r)
	}
}

// RecipientCount is the number of recipients.
func (e Event) RecipientCount() int { return len(e.Recipients) + len(e.Also) }

// Bus carries committed events to the messaging sessions.
type Bus interface {
	// Publish hands events to the bus; it must not block on slow receivers.
	Publish(ctx context.Context, events []Event) error
}

// Event types.
const (
	EventCreateChannelMessage         = "CREATE_CHANNEL_MESSAGE"
	EventUpdateChannelMessage         = "UPDATE_CHANNEL_MESSAGE"
	EventRedactChannelMessage         = "REDACT_CHANNEL_MESSAGE"
	EventDeleteChannelMessage         = "DELETE_CHANNEL_MESSAGE"
	EventUpdateChannel                = "UPDATE_CHANNEL"
	EventDeleteChannel                = "DELETE_CHANNEL"
	EventCreateChannelMembership      = "CREATE_CHANNEL_MEMBERSHIP"
	EventDeleteChannelMembership      = "DELETE_CHANNEL_MEMBERSHIP"
	EventUpdateChannelMembership      = "UPDATE_CHANNEL_MEMBERSHIP"
	EventBatchCreateChannelMembership = "BATCH_CREATE_CHANNEL_MEMBERSHIP"
	EventSessionEstablished           = "SESSION_ESTABLISHED"
	EventChannelDetails               = "CHANNEL_DETAILS"
)

// EventEndSessions is Belfry's own control event, never sent to a client:
// its recipients (users or bots) no longer exist, and every node closes
// their messaging sessions. It travels the bus like the events it follows,
// addressed to the users concerned, so that it reaches the node a session is
// connected to and arrives after the events published before it. Reason
// says why (the WebSocket close reason).
const EventEndSessions = "BELFRY_END_SESSIONS"
