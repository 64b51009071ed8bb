// Package bus carries committed events from the service to the messaging
// sessions. Local is the in-process bus of a single node; a bus spanning
// nodes (NATS) implements the same two methods.
package bus

import (
	"context"
	"errors"
	"sync"

	"github.com/belfry/belfry/internal/chime"
)

// Bus is a chime.Bus that the session hub can subscribe to. Implementations:
// Local (one process); a NATS bus spanning nodes follows the same contract
// (bustest.Run).
type Bus interface {
	chime.Bus
	// Subscribe calls fn with every event published from now on, in the order
	// each publisher published them, from a goroutine of the bus: a slow fn
	// delays only itself. The returned function ends the subscription.
	Subscribe(fn func(chime.Event)) (unsubscribe func(), err error)
	// Close ends every subscription and refuses further use.
	Close() error
}

var _ Bus = (*Local)(nil)

// ErrClosed is returned by Publish and Subscribe after Close.
var ErrClosed = errors.New("bus: closed")

// Local is an in-process bus. Publish appends to each subscriber's queue and
// returns at once; every subscriber has its own goroutine that hands it the
// events one at a time, in the order they were published. A slow subscriber
// therefore delays only itself (its queue grows); the session hub, the one
// subscriber in production, only moves each event into per-connection
// bounded queues and never blocks.
type Local struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewLocal returns an empty in-process bus.
func NewLocal() *Local { return &Local{subs: map[*subscriber]struct{}{}} }

type subscriber struct {
	fn    func(chime.Event)
	mu    sync.Mutex
	queue []chime.Event
	stop  bool
	wake  chan struct{} // capacity 1: "the queue is not empty or stop is set"
}

// Publish hands events to every subscriber without waiting for any of them.
// It returns ErrClosed after Close.
func (b *Local) Publish(ctx context.Context, events []chime.Event) error {
	if len(events) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	for s := range b.subs {
		s.mu.Lock()
		s.queue = append(s.queue, events...)
		s.mu.Unlock()
		s.signal()
	}
	return nil
}

// Subscribe calls fn with every event published from now on, from a goroutine
// of its own, one event at a time. The returned function ends the
// subscription; events still queued are dropped and fn is not called after it
// returns. Subscribe returns ErrClosed after Close.
func (b *Local) Subscribe(fn func(chime.Event)) (unsubscribe func(), err error) {
	s := &subscriber{fn: fn, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	b.subs[s] = struct{}{}
	done := make(chan struct{})
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(done)
		s.run()
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			s.mu.Lock()
			s.stop = true
			s.mu.Unlock()
			s.signal()
			<-done
		})
	}, nil
}

// Close ends every subscription after the events already published have been
// handed out, and refuses further use.
func (b *Local) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for s := range b.subs {
		s.mu.Lock()
		s.stop = true
		s.mu.Unlock()
		s.signal()
	}
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	for range s.wake {
		for {
			s.mu.Lock()
			batch, stop := s.queue, s.stop
			s.queue = nil
			s.mu.Unlock()
			if len(batch) == 0 {
				if stop {
					return
				}
				break
			}
			for _, ev := range batch {
				s.fn(ev)
			}
		}
	}
}
