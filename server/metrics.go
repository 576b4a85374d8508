package server

import (
	"strconv"
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
	// Per model (and version).
	modelVersions  *prometheus.GaugeVec   // model
	predictions    *prometheus.CounterVec // model, version
	warmupRequests *prometheus.CounterVec // model, version
	warmupSeconds  *prometheus.GaugeVec   // model, version
	configFailures prometheus.Counter
	blocklistFails *prometheus.CounterVec // model
	// blocklists reports each model's blocklist size and age at scrape time.
	blocklists blocklistCollector
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
	m.modelVersions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nann_serve_model_loaded_versions",
		Help: "Versions loaded and serving, by model.",
	}, []string{"model"})
	m.predictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nann_serve_model_predictions_total",
		Help: "Successful predictions by model and version.",
	}, []string{"model", "version"})
	m.warmupRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nann_serve_warmup_requests_total",
		Help: "Warm-up requests run before a version became AVAILABLE, by model and version.",
	}, []string{"model", "version"})
	m.warmupSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nann_serve_warmup_seconds",
		Help: "How long the warm-up of a version took, by model and version.",
	}, []string{"model", "version"})
	m.configFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nann_serve_model_config_failures_total",
		Help: "Re-reads of --model_config_file that failed (the previous configuration stayed in force).",
	})
	m.blocklistFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nann_serve_blocklist_failures_total",
		Help: "Blocklist files that could not be read or parsed (the previous list stayed in force), by model.",
	}, []string{"model"})
	m.blocklists.init()
	m.reg.MustRegister(m.requests, m.latency, m.items, m.versions, m.loadFailures, m.unknownIDs,
		m.modelVersions, m.predictions, m.warmupRequests, m.warmupSeconds, m.configFailures, m.blocklistFails, &m.blocklists,
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

// forgetVersion drops the series of an unloaded version.
func (m *metrics) forgetVersion(model string, num int64) {
	v := strconv.FormatInt(num, 10)
	m.predictions.DeleteLabelValues(model, v)
	m.warmupRequests.DeleteLabelValues(model, v)
	m.warmupSeconds.DeleteLabelValues(model, v)
}

// forgetModel drops the series of a model removed from the config.
func (m *metrics) forgetModel(model string) {
	l := prometheus.Labels{"model": model}
	m.modelVersions.DeletePartialMatch(l)
	m.predictions.DeletePartialMatch(l)
	m.warmupRequests.DeletePartialMatch(l)
	m.warmupSeconds.DeletePartialMatch(l)
	m.blocklistFails.DeletePartialMatch(l)
}
