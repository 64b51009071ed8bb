package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/belfry/belfry/internal/metrics"
	"github.com/belfry/belfry/internal/store"
)

// newMetrics returns the registry the admin listener serves at /metrics,
// with the request, bus, runtime and store figures registered; the
// sessions' are added once they exist (metrics.Sessions).
func newMetrics(st *store.Store) (*prometheus.Registry, *metrics.Metrics) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	metrics.Store(reg, st.Stats)
	return reg, m
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
