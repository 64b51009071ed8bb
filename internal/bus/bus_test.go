package bus_test

import (
	"context"
	"testing"

	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/bus/bustest"
	"github.com/belfry/belfry/internal/chime"
)

func TestLocal(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Bus { return bus.NewLocal() })
}

// TestLocalClose: Close hands out what was already published, then refuses
// further use.
func TestLocalClose(t *testing.T) {
	b := bus.NewLocal()
	var got []chime.Event
	if _, err := b.Subscribe(func(e chime.Event) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	b.Publish(context.Background(), []chime.Event{{Type: "A"}, {Type: "B"}})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Close handed out %d of 2 published events", len(got))
	}
	if err := b.Publish(context.Background(), []chime.Event{{Type: "C"}}); err != bus.ErrClosed {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(func(chime.Event) {}); err != bus.ErrClosed {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
}
