package api

import (
	"regexp"
	"testing"
)

// TestNewRequestID: 32 lowercase hex digits, none repeated.
func TestNewRequestID(t *testing.T) {
	format := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 100000 {
		id := newRequestID()
		if !format.MatchString(id) {
			t.Fatalf("request id %q is not 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request id %q twice", id)
		}
		seen[id] = true
	}
}

func BenchmarkNewRequestID(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		newRequestID()
	}
}
