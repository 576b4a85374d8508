package server

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, in a registry of its own so
// that several servers (tests) can live in one process.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	items        prometheus.Histogram
	versions     prometheus.Gauge
	loadFailures prometheus.Counter
	unknownIDs   prometheus.Counter
	// unknownLogged is when (unix ns) unknown item ids were last logged
	// at Info level; the others are logged at Debug.
	unknownLogged atomic.Int64
}

func newMetrics(inFlight func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nann_serve_requests_total",
			Help: "Requests by protocol (grpc, rest), method and canonical status code.",
		}, []string{"protocol", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nann_serve_request_duration_seconds",
			Help:    "Request latency by protocol, method and canonical status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"protocol", "method", "code"}),
		items: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nann_serve_items_scored",
			Help:    "Items scored per user (request row).",
			Buckets: prometheus.ExponentialBuckets(100, 2, 12),
		}),
		versions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nann_serve_loaded_versions",
			Help: "Model versions loaded and serving.",
		}),
		loadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nann_serve_version_load_failures_total",
			Help: "Model versions that failed to load.",
		}),
		unknownIDs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nann_serve_unknown_item_ids_total",
			Help: "Raw ids in item_ids that the model's corpus does not hold, treated as padding (--unknown_item_ids=padding).",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.items, m.versions, m.loadFailures, m.unknownIDs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nann_serve_in_flight_requests",
			Help: "Predictions running now.",
		}, inFlight),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(protocol, method, code string, seconds float64) {
	m.requests.WithLabelValues(protocol, method, code).Inc()
	m.latency.WithLabelValues(protocol, method, code).Observe(seconds)
}
