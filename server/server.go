package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"nann/serving"
	"nann/tfserving/servingpb"
)

// Server serves one model, or the models of a model config file, over gRPC
// and REST. Create it with New, start it
// with Start, and wait for it with Wait; cancelling Start's context drains
// in-flight requests and stops it.
type Server struct {
	cfg    Config
	log    *slog.Logger
	loader serving.Loader // the Loader, with the server's checks
	models registry
	drains sync.WaitGroup // models removed from the config, being unloaded
	// configText is the model config file's content now in force;
	// configErr the last error reading it (logged once).
	configText, configErr string
	lim                   *limiter
	met                   *metrics
	health                *health.Server

	grpcSrv          *grpc.Server
	httpSrv          *http.Server
	grpcLis, restLis net.Listener
	streamsCtx       context.Context
	endStreams       context.CancelFunc // ends open streams (health Watch) at shutdown
	predictReads     atomic.Int64       // Predict messages read (tests: refused calls are not read)
	wg               sync.WaitGroup     // serving goroutines
	done             chan struct{}
	errMu            sync.Mutex
	errs             []error
}

// New checks cfg and builds a server that loads versions with load.
func New(cfg Config, load serving.Loader, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	if load == nil {
		return nil, errors.New("server: no model loader")
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, log: log, lim: newLimiter(cfg.MaxConcurrent, cfg.MaxQueue), done: make(chan struct{})}
	s.streamsCtx, s.endStreams = context.WithCancel(context.Background())
	s.met = newMetrics(func() float64 { return float64(s.lim.inFlight()) })
	s.health = health.NewServer()
	s.setHealth(false)
	s.loader = s.loaderWith(load)
	cfgs, text, err := cfg.modelConfigs()
	if err != nil {
		return nil, err
	}
	s.configText = text
	s.models.byName = make(map[string]*model)
	for _, c := range cfgs {
		s.models.byName[c.Name] = s.newModel(c)
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxConcurrentStreams(maxStreams(cfg)),
		grpc.InTapHandle(s.tap),
		grpc.ForceServerCodecV2(rawCodec{encoding.GetCodecV2(grpcproto.Name)}),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	}
	if cfg.GRPCTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.GRPCTLS)))
	}
	s.grpcSrv = grpc.NewServer(opts...)
	ps := &predictionService{s: s}
	s.grpcSrv.RegisterService(predictionServiceDesc(ps), ps)
	servingpb.RegisterModelServiceServer(s.grpcSrv, &modelService{s: s})
	healthpb.RegisterHealthServer(s.grpcSrv, s.health)
	s.httpSrv = &http.Server{
		Handler:           s.restHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.RequestTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         cfg.RESTTLS,
	}
	return s, nil
}

// maxStreams bounds the concurrent streams of one gRPC connection: every
// admissible request, plus a few for health watches and metadata calls.
func maxStreams(cfg Config) uint32 {
	return uint32(min(cfg.MaxConcurrent+cfg.MaxQueue+16, 1<<20))
}

func (s *Server) countingLoader(load serving.Loader) serving.Loader {
	return func(ctx context.Context, dir string) (serving.Servable, error) {
		sv, err := load(ctx, dir)
		if err != nil {
			s.met.loadFailures.Inc()
		}
		return sv, err
	}
}

func (s *Server) setHealth(ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus(servingpb.PredictionService_ServiceDesc.ServiceName, st)
}

// Start binds the listeners, loads the newest version(s) (a failure is
// logged and reported in the model status, not returned) and starts
// serving and polling. Cancelling ctx shuts the server down gracefully.
func (s *Server) Start(ctx context.Context) error {
	var err error
	if s.grpcLis, err = net.Listen("tcp", s.cfg.GRPCAddr); err != nil {
		return fmt.Errorf("gRPC listener: %w", err)
	}
	if s.cfg.RESTAddr != "" {
		if s.restLis, err = net.Listen("tcp", s.cfg.RESTAddr); err != nil {
			s.grpcLis.Close()
			return fmt.Errorf("REST listener: %w", err)
		}
	}
	s.pollModels(ctx)
	pollCtx, stopPoll := context.WithCancel(context.WithoutCancel(ctx))
	s.goServe("poller", func() error { s.pollLoop(pollCtx, s.cfg.PollInterval, s.pollModels); return nil })
	if s.cfg.ModelConfigFile != "" {
		s.goServe("config poller", func() error { s.pollLoop(pollCtx, s.cfg.ModelConfigPollInterval, s.reloadModelConfig); return nil })
	}
	s.goServe("grpc", func() error { return s.grpcSrv.Serve(s.grpcLis) })
	if s.restLis != nil {
		s.goServe("rest", func() error {
			serve := s.httpSrv.Serve
			if s.cfg.RESTTLS != nil {
				serve = func(l net.Listener) error { return s.httpSrv.ServeTLS(l, "", "") }
			}
			if err := serve(s.restLis); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	s.log.Info("serving", "grpc", s.GRPCAddr(), "grpc_tls", s.cfg.GRPCTLS != nil, "rest", s.RESTAddr(), "rest_tls", s.cfg.RESTTLS != nil,
		"metrics_path", s.cfg.MetricsPath, "models", len(s.models.all()), "base_path", s.cfg.BasePath, "model_config_file", s.cfg.ModelConfigFile)
	go func() {
		<-ctx.Done()
		s.shutdown(stopPoll)
	}()
	return nil
}

func (s *Server) goServe(name string, f func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := f(); err != nil {
			s.addErr(fmt.Errorf("%s: %w", name, err))
		}
	}()
}

func (s *Server) addErr(err error) {
	s.errMu.Lock()
	s.errs = append(s.errs, err)
	s.errMu.Unlock()
}

// pollLoop runs poll every interval (never if it is 0) until ctx ends.
func (s *Server) pollLoop(ctx context.Context, interval time.Duration, poll func(context.Context)) {
	if interval == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			poll(ctx)
		}
	}
}

// shutdown reports NOT_SERVING, stops polling, lets in-flight requests
// finish (up to ShutdownTimeout), then unloads every version.
func (s *Server) shutdown(stopPoll context.CancelFunc) {
	s.log.Info("shutting down: draining in-flight requests", "in_flight", s.lim.inFlight())
	s.health.Shutdown()
	stopPoll()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			s.addErr(fmt.Errorf("REST shutdown: %w", err))
			s.httpSrv.Close()
		}
	}()
	go func() {
		defer wg.Done()
		stopped := make(chan struct{})
		go func() { s.grpcSrv.GracefulStop(); close(stopped) }()
		// GracefulStop also waits for streams (health Watch) that never
		// end by themselves: end them through their context, so that
		// GracefulStop returns once every unary response is written.
		// (Calling Stop once the handlers had returned could cut a
		// response still on its way out.)
		s.endStreams()
		select {
		case <-stopped:
		case <-ctx.Done():
			s.addErr(errors.New("gRPC shutdown: in-flight requests did not finish in time"))
			s.grpcSrv.Stop()
			<-stopped
		}
	}()
	wg.Wait()
	s.wg.Wait()
	for _, m := range s.models.all() {
		m.mgr.closeAll()
	}
	s.drains.Wait()
	s.log.Info("stopped")
	close(s.done)
}

// Wait blocks until the server has shut down and returns what went wrong
// on the way, if anything.
func (s *Server) Wait() error {
	<-s.done
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return errors.Join(s.errs...)
}

// GRPCAddr is the bound gRPC address (useful with port 0).
func (s *Server) GRPCAddr() string { return addrOf(s.grpcLis) }

// RESTAddr is the bound REST address, or "" if REST is disabled.
func (s *Server) RESTAddr() string { return addrOf(s.restLis) }

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}
