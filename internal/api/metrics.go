package api

import (
	"net/http"
	"time"
)

// Observer receives every answered request: its operation ("-" when none
// matched), HTTP status and duration. metrics.Metrics is one.
type Observer interface {
	ObserveRequest(op string, status int, d time.Duration)
}

// WithObserver reports every request to o.
func WithObserver(o Observer) Option {
	return func(s *Server) { s.observer = o }
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
