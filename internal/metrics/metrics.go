// Package metrics holds Belfry's Prometheus metrics. Nothing is global: the
// collectors are registered on the registry the caller passes in, and the
// admin listener serves that registry at /metrics.
package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// Metrics are the figures the request pipeline and the event bus update.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	events    prometheus.Counter
	pubErrors prometheus.Counter
}

// New registers the request and bus metrics on reg, with Go's runtime and
// process collectors.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belfry_requests_total",
			Help: "API requests answered, by operation (op, \"-\" when no operation matched) and HTTP status."}, []string{"op", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "belfry_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by operation and HTTP status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"op", "status"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_bus_events_published_total",
			Help: "Events handed to the bus after their change committed."}),
		pubErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "belfry_bus_publish_errors_total",
			Help: "Publishes the bus refused (NATS away); the changes themselves were committed."}),
	}
	reg.MustRegister(m.requests, m.duration, m.events, m.pubErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one answered API request.
func (m *Metrics) ObserveRequest(op string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(op, s).Inc()
	m.duration.WithLabelValues(op, s).Observe(d.Seconds())
}

// Bus returns b with its publishes counted.
func (m *Metrics) Bus(b chime.Bus) chime.Bus { return countingBus{b: b, m: m} }

type countingBus struct {
	b chime.Bus
	m *Metrics
}

func (c countingBus) Publish(ctx context.Context, events []chime.Event) error {
	err := c.b.Publish(ctx, events)
	if err != nil {
		c.m.pubErrors.Inc()
	} else {
		c.m.events.Add(float64(len(events)))
	}
	return err
}

// Store registers the store's figures, read at each scrape.
func Store(reg prometheus.Registerer, stats func() store.Stats) {
	counter := func(name, help string, v func(store.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	gauge := func(name, help string, v func(store.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	reg.MustRegister(
		counter("belfry_store_commits_total", "Durable commits: SQLite group commits (one fsync each, shared by the write transactions gathered), PostgreSQL write transactions.",
			func(s store.Stats) float64 { return float64(s.Commits) }),
		counter("belfry_store_write_transactions_total", "Write transactions run (on SQLite, in groups that share one commit).",
			func(s store.Stats) float64 { return float64(s.WriteTxs) }),
		counter("belfry_store_write_transactions_failed_total", "Write transactions rolled back (a refused change, a conflict or a store failure).",
			func(s store.Stats) float64 { return float64(s.FailedTxs) }),
		counter("belfry_store_read_transactions_total", "Read transactions run.",
			func(s store.Stats) float64 { return float64(s.Reads) }),
		counter("belfry_store_commit_seconds_total", "Time spent making SQLite group commits durable.",
			func(s store.Stats) float64 { return s.CommitTime.Seconds() }),
		counter("belfry_store_group_reruns_total", "SQLite groups rolled back and run again, each transaction in a savepoint, because one failed after it wrote.",
			func(s store.Stats) float64 { return float64(s.Reruns) }),
		gauge("belfry_store_queued_writes", "SQLite write transactions waiting for the writer.",
			func(s store.Stats) float64 { return float64(s.Queued) }),
		gauge("belfry_store_cached_member_lists", "Channels whose member list (the recipients of their events) is held in memory.",
			func(s store.Stats) float64 { return float64(s.CachedLists) }),
		gauge("belfry_store_cached_members", "Member ARNs held in those lists.",
			func(s store.Stats) float64 { return float64(s.CachedMember) }),
	)
}

// Sessions registers the messaging session figures, read at each scrape.
func Sessions(reg prometheus.Registerer, connected func() int, frames func() int64) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "belfry_sessions", Help: "Messaging sessions connected."},
			func() float64 { return float64(connected()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "belfry_session_frames_queued_total", Help: "Event frames queued to connected sessions."},
			func() float64 { return float64(frames()) }),
	)
}
