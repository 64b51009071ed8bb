// Package bustest is the contract every bus.Bus implementation passes.
package bustest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/chime"
)

// Run runs the contract against buses made by open; each subtest gets a new
// bus and closes it.
func Run(t *testing.T, open func(t *testing.T) bus.Bus) {
	t.Run("InOrderToEverySubscriber", func(t *testing.T) { inOrderToEverySubscriber(t, open(t)) })
	t.Run("PublishDoesNotWaitForASlowSubscriber", func(t *testing.T) { slowSubscriber(t, open(t)) })
	t.Run("NoCallAfterUnsubscribe", func(t *testing.T) { noCallAfterUnsubscribe(t, open(t)) })
	t.Run("EventSurvivesTheTrip", func(t *testing.T) { eventSurvivesTheTrip(t, open(t)) })
}

func ev(i int) chime.Event { return chime.Event{Type: "T", ChannelArn: fmt.Sprint(i)} }

const patience = 30 * time.Second // a deadline for a hang, not a performance threshold

// inOrderToEverySubscriber: every subscriber sees every event published after
// it subscribed, in publication order.
func inOrderToEverySubscriber(t *testing.T, b bus.Bus) {
	defer b.Close()
	const n = 1000
	var chans [3]chan chime.Event
	for i := range chans {
		c := make(chan chime.Event, n)
		chans[i] = c
		if _, err := b.Subscribe(func(e chime.Event) { c <- e }); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 10 {
		batch := make([]chime.Event, 10)
		for j := range batch {
			batch[j] = ev(i + j)
		}
		if err := b.Publish(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range chans {
		for j := 0; j < n; j++ {
			select {
			case e := <-c:
				if e.ChannelArn != fmt.Sprint(j) {
					t.Fatalf("subscriber %d: event %d is %s", i, j, e.ChannelArn)
				}
			case <-time.After(patience):
				t.Fatalf("subscriber %d: event %d never came", i, j)
			}
		}
	}
}

// slowSubscriber: a subscriber that blocks holds up neither Publish nor the
// other subscribers.
func slowSubscriber(t *testing.T, b bus.Bus) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer b.Close()
	defer unblock()
	if _, err := b.Subscribe(func(chime.Event) { <-release }); err != nil {
		t.Fatal(err)
	}
	fast := make(chan chime.Event, 100)
	if _, err := b.Subscribe(func(e chime.Event) { fast <- e }); err != nil {
		t.Fatal(err)
	}
	published := make(chan error, 1)
	go func() {
		for i := 0; i < 100; i++ {
			if err := b.Publish(context.Background(), []chime.Event{ev(i)}); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	select {
	case err := <-published:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(patience):
		t.Fatal("Publish waits for a blocked subscriber")
	}
	for i := 0; i < 100; i++ {
		select {
		case e := <-fast:
			if e.ChannelArn != fmt.Sprint(i) {
				t.Fatalf("fast subscriber got %s, want %d", e.ChannelArn, i)
			}
		case <-time.After(patience):
			t.Fatalf("fast subscriber starved at event %d while another subscriber is blocked", i)
		}
	}
}

// noCallAfterUnsubscribe: once unsubscribe returns, fn is never called again.
func noCallAfterUnsubscribe(t *testing.T, b bus.Bus) {
	defer b.Close()
	var mu sync.Mutex
	unsubscribed := false
	late := 0
	first := make(chan struct{}, 1)
	unsub, err := b.Subscribe(func(chime.Event) {
		mu.Lock()
		defer mu.Unlock()
		if unsubscribed {
			late++
		}
		select {
		case first <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Publish(context.Background(), []chime.Event{ev(1), ev(2)})
	select {
	case <-first:
	case <-time.After(patience):
		t.Fatal("no event delivered")
	}
	unsub()
	mu.Lock()
	unsubscribed = true
	mu.Unlock()
	unsub() // a second call is harmless
	// A witness subscriber sees the next events, so fn had every chance to be called.
	witness := make(chan chime.Event, 10)
	if _, err := b.Subscribe(func(e chime.Event) { witness <- e }); err != nil {
		t.Fatal(err)
	}
	b.Publish(context.Background(), []chime.Event{ev(3), ev(4)})
	for i := 0; i < 2; i++ {
		select {
		case <-witness:
		case <-time.After(patience):
			t.Fatal("witness got nothing")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if late != 0 {
		t.Fatalf("fn called %d times after unsubscribe returned", late)
	}
}

// eventSurvivesTheTrip: every field the sessions use arrives intact, the
// payload marshals to the same JSON, and each recipient gets the event once.
// A bus spanning nodes may split an event's recipients over several
// deliveries (bus.NATS routes them by recipient); each part is otherwise whole.
func eventSurvivesTheTrip(t *testing.T, b bus.Bus) {
	defer b.Close()
	got := make(chan chime.Event, 10)
	if _, err := b.Subscribe(func(e chime.Event) { got <- e }); err != nil {
		t.Fatal(err)
	}
	in := chime.Event{Type: chime.EventCreateChannelMessage, MessageType: "STANDARD", Reason: "r", ChannelArn: "arn:c",
		Recipients: []string{"arn:a", "arn:b", "arn:c"}, Also: []string{"arn:d", "arn:e"}, Payload: map[string]any{"Content": "hi", "N": 1}}
	want := append(append([]string(nil), in.Recipients...), in.Also...)
	if err := b.Publish(context.Background(), []chime.Event{in, {Type: "END"}}); err != nil {
		t.Fatal(err)
	}
	reached := map[string]int{}
	for {
		select {
		case out := <-got:
			if out.Type == "END" {
				for _, r := range want {
					if reached[r] != 1 {
						t.Fatalf("recipient %s reached %d times", r, reached[r])
					}
				}
				if len(reached) != len(want) {
					t.Fatalf("recipients reached: %v, want %v", reached, want)
				}
				return
			}
			if out.Type != in.Type || out.MessageType != in.MessageType || out.Reason != in.Reason || out.ChannelArn != in.ChannelArn {
				t.Fatalf("event changed on the bus: %+v", out)
			}
			if a, b := jsonOf(t, in.Payload), jsonOf(t, out.Payload); a != b {
				t.Fatalf("payload changed on the bus: %s != %s", b, a)
			}
			out.EachRecipient(func(r string) { reached[r]++ })
		case <-time.After(patience):
			t.Fatal("event never came")
		}
	}
}
