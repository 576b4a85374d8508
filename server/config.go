package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"nann/serving"
)

// Config configures a Server. Start from DefaultConfig.
type Config struct {
	// ModelName is the name clients put in model_spec.name ("nann").
	ModelName string
	// BasePath holds one numeric directory per model version.
	BasePath string
	// ModelConfigFile, instead of ModelName and BasePath, names a
	// TF Serving text-format ModelServerConfig listing the models to serve
	// (see ReadModelConfigFile); it is re-read every
	// ModelConfigPollInterval (0: read once, at start). A file that does
	// not parse or validate keeps the models as they are (logged).
	ModelConfigFile         string
	ModelConfigPollInterval time.Duration
	// BlocklistFile is the file of raw item ids that must never be
	// answered (one id a line, # comments); "" means BlocklistName inside
	// the base path, which is also where each model of ModelConfigFile
	// looks for its own. It is re-read every PollInterval; a missing file
	// blocks nothing; a malformed one keeps the previous list (logged).
	BlocklistFile string
	// WarmupRequests is how many synthetic requests are sent to each new
	// version before it becomes AVAILABLE, when the version holds no
	// recorded warm-up requests (assets.extra/tf_serving_warmup_requests);
	// 0 disables synthetic warm-up.
	WarmupRequests int
	// GRPCAddr and RESTAddr are listen addresses (":8500", ":8501"); use
	// "127.0.0.1:0" for an ephemeral port. An empty RESTAddr disables REST
	// (and /metrics).
	GRPCAddr, RESTAddr string
	// GRPCTLS and RESTTLS, when set, serve gRPC and REST over TLS (see
	// LoadKeyPair and SSLConfig); nil serves plaintext.
	GRPCTLS, RESTTLS *tls.Config
	// MetricsPath is where the REST listener serves Prometheus metrics
	// ("/metrics"); "" turns them off.
	MetricsPath string
	// PollInterval is how often BasePath is scanned for new versions; 0
	// scans only once, at start.
	PollInterval time.Duration
	// LoadRetryInterval is the wait before retrying a version that failed
	// to load (its files may still be arriving); it doubles after each
	// failure up to MaxLoadRetryInterval. A change of the version
	// directory's mtime retries at once.
	LoadRetryInterval, MaxLoadRetryInterval time.Duration
	// MaxLoadRetries is how many times a version that failed to load is
	// retried before the server gives up on it until its directory's mtime
	// changes (TF Serving's --max_num_load_retries, default 5); a broken
	// 1 M-item bundle is not reloaded every minute forever. 0 retries
	// forever.
	MaxLoadRetries int
	// ServeVersions is how many of the newest loadable versions are kept
	// loaded (TF Serving's "latest N" policy; default 1). Requests without a
	// version get the newest.
	ServeVersions int
	// MaxBatch bounds the rows of one request.
	MaxBatch int
	// MaxMessageBytes bounds a gRPC message or REST body.
	MaxMessageBytes int
	// UnknownItemIDs says what to do with raw ids in item_ids that the
	// model's corpus does not hold (servables implementing serving.ItemCatalog):
	// UnknownAsPadding (the default) treats them as padding, id 0, and
	// counts them in nann_serve_unknown_item_ids_total and the log;
	// UnknownIsError refuses the request with INVALID_ARGUMENT naming the
	// first unknown id and its position.
	UnknownItemIDs string
	// MaxLevelTopN bounds every level_topn value.
	MaxLevelTopN int
	// MaxConcurrent is how many predictions run at once; MaxQueue is how
	// many more may wait for a slot. Past that a request is rejected at once
	// with RESOURCE_EXHAUSTED / HTTP 429.
	MaxConcurrent, MaxQueue int
	// RequestTimeout is the deadline given to requests that carry none
	// (REST requests, gRPC calls without a deadline).
	RequestTimeout time.Duration
	// ShutdownTimeout bounds how long shutdown waits for in-flight requests
	// before cutting them off.
	ShutdownTimeout time.Duration
}

var metricsPathRE = regexp.MustCompile(`^/[A-Za-z0-9._~/-]*$`)

// Values of Config.UnknownItemIDs.
const (
	UnknownAsPadding = "padding"
	UnknownIsError   = "error"
)

// DefaultConfig returns the defaults (tensorflow_model_server's ports).
func DefaultConfig() Config {
	return Config{
		ModelName:            "nann",
		GRPCAddr:             ":8500",
		RESTAddr:             ":8501",
		MetricsPath:          "/metrics",
		PollInterval:         time.Second,
		LoadRetryInterval:    time.Second,
		MaxLoadRetryInterval: time.Minute,
		MaxLoadRetries:       5,
		ServeVersions:        1,
		WarmupRequests:       4,
		MaxBatch:             256,
		MaxMessageBytes:      64 << 20,
		MaxLevelTopN:         serving.DefaultMaxLevelTopN,
		UnknownItemIDs:       UnknownAsPadding,
		MaxConcurrent:        8,
		MaxQueue:             64,
		RequestTimeout:       30 * time.Second,
		ShutdownTimeout:      30 * time.Second,
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ModelName == "" {
		bad("model name is empty")
	}
	switch {
	case c.ModelConfigFile != "" && c.BasePath != "":
		bad("give a model base path or a model config file, not both")
	case c.ModelConfigFile != "" && c.BlocklistFile != "":
		bad("a blocklist file cannot be given with a model config file (each model reads %s in its base path)", BlocklistName)
	case c.ModelConfigFile == "" && c.BasePath == "":
		bad("model base path is empty (and no model config file is given)")
	}
	if c.ModelConfigPollInterval < 0 {
		bad("model config poll interval %v is negative", c.ModelConfigPollInterval)
	}
	if c.WarmupRequests < 0 || c.WarmupRequests > 1000 {
		bad("warm-up requests %d outside [0, 1000]", c.WarmupRequests)
	}
	if c.GRPCAddr == "" {
		bad("gRPC address is empty")
	}
	if c.MetricsPath != "" && !metricsPathRE.MatchString(c.MetricsPath) {
		bad("metrics path %q must start with / and hold only letters, digits and ._~-/", c.MetricsPath)
	} else if strings.HasPrefix(c.MetricsPath+"/", "/v1/") {
		bad("metrics path %q collides with the /v1/ REST routes", c.MetricsPath)
	}
	if c.PollInterval < 0 {
		bad("poll interval %v is negative", c.PollInterval)
	}
	if c.MaxLoadRetries < 0 {
		bad("max load retries %d must not be negative", c.MaxLoadRetries)
	}
	if c.LoadRetryInterval <= 0 {
		bad("load retry interval %v must be positive", c.LoadRetryInterval)
	}
	if c.MaxLoadRetryInterval < c.LoadRetryInterval {
		bad("max load retry interval %v < load retry interval %v", c.MaxLoadRetryInterval, c.LoadRetryInterval)
	}
	if c.ServeVersions < 1 {
		bad("serve versions %d < 1", c.ServeVersions)
	}
	if c.MaxBatch < 1 {
		bad("max batch %d < 1", c.MaxBatch)
	}
	if c.MaxMessageBytes < 1024 {
		bad("max message bytes %d < 1024", c.MaxMessageBytes)
	}
	if c.UnknownItemIDs != UnknownAsPadding && c.UnknownItemIDs != UnknownIsError {
		bad("unknown item ids policy %q is neither %q nor %q", c.UnknownItemIDs, UnknownAsPadding, UnknownIsError)
	}
	if c.MaxLevelTopN < 1 {
		bad("max level_topn %d < 1", c.MaxLevelTopN)
	}
	if c.MaxConcurrent < 1 {
		bad("max concurrent %d < 1", c.MaxConcurrent)
	}
	if c.MaxQueue < 0 {
		bad("max queue %d < 0", c.MaxQueue)
	}
	if c.RequestTimeout <= 0 {
		bad("request timeout %v must be positive", c.RequestTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown timeout %v must be positive", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}
