package chime

import "time"

// Message types, persistence and statuses.
const (
	MessageStandard      = "STANDARD"
	MessageControl       = "CONTROL"
	PersistencePersist   = "PERSISTENT"
	PersistenceTransient = "NON_PERSISTENT"
	StatusSent           = "SENT"
)

// PushNotification is a message's push notification configuration, stored and echoed.
type PushNotification struct {
	Title string `json:"Title,omitempty"`
	Body  string `json:"Body,omitempty"`
	Type  string `json:"Type,omitempty"`
}

// Message is a channel message.
type Message struct {
	ChannelArn   string
	MessageID    string
	Sender       Identity
	Type         string
	Persistence  string
	Content      string
	Metadata     string
	ContentType  string
	Attributes   map[string][]string
	Push         *PushNotification
	Target       string // the one member a targeted message is for, "" otherwise
	SubChannelID string // the subchannel of a message in an elastic channel, "" otherwise
	Redacted     bool
	Created      time.Time
	Updated      time.Time
	Edited       *time.Time
}

// VisibleTo tells whether arn may see m: a targeted message only its sender and target.
func (m Message) VisibleTo(arn string) bool {
	return m.Target == "" || m.Sender.Arn == arn || m.Target == arn
}
