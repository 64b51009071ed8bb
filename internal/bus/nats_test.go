package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/bus/bustest"
	"github.com/belfry/belfry/internal/chime"
)

// startNATS runs an embedded NATS server for the test and returns its URL.
func startNATS(t *testing.T) (string, *natsserver.Server) {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL(), s
}

func TestNATS(t *testing.T) {
	url, _ := startNATS(t)
	bustest.Run(t, func(t *testing.T) bus.Bus {
		b, err := bus.NewNATS(url, bus.NATSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestNATSFilter: a node that filters receives only the events of the
// recipients it wants, each recipient once, across nodes (issue 5: a node
// receives only what its sessions need).
func TestNATSFilter(t *testing.T) {
	url, _ := startNATS(t)
	pub, err := bus.NewNATS(url, bus.NATSOptions{Filter: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	node, err := bus.NewNATS(url, bus.NATSOptions{Filter: true})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	got := make(chan chime.Event, 100)
	if _, err := node.Subscribe(func(e chime.Event) { got <- e }); err != nil {
		t.Fatal(err)
	}
	// Recipients spread over many buckets; the node wants two of them.
	var all []string
	for i := 0; i < 200; i++ {
		all = append(all, fmt.Sprintf("arn:user/%d", i))
	}
	release := node.Want(all[7])
	node.Want(all[150])
	if err := pub.Publish(context.Background(), []chime.Event{{Type: "E", Recipients: all, Payload: map[string]int{"n": 1}}}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	deadline := time.After(10 * time.Second)
	for seen[all[7]] == 0 || seen[all[150]] == 0 {
		select {
		case e := <-got:
			for _, r := range e.Recipients {
				seen[r]++
			}
		case <-deadline:
			t.Fatalf("wanted recipients not reached: %v", seen)
		}
	}
	// Only the wanted buckets' recipients arrive: far fewer than all 200.
	if len(seen) >= len(all)/4 {
		t.Fatalf("a filtering node received %d of %d recipients", len(seen), len(all))
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("recipient %s delivered %d times", r, n)
		}
	}
	// After release, the released recipient's bucket stops arriving; the
	// other still does (the witness event marks the end of what could come).
	if bus.BucketOf(all[7]) == bus.BucketOf(all[150]) {
		t.Fatal("test needs two recipients in different buckets")
	}
	release()
	pub.Publish(context.Background(), []chime.Event{{Type: "late", Recipients: []string{all[7]}}, {Type: "witness", Recipients: []string{all[150]}}})
	for {
		select {
		case e := <-got:
			if e.Type == "late" {
				t.Fatal("a released recipient's event still arrived")
			}
			if e.Type == "witness" {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("event for the still-wanted recipient never came")
		}
	}
}
