package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"nann/server"
)

// ServeCmd is `nann serve`. Flag names follow tensorflow_model_server's.
type ServeCmd struct {
	Port                      int           `name:"port" help:"gRPC port." default:"8500"`
	RestAPIPort               int           `name:"rest_api_port" help:"REST port (0 disables REST and /metrics)." default:"8501"`
	Host                      string        `name:"host" help:"Address to bind (empty: all interfaces; 127.0.0.1 for loopback only)." default:""`
	SSLConfigFile             string        `name:"ssl_config_file" help:"TF Serving SSLConfig text proto (server_key, server_cert, custom_ca, client_verify; PEM contents) for gRPC TLS." type:"existingfile"`
	TLSCertFile               string        `name:"tls_cert_file" help:"PEM certificate (chain) for TLS on REST, and on gRPC unless --ssl_config_file is given." type:"existingfile"`
	TLSKeyFile                string        `name:"tls_key_file" help:"PEM private key of --tls_cert_file." type:"existingfile"`
	MetricsPath               string        `name:"metrics_path" help:"REST path of the Prometheus metrics (empty: off)." default:"/metrics"`
	MonitoringConfigFile      string        `name:"monitoring_config_file" help:"TF Serving MonitoringConfig text proto (prometheus_config { enable: true, path: \"...\" }); overrides --metrics_path." type:"existingfile"`
	ModelName                 string        `name:"model_name" help:"Model name clients use in model_spec.name and URLs." default:"nann"`
	ModelBasePath             string        `name:"model_base_path" help:"Directory holding one numeric subdirectory per model version (or give --model_config_file)."`
	ModelConfigFile           string        `name:"model_config_file" help:"TF Serving ModelServerConfig text proto (model_config_list { config { name base_path model_version_policy version_labels } }) listing the models to serve; replaces --model_name/--model_base_path." type:"existingfile"`
	ModelConfigPollWait       int           `name:"model_config_file_poll_wait_seconds" help:"Seconds between re-reads of --model_config_file (0: read once). A file that does not parse keeps the models as they are." default:"0"`
	BlocklistFile             string        `name:"blocklist_file" help:"File of raw item ids never to answer, one a line, re-read every --file_system_poll_wait_seconds (default: blocklist.txt in the base path; with --model_config_file each model reads its own)."`
	WarmupRequests            int           `name:"warmup_requests" help:"Synthetic requests run on a new version before it becomes AVAILABLE, when it has no assets.extra/tf_serving_warmup_requests (0: none)." default:"4"`
	FileSystemPollWaitSeconds int           `name:"file_system_poll_wait_seconds" help:"Seconds between scans of the base path for new versions (0: scan once)." default:"1"`
	ServeVersions             int           `name:"serve_versions" help:"How many of the newest versions to keep loaded." default:"1"`
	LoadRetryInterval         time.Duration `name:"load_retry_interval" help:"Wait before retrying a version that failed to load (its files may still be arriving); doubles after each failure." default:"1s"`
	MaxLoadRetryInterval      time.Duration `name:"max_load_retry_interval" help:"Longest wait between load retries." default:"1m"`
	MaxNumLoadRetries         int           `name:"max_num_load_retries" help:"Retries of a version that failed to load before giving up on it until its directory changes (0: forever)." default:"5"`
	MaxBatch                  int           `name:"max_batch" help:"Most users (rows) per request." default:"256"`
	MaxMessageBytes           int           `name:"max_message_bytes" help:"Largest gRPC message or REST body." default:"67108864"`
	MaxLevelTopN              int           `name:"max_level_topn" help:"Largest value allowed in level_topn." default:"10000"`
	UnknownItemIDs            string        `name:"unknown_item_ids" help:"Raw ids in item_ids that the corpus does not hold: padding (treat as id 0, count in nann_serve_unknown_item_ids_total) or error (INVALID_ARGUMENT naming the first)." enum:"padding,error" default:"padding"`
	MaxConcurrent             int           `name:"max_concurrent" help:"Predictions run at once." default:"8"`
	MaxQueue                  int           `name:"max_queue" help:"Requests that may wait for a slot; more are rejected with RESOURCE_EXHAUSTED / 429." default:"64"`
	RequestTimeout            time.Duration `name:"request_timeout" help:"Deadline for requests that carry none." default:"30s"`
	ShutdownTimeout           time.Duration `name:"shutdown_timeout" help:"How long shutdown waits for in-flight requests." default:"30s"`
}

// Run serves until Ctrl-C / SIGTERM, then drains and exits.
func (c *ServeCmd) Run(g *Globals) error {
	load := g.Loader()
	if load == nil {
		return errors.New("serve: no model loader")
	}
	cfg, err := c.config()
	if err != nil {
		return err
	}
	if cfg.RESTAddr != "" && cfg.RESTTLS == nil && cfg.GRPCTLS != nil {
		slog.Warn("gRPC is served over TLS but REST is not; give --tls_cert_file/--tls_key_file, or --rest_api_port 0")
	}
	srv, err := server.New(cfg, load, slog.Default())
	if err != nil {
		return err
	}
	if err := srv.Start(g.Context()); err != nil {
		return err
	}
	return srv.Wait()
}

func (c *ServeCmd) config() (server.Config, error) {
	cfg := server.DefaultConfig()
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return cfg, errors.New("serve: give both --tls_cert_file and --tls_key_file, or neither")
	}
	if c.TLSCertFile != "" {
		tc, err := server.LoadKeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return cfg, fmt.Errorf("serve: %w", err)
		}
		cfg.GRPCTLS, cfg.RESTTLS = tc, tc
	}
	if c.SSLConfigFile != "" {
		ssl, err := server.ReadSSLConfig(c.SSLConfigFile)
		if err != nil {
			return cfg, fmt.Errorf("serve: --ssl_config_file: %w", err)
		}
		if cfg.GRPCTLS, err = ssl.TLSConfig(); err != nil {
			return cfg, fmt.Errorf("serve: --ssl_config_file %s: %w", c.SSLConfigFile, err)
		}
	}
	cfg.MetricsPath = c.MetricsPath
	if c.MonitoringConfigFile != "" {
		p, err := server.ReadMonitoringConfig(c.MonitoringConfigFile)
		if err != nil {
			return cfg, fmt.Errorf("serve: --monitoring_config_file: %w", err)
		}
		cfg.MetricsPath = p
	}
	if c.ModelConfigFile == "" && c.ModelBasePath == "" {
		return cfg, errors.New("serve: give --model_base_path or --model_config_file")
	}
	if c.ModelConfigPollWait < 0 {
		return cfg, fmt.Errorf("serve: --model_config_file_poll_wait_seconds %d is negative", c.ModelConfigPollWait)
	}
	cfg.ModelName = c.ModelName
	cfg.BasePath = c.ModelBasePath
	cfg.ModelConfigFile = c.ModelConfigFile
	cfg.ModelConfigPollInterval = time.Duration(c.ModelConfigPollWait) * time.Second
	cfg.BlocklistFile = c.BlocklistFile
	cfg.WarmupRequests = c.WarmupRequests
	cfg.GRPCAddr = hostPort(c.Host, c.Port)
	cfg.RESTAddr = ""
	if c.RestAPIPort != 0 {
		cfg.RESTAddr = hostPort(c.Host, c.RestAPIPort)
	}
	cfg.PollInterval = time.Duration(c.FileSystemPollWaitSeconds) * time.Second
	cfg.ServeVersions = c.ServeVersions
	cfg.LoadRetryInterval = c.LoadRetryInterval
	cfg.MaxLoadRetryInterval = c.MaxLoadRetryInterval
	cfg.MaxLoadRetries = c.MaxNumLoadRetries
	cfg.MaxBatch = c.MaxBatch
	cfg.MaxMessageBytes = c.MaxMessageBytes
	cfg.MaxLevelTopN = c.MaxLevelTopN
	cfg.UnknownItemIDs = c.UnknownItemIDs
	cfg.MaxConcurrent = c.MaxConcurrent
	cfg.MaxQueue = c.MaxQueue
	cfg.RequestTimeout = c.RequestTimeout
	cfg.ShutdownTimeout = c.ShutdownTimeout
	return cfg, nil
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
