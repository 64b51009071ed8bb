package session

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQueueAgainstASlice drives a queue with random pushes and pops and
// holds it to a plain slice: same frames, same order, the same bound, and
// a token in ready whenever a frame waits (the session's writer waits on
// it and must never sleep on a waiting frame).
func TestQueueAgainstASlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, max := range []int{1, 3, keepFrames, 64} {
		q := newQueue(max)
		var want [][]byte
		next := 0
		for step := range 20_000 {
			// Phases that fill, drain, and keep the queue about level, so that
			// the array is compacted, grown, kept and given back.
			pushBias := []float64{0.8, 0.2, 0.5}[step/500%3]
			if rng.Float64() < pushBias {
				b := []byte(fmt.Sprint(next))
				ok := q.push(b)
				if ok != (len(want) < max) {
					t.Fatalf("max %d step %d: push with %d waiting = %v", max, step, len(want), ok)
				}
				if ok {
					want = append(want, b)
					next++
				}
			} else {
				// As the session's writer does: take the token, then a frame.
				select {
				case <-q.ready:
				default:
					if len(want) > 0 {
						t.Fatalf("max %d step %d: %d frames wait and ready holds no token", max, step, len(want))
					}
					continue
				}
				b, ok := q.pop()
				if ok != (len(want) > 0) {
					t.Fatalf("max %d step %d: pop with %d waiting = %v", max, step, len(want), ok)
				}
				if ok {
					if string(b) != string(want[0]) {
						t.Fatalf("max %d step %d: popped %s, want %s", max, step, b, want[0])
					}
					want = want[1:]
				}
			}
			if n := q.len(); n != len(want) {
				t.Fatalf("max %d step %d: len %d, want %d", max, step, n, len(want))
			}
			if len(want) > 0 && len(q.ready) != 1 {
				t.Fatalf("max %d step %d: %d frames wait and ready holds no token", max, step, len(want))
			}
			if cap(q.frames) > max {
				t.Fatalf("max %d step %d: the array grew to %d for a bound of %d", max, step, cap(q.frames), max)
			}
		}
	}
}

// TestQueueGivesBackABurst: a drained queue keeps a small array and gives a
// burst's back, so that 10,000 quiet sessions hold almost nothing.
func TestQueueGivesBackABurst(t *testing.T) {
	q := newQueue(256)
	if cap(q.frames) != 0 {
		t.Fatalf("a new queue holds an array of %d", cap(q.frames))
	}
	for i := range 200 {
		if !q.push([]byte{byte(i)}) {
			t.Fatal("push refused below the bound")
		}
	}
	for range 200 {
		if _, ok := q.pop(); !ok {
			t.Fatal("pop found nothing")
		}
	}
	if cap(q.frames) != 0 {
		t.Fatalf("a drained queue kept an array of %d after a burst", cap(q.frames))
	}
	q.push([]byte("a"))
	q.pop()
	if c := cap(q.frames); c == 0 || c > keepFrames {
		t.Fatalf("a drained queue kept an array of %d after one frame, want 1..%d", c, keepFrames)
	}
}
