package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/belfry/belfry/internal/chime"
)

// Buckets is how many NATS subjects events are spread over, by a hash of
// each recipient's ARN: an event is published once per bucket holding some
// of its recipients, carrying only those recipients, and a node subscribes
// only to the buckets of the users connected to it (see Want).
const Buckets = 64

// SubjectPrefix starts every event subject: belfry.ev.<bucket>.
const SubjectPrefix = "belfry.ev."

// NATS is a bus spanning nodes: events committed on any node reach the
// sessions of every node. Each node fans what it receives out through a
// Local bus, so ordering and slow-subscriber behaviour are Local's.
type NATS struct {
	nc    *nats.Conn
	local *Local
	log   *slog.Logger

	mu       sync.Mutex
	interest map[int]int        // bucket -> number of Want holders
	subs     map[int]*bucketSub // bucket -> its subscription
	all      *nats.Subscription // the wildcard subscription, when not filtering
	closed   bool
}

var _ Bus = (*NATS)(nil)

// NATSOptions configure NewNATS.
type NATSOptions struct {
	// Filter subscribes only to the buckets of recipients someone Wants;
	// false subscribes to every event (tools, tests).
	Filter bool
	Log    *slog.Logger
}

// NewNATS connects to the NATS server at url. It keeps reconnecting for
// ever when the server goes away; Healthy tells whether it is connected.
func NewNATS(url string, o NATSOptions) (*NATS, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	b := &NATS{local: NewLocal(), log: o.Log, interest: map[int]int{}, subs: map[int]*bucketSub{}}
	nc, err := nats.Connect(url, nats.Name("belfry"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond), nats.Timeout(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { o.Log.Info("nats reconnected", "url", c.ConnectedUrl()) }))
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	b.nc = nc
	if !o.Filter {
		if b.all, err = nc.Subscribe(SubjectPrefix+"*", b.receive); err != nil {
			nc.Close()
			return nil, fmt.Errorf("nats subscribe: %w", err)
		}
	}
	return b, nil
}

// Healthy reports an error while the NATS connection is down.
func (b *NATS) Healthy() error {
	if b.nc.Status() != nats.CONNECTED {
		return fmt.Errorf("nats is %s", b.nc.Status())
	}
	return nil
}

// BucketOf is the bucket an ARN's events travel in.
func BucketOf(arn string) int {
	h := fnv.New32a()
	h.Write([]byte(arn))
	return int(h.Sum32() % Buckets)
}

// wireEvent is an event on the wire: the payload travels as raw JSON.
type wireEvent struct {
	Type        string          `json:"t"`
	MessageType string          `json:"m,omitempty"`
	Reason      string          `json:"r,omitempty"`
	ChannelArn  string          `json:"c,omitempty"`
	Recipients  []string        `json:"to,omitempty"`
	Payload     json.RawMessage `json:"p,omitempty"`
}

// Publish sends each event once per bucket of its recipients. It fails
// (without blocking) while NATS is unreachable and its reconnect buffer is full.
func (b *NATS) Publish(ctx context.Context, events []chime.Event) error {
	for _, ev := range events {
		payload, err := json.Marshal(ev.Payload)
		if err != nil {
			return fmt.Errorf("nats: encode payload: %w", err)
		}
		byBucket := map[int][]string{}
		ev.EachRecipient(func(r string) {
			k := BucketOf(r)
			byBucket[k] = append(byBucket[k], r)
		})
		if ev.RecipientCount() == 0 {
			byBucket[0] = nil
		}
		for k, rs := range byBucket {
			data, err := json.Marshal(wireEvent{Type: ev.Type, MessageType: ev.MessageType, Reason: ev.Reason, ChannelArn: ev.ChannelArn,
				Recipients: rs, Payload: payload})
			if err != nil {
				return err
			}
			if err := b.nc.Publish(fmt.Sprintf("%s%d", SubjectPrefix, k), data); err != nil {
				return fmt.Errorf("nats publish: %w", err)
			}
		}
	}
	return nil
}

func (b *NATS) receive(m *nats.Msg) {
	var w wireEvent
	if err := json.Unmarshal(m.Data, &w); err != nil {
		b.log.Warn("nats: undecodable event", "subject", m.Subject, "err", err)
		return
	}
	ev := chime.Event{Type: w.Type, MessageType: w.MessageType, Reason: w.Reason, ChannelArn: w.ChannelArn, Recipients: w.Recipients}
	if len(w.Payload) > 0 {
		ev.Payload = w.Payload
	}
	b.local.Publish(context.Background(), []chime.Event{ev})
}

// Subscribe calls fn with every event this node receives (see Local.Subscribe).
func (b *NATS) Subscribe(fn func(chime.Event)) (func(), error) {
	unsub, err := b.local.Subscribe(fn)
	if err != nil {
		return nil, err
	}
	// The subscription is registered on the server before Subscribe returns.
	if err := b.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionReconnecting) {
		b.log.Warn("nats flush", "err", err)
	}
	return unsub, nil
}

// Want declares that this node has a session for recipient, so that it
// subscribes to that recipient's bucket; release undoes it. Without Filter
// it does nothing: every event arrives anyway. It returns once the bucket's
// subscription is registered on the NATS server (a flush), so that every
// event published from then on arrives; the flush is not made under b.mu,
// so a slow or stalled NATS holds up only the Wants of the buckets it is
// subscribing to, not the others or any release.
func (b *NATS) Want(recipient string) (release func()) {
	if b.all != nil {
		return func() {}
	}
	k := BucketOf(recipient)
	b.mu.Lock()
	s, first := b.subs[k], false
	if s == nil && !b.closed {
		sub, err := b.nc.Subscribe(fmt.Sprintf("%s%d", SubjectPrefix, k), b.receive)
		if err != nil {
			b.log.Error("nats subscribe", "bucket", k, "err", err)
		} else {
			s, first = &bucketSub{sub: sub, ready: make(chan struct{})}, true
			b.subs[k] = s
		}
	}
	b.interest[k]++
	b.mu.Unlock()
	switch {
	case first:
		if err := b.nc.Flush(); err != nil && !errors.Is(err, nats.ErrConnectionReconnecting) {
			b.log.Warn("nats flush", "bucket", k, "err", err)
		}
		close(s.ready)
	case s != nil:
		<-s.ready // another Want's flush of the same bucket
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.interest[k]--
			if b.interest[k] == 0 {
				if s := b.subs[k]; s != nil {
					s.sub.Unsubscribe()
				}
				delete(b.subs, k)
				delete(b.interest, k)
			}
		})
	}
}

// bucketSub is a bucket's subscription; ready is closed once it is
// registered on the NATS server (or its flush failed).
type bucketSub struct {
	sub   *nats.Subscription
	ready chan struct{}
}

// Close drains the connection and ends every subscription.
func (b *NATS) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.nc.Close()
	return b.local.Close()
}
