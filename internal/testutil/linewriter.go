// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"bytes"
	"strings"
	"sync"
)

// LineWriter is a thread-safe writer that keeps everything written to it
// (a process's or run()'s output) and hands its first complete line to First:
// tests wait on it for a server's "serving on ..." line.
type LineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	sent  bool
	First chan string
}

// NewLineWriter returns an empty LineWriter.
func NewLineWriter() *LineWriter { return &LineWriter{First: make(chan string, 1)} }

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if line, _, ok := strings.Cut(w.buf.String(), "\n"); ok {
			w.sent = true
			w.First <- line
		}
	}
	return len(p), nil
}

// String returns everything written so far.
func (w *LineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
