// Package server assembles Parley: it opens the store, builds the domain
// services and mounts every API family on one HTTP server. The binary and
// the black-box tests start it the same way.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/api/apps"
	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/api/livechat"
	"github.com/parley-cc/parley/internal/api/localmedia"
	"github.com/parley-cc/parley/internal/api/openapi"
	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/api/widget"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/company"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/egress"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/handover"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/realtime"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/trunk"
	voicesip "github.com/parley-cc/parley/internal/voice/sip"
	"github.com/parley-cc/parley/internal/voice/webrtc"
	"github.com/parley-cc/parley/internal/web"
	"github.com/parley-cc/parley/internal/webhook"
)

// Config is what a server needs; cmd/parley fills it from flags and the
// environment.
type Config struct {
	// ImportCPUShare is the share of one CPU a running dialog import
	// takes (PARLEY_IMPORT_CPU); 0 is outbound.DefaultImportCPUShare.
	ImportCPUShare float64
	Addr           string // host:port; ":0" picks a free port
	DB             string // DSN; empty means SQLite in DataDir
	DataDir        string
	Log            *slog.Logger

	// NoWorkers keeps the importer and the dialer from running, for admin
	// commands and for tests that drive them by hand.
	NoWorkers bool
	// Lease is how long a call's or an import task's claim lasts without
	// renewal: work of a process that died is picked up after this long.
	Lease time.Duration
	// Synth speaks for the sim trunk; nil picks espeak-ng if installed.
	Synth audio.Synthesizer
	// SimPace is the sim trunk's real seconds per simulated second.
	SimPace float64
	// ChatTimeout ends a live chat whose end user has been silent this
	// long (PARLEY_CHAT_TIMEOUT); 0 never does.
	ChatTimeout time.Duration
	// ChatInactivity is the default inactivity rule (PARLEY_CHAT_INACTIVITY,
	// internal/chat/inactivity.go): an assigned chat whose end user has not
	// answered the operator this long is closed; 0 never (menus may set
	// their own).
	ChatInactivity time.Duration
	// Trunks adds trunks beside the built-in "sim", by name.
	Trunks map[string]dialer.Trunk
	// Speech builds the voice and recognizer of each call on a company's
	// SIP trunk from the calling agent's settings; nil is a Registry whose
	// local synthesizer is Synth (espeak-ng when nil) and whose local
	// recognizer is pocketsphinx on Debian's paths.
	Speech *speech.Registry
	// Voice is the SIP calls' turn taking: end-of-turn rules, jitter
	// minimum, recognizer engine and decoders, prompt cache.
	Voice VoiceConfig
	// NATSURL links the nodes of a cluster (PARLEY_NATS_URL): each node's
	// events reach the others' realtime streams. Empty: a single node.
	NATSURL string
	// NATSSubject is the subject prefix of the cluster's events
	// (PARLEY_NATS_SUBJECT, default "parley.events"); clusters sharing a
	// NATS server use distinct ones.
	NATSSubject string
	// Media chooses the store of chat photos and videos.
	Media MediaConfig
	// PublicIP is the address this node's media is reached at behind a
	// 1:1 NAT (PARLEY_PUBLIC_IP): the SIP trunks' SDP and Contact, and
	// the WebRTC engine's ICE candidates. Unset: the local addresses.
	PublicIP netip.Addr
	// WebRTC is the node's WebRTC media settings (PARLEY_RTC_*); its
	// PublicIP and Log are taken from this Config.
	WebRTC webrtc.Config
	// WebhookAllowPrivate lets webhook URLs point at loopback and private
	// addresses (PARLEY_WEBHOOK_ALLOW_PRIVATE=1).
	WebhookAllowPrivate bool
	// WebhookBackoff is the delay before a webhook's second attempt,
	// doubled for each further one (default 5s, capped at 1h); tests
	// shorten it. WebhookMaxAttempts defaults to 8.
	WebhookBackoff     time.Duration
	WebhookMaxAttempts int
	// Uploads are the chat upload quotas (PARLEY_UPLOAD_*); zero fields
	// take chat.DefaultUploadLimits'.
	Uploads chat.UploadLimits
	// StreamUserConns bounds the stream connections one staff or operator
	// user holds open on a node (PARLEY_STREAM_USER_CONNS; 0 is
	// realtime.DefaultMaxUserConns).
	StreamUserConns int
	// WebhookSweepEvery and WebhookSweepLag tune the sweep of the chat
	// event log that catches chat events the bus lost (defaults 5s, 30s;
	// a negative lag means none, for tests).
	WebhookSweepEvery, WebhookSweepLag time.Duration
	// MetricsAddr serves GET /metrics on a listener of its own
	// (PARLEY_METRICS_ADDR, e.g. 127.0.0.1:9090), for scrapers on the
	// installation's network; MetricsToken requires "Authorization:
	// Bearer <token>" wherever /metrics is served (PARLEY_METRICS_TOKEN).
	// With neither, /metrics is not served: the public listener never
	// shows it without a token.
	MetricsAddr, MetricsToken string
	// Logins bounds failed logins per login and per client
	// (PARLEY_LOGIN_*); zero fields take api.DefaultLoginLimits.
	Logins api.LoginLimits
	// HashConcurrency bounds the password hashes the server computes at
	// once (PARLEY_PASSWORD_HASHES, default one per CPU), HashQueue those
	// that may wait for a slot (PARLEY_PASSWORD_HASH_QUEUE, default 4 per
	// slot); past the queue a login is refused with 429.
	HashConcurrency, HashQueue int
	// ScriptMaxAlloc bounds the bytes one script run's bulk operations
	// allocate (PARLEY_SCRIPT_MAX_ALLOC, default 64 MiB), ScriptMaxRunSteps
	// the steps of one run (PARLEY_SCRIPT_MAX_RUN_STEPS, default
	// 4,000,000); 0 takes the defaults. They are the process's.
	ScriptMaxAlloc    int64
	ScriptMaxRunSteps uint64
	// TrunkAllowPrivate lets the companies' SIP trunks point at loopback,
	// private and link-local addresses (PARLEY_TRUNK_ALLOW_PRIVATE=1):
	// without it a trunk host is checked by the egress guard when saved
	// and again at every dial.
	TrunkAllowPrivate bool
	// DialerMaxCalls caps the calls in progress on this node
	// (PARLEY_DIALER_MAX_CALLS); 0 sizes it from the file descriptor
	// limit (CallCapFor).
	DialerMaxCalls int
	// DialerPoll and ChatPoll are the safety polls of the dialer and of the
	// chat loops (routing, virtual agents): how long they sleep when no
	// event wakes them and nothing is due (defaults 30s); tests lengthen
	// them to prove the wake-ups.
	DialerPoll, ChatPoll time.Duration
	// MaxChannelLimit is the ceiling of agents' total_channel_limit and
	// routing_channel_limit (PARLEY_MAX_CHANNEL_LIMIT); 0 is
	// agent.DefaultMaxChannelLimit.
	MaxChannelLimit int
}

// DSN returns the database DSN the config names, defaulting to a SQLite
// file in the data directory.
func (c Config) DSN() (string, error) {
	if c.DB != "" {
		return c.DB, nil
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return "", err
	}
	return "sqlite://" + filepath.Join(dir, "parley.db"), nil
}

// Server is one running Parley node.
type Server struct {
	Config    Config
	DB        *store.DB
	Companies *company.Service
	Users     *auth.UserService
	Tokens    *auth.TokenService
	Agents    *agent.Service
	Dialogs   *outbound.Service
	Chats     *chat.Service
	Router    *chat.Router
	Closer    *chat.Closer // the inactivity rule
	Agentic   *chat.VirtualAgents
	Importer  *outbound.Importer
	Dialer    *dialer.Dialer
	Bus       *events.Bus
	Metrics   *api.Metrics
	Media     media.Store
	// Logins checks passwords for every family's login, behind the
	// login limits.
	Logins *api.Logins
	// Uploads hands out chat upload forms within their quotas and purges
	// what expired (the janitor).
	Uploads *chat.Uploads

	// Realtime serves the WebSocket stream; NATS, when configured, links
	// this node's bus to the cluster's.
	Realtime *realtime.Hub
	NATS     *events.NATS

	// Webhooks manages companies' webhooks; WebhookDispatcher delivers
	// the bus's events to them.
	Webhooks          *webhook.Service
	WebhookDispatcher *webhook.Dispatcher

	// Trunks stores the companies' SIP trunk configurations; SIPTrunks
	// builds their SIP stacks for the dialer by an agent's trunk_name.
	Trunks    *trunk.Service
	SIPTrunks *voicesip.Pool
	// RTC answers browsers' WebRTC offers: operators talking to callees,
	// supervisors listening.
	RTC *webrtc.Engine
	// Handover hands calls from the virtual agents to operators (s.transfer()).
	Handover *handover.Service

	http     *http.Server
	listener net.Listener
	done     chan error
	stop     context.CancelFunc
	workers  sync.WaitGroup

	// metricsHTTP serves /metrics on MetricsAddr, when configured.
	metricsHTTP     *http.Server
	metricsListener net.Listener

	// mediaTemp is the media directory Open made for want of a data
	// directory; Close removes it.
	mediaTemp string
}

// Open opens the database, applies migrations and builds the services.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	dsn, err := cfg.DSN()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(applied) > 0 {
		cfg.Log.Info("migrations applied", "dialect", db.Dialect, "migrations", applied)
	}
	if on, err := db.Autovacuum(ctx); err == nil && !on {
		cfg.Log.Warn("PostgreSQL autovacuum is off: without fresh planner statistics message search and reports slow down as tables grow; turn it on, or run VACUUM ANALYZE after large loads")
	}
	tokens, err := auth.NewTokenService(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	script.SetRunLimits(cfg.ScriptMaxAlloc, cfg.ScriptMaxRunSteps)
	node := uuid.NewString()
	bus := events.NewBus()
	chats := &chat.Service{DB: db, Bus: bus, Timeout: cfg.ChatTimeout, Inactivity: cfg.ChatInactivity}
	s := &Server{
		Config:    cfg,
		DB:        db,
		Companies: &company.Service{DB: db},
		Users:     &auth.UserService{DB: db, Operators: chats, Hashes: auth.NewHashGate(cfg.HashConcurrency, cfg.HashQueue)},
		Tokens:    tokens,
		Agents:    &agent.Service{DB: db, MaxChannelLimit: cfg.MaxChannelLimit},
		Dialogs:   &outbound.Service{DB: db, Bus: bus, Log: cfg.Log},
		Chats:     chats,
		Bus:       bus,
		Metrics:   api.NewMetrics(),
		done:      make(chan error, 1),
	}
	s.Logins = api.NewLogins(s.Users, cfg.Log, cfg.Logins)
	s.Importer = &outbound.Importer{Dialogs: s.Dialogs, Node: node, Log: cfg.Log, Lease: cfg.Lease, CPUShare: cfg.ImportCPUShare}
	trunks := map[string]dialer.Trunk{"sim": &dialer.SimTrunk{Synth: cfg.Synth, Log: cfg.Log, Pace: cfg.SimPace}}
	for name, t := range cfg.Trunks {
		trunks[name] = t
	}
	if s.Media, s.mediaTemp, err = openMedia(ctx, cfg, db); err != nil {
		db.Close()
		return nil, err
	}
	s.Uploads = &chat.Uploads{Chats: s.Chats, Store: s.Media, Limits: cfg.Uploads, Log: cfg.Log}
	s.Dialogs.Imported = s.Importer.Wake
	s.Dialogs.Media = s.Media // recordings
	s.Router = &chat.Router{Chats: s.Chats, Log: cfg.Log, Every: cfg.ChatPoll}
	s.Agentic = &chat.VirtualAgents{Chats: s.Chats, Log: cfg.Log, Every: cfg.ChatPoll}
	s.Chats.OperatorFree = s.Router.Wake
	s.Closer = &chat.Closer{Chats: s.Chats, Log: cfg.Log, Every: cfg.ChatPoll}
	s.Chats.OnChange = func(ev events.Event) {
		s.Router.Notice(ev)
		s.Agentic.Notice(ev)
		s.Closer.Notice(ev)
	}
	s.Dialer = &dialer.Dialer{Dialogs: s.Dialogs, Agents: s.Agents, Node: node, Log: cfg.Log, Lease: cfg.Lease, Trunks: trunks,
		MaxCalls: callCap(cfg), Interval: cfg.DialerPoll}
	s.Metrics.Registry.MustRegister(voicesip.Collectors()...)
	reg, warm := cfg.Speech, func() {}
	if reg == nil {
		reg, warm = cfg.Voice.registry(cfg.Synth, s.Media, cfg.Log)
	}
	guard := &egress.Guard{AllowPrivate: cfg.TrunkAllowPrivate}
	s.Trunks = &trunk.Service{DB: db, Guard: guard}
	s.SIPTrunks = &voicesip.Pool{Configs: s.Trunks, Agents: s.Agents, Synth: cfg.Synth, Log: cfg.Log, Speech: reg, PublicIP: cfg.PublicIP,
		Guard: guard, VAD: cfg.Voice.VAD, JitterMin: cfg.Voice.JitterMin, Prepare: warm}
	rtc := cfg.WebRTC
	rtc.PublicIP, rtc.Log = cfg.PublicIP, cfg.Log
	if s.RTC, err = webrtc.NewEngine(rtc); err != nil {
		db.Close()
		if s.mediaTemp != "" {
			_ = os.RemoveAll(s.mediaTemp)
		}
		return nil, err
	}
	s.Dialer.TrunkResolver = s.SIPTrunks.Resolve
	s.Handover = &handover.Service{Chats: s.Chats, Agents: s.Agents, Dialogs: s.Dialogs, RTC: s.RTC, Synth: cfg.Synth, Log: cfg.Log,
		Node: node, Lease: cfg.Lease}
	s.Dialer.Handover = s.Handover
	s.Dialogs.Queued, s.Agents.Changed = s.Dialer.Wake, s.Dialer.Wake
	s.WebhookDispatcher = &webhook.Dispatcher{DB: db, Bus: bus, Log: cfg.Log, Node: node, AllowPrivate: cfg.WebhookAllowPrivate,
		Backoff: cfg.WebhookBackoff, MaxAttempts: cfg.WebhookMaxAttempts, SweepEvery: cfg.WebhookSweepEvery, SweepLag: cfg.WebhookSweepLag}
	s.Webhooks = &webhook.Service{DB: db, AllowPrivate: cfg.WebhookAllowPrivate, Wake: s.WebhookDispatcher.Wake}
	if err := s.openRealtime(ctx, node); err != nil {
		s.closeRealtime()
		s.RTC.Close()
		db.Close()
		if s.mediaTemp != "" {
			_ = os.RemoveAll(s.mediaTemp)
		}
		return nil, err
	}
	return s, nil
}

// Handler builds the HTTP handler of every family and operational route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	uploads := s.Uploads
	api.Route(mux, "GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	api.Route(mux, "GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := s.DB.Ping(ctx); err != nil {
			s.Config.Log.Warn("readiness check failed", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"database unavailable"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	}))
	web.Register(mux)
	if s.Config.MetricsAddr == "" && s.Config.MetricsToken != "" {
		api.Route(mux, "GET /metrics", s.metricsHandler())
	}
	openapi.Register(mux)
	(&ext.Handler{Log: s.Config.Log, Users: s.Users, Logins: s.Logins, Tokens: s.Tokens, Agents: s.Agents, Dialogs: s.Dialogs, Trunks: s.Trunks}).Register(mux)
	(&v1.Handler{Log: s.Config.Log, Tokens: s.Tokens, Chats: s.Chats, Handover: s.Handover, Users: s.Users}).Register(mux)
	s.Realtime.Register(mux)
	(&livechat.Handler{Log: s.Config.Log, Tokens: s.Tokens, Chats: s.Chats}).Register(mux)
	(&apps.Handler{Log: s.Config.Log, Tokens: s.Tokens, Chats: s.Chats, Uploads: uploads, Webhooks: s.Webhooks}).Register(mux)
	(&widget.Handler{Log: s.Config.Log, Chats: s.Chats, Tokens: s.Realtime, Uploads: uploads}).Register(mux)
	if l, ok := s.Media.(*media.Local); ok {
		(&localmedia.Handler{Store: l, Log: s.Config.Log}).Register(mux)
	}
	return api.Observe(s.Config.Log, s.Metrics, api.Canonical(mux))
}

// metricsHandler serves the Prometheus metrics, behind MetricsToken when
// one is set.
func (s *Server) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
	token := s.Config.MetricsToken
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley-metrics"`)
			api.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "The metrics token is required: Authorization: Bearer <token>.", "code": "unauthorized"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Listen binds the configured address; after it returns, URL is known and
// /healthz answers as soon as Serve runs.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Config.Addr, err)
	}
	s.listener = ln
	if s.Config.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.Config.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (metrics): %w", s.Config.MetricsAddr, err)
		}
		s.metricsListener = mln
		mux := http.NewServeMux()
		api.Route(mux, "GET /metrics", s.metricsHandler())
		s.metricsHTTP = &http.Server{
			Handler:           api.Observe(s.Config.Log, s.Metrics, api.Canonical(mux)),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(s.Config.Log.Handler(), slog.LevelWarn),
		}
	}
	if l, ok := s.Media.(*media.Local); ok && s.Config.Media.PublicURL == "" {
		l.SetBaseURL(s.URL())
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Config.Log.Handler(), slog.LevelWarn),
	}
	return nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	if err := s.Listen(); err != nil {
		return err
	}
	go func() {
		err := s.http.Serve(s.listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.Config.Log.Info("serving", "addr", s.listener.Addr().String(), "dialect", s.DB.Dialect)
	if s.metricsHTTP != nil {
		go func() {
			if err := s.metricsHTTP.Serve(s.metricsListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.Config.Log.Error("metrics listener stopped", "error", err)
			}
		}()
		s.Config.Log.Info("serving metrics", "addr", s.metricsListener.Addr().String(), "token", s.Config.MetricsToken != "")
	}
	if !s.Config.NoWorkers {
		s.startWorkers()
	}
	return nil
}

// startWorkers runs the importer and the dialer until Close.
func (s *Server) startWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	for _, run := range []func(context.Context){s.Importer.Run, s.Dialer.Run, s.runJanitor, s.Router.Run, s.Closer.Run, s.Agentic.Run, s.WebhookDispatcher.Run, s.Handover.Run,
		s.wakeOnClusterEvents} {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			run(ctx)
		}()
	}
}

// Done yields the serve loop's error when it stops.
func (s *Server) Done() <-chan error { return s.done }

// URL is the base URL of the running server.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// MetricsURL is the base URL of the metrics listener, "" without one.
func (s *Server) MetricsURL() string {
	if s.metricsListener == nil {
		return ""
	}
	return "http://" + s.metricsListener.Addr().String()
}

// Close stops accepting requests, waits for those in flight until ctx ends,
// then closes the database.
func (s *Server) Close(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	if s.metricsHTTP != nil {
		err = errors.Join(err, s.metricsHTTP.Shutdown(ctx))
		_ = s.metricsListener.Close() // if Start never served it
	}
	if s.stop != nil {
		// Calls in progress are abandoned, not finished: their leases run
		// out and the next process retries them without counting them.
		s.stop()
		s.workers.Wait()
	}
	s.closeRealtime() // hijacked connections outlive Shutdown; they read the database
	s.SIPTrunks.Close()
	if s.RTC != nil {
		err = errors.Join(err, s.RTC.Close())
	}
	err = errors.Join(err, s.DB.Close())
	if s.mediaTemp != "" {
		err = errors.Join(err, os.RemoveAll(s.mediaTemp))
	}
	return err
}

// MediaConfig chooses the media store.
type MediaConfig struct {
	// Backend is "local" (the default: files in DataDir/media, uploaded to
	// and served by this server) or "s3".
	Backend string
	// PublicURL is the absolute base URL clients reach this server at,
	// e.g. "https://chat.example.com": the local store's presigned forms
	// and URLs start with it. Empty means the listen address, which only
	// suits tests.
	PublicURL string
	S3        media.S3Config
}

// openMedia builds the configured media store. Without a data directory
// (tests that pass a DSN) the local store lives in a temporary directory,
// returned so that Close removes it.
func openMedia(ctx context.Context, cfg Config, db *store.DB) (media.Store, string, error) {
	switch cfg.Media.Backend {
	case "s3":
		s, err := media.NewS3(cfg.Media.S3)
		if err != nil {
			return nil, "", err
		}
		if err := s.Check(ctx); err != nil {
			return nil, "", err
		}
		cfg.Log.Info("media store", "backend", "s3", "s3", cfg.Media.S3) // LogValue leaves the secret out
		return s, "", nil
	case "none":
		return nil, "", nil // admin commands, which serve nothing
	case "", "local":
	default:
		return nil, "", fmt.Errorf("media backend %q: want local or s3", cfg.Media.Backend)
	}
	key, err := media.LoadSigningKey(ctx, db)
	if err != nil {
		return nil, "", err
	}
	dir, temp := filepath.Join(cfg.DataDir, "media"), ""
	if cfg.DataDir == "" {
		if dir, err = os.MkdirTemp("", "parley-media-"); err != nil {
			return nil, "", err
		}
		temp = dir
	}
	l, err := media.NewLocal(media.LocalConfig{Dir: dir, Secret: key, BaseURL: cfg.Media.PublicURL, Log: cfg.Log})
	if err != nil {
		if temp != "" {
			os.RemoveAll(temp)
		}
		return nil, "", err
	}
	return l, temp, nil
}

// callCap is the node's call cap: the configured one, else one sized from
// the file descriptor limit, which it raises to the hard limit first. It
// logs both, so an operator sees what the node will carry.
func callCap(cfg Config) int {
	soft, hard, err := RaiseFileLimit()
	if err != nil {
		cfg.Log.Warn("file descriptor limit unknown", "error", err)
	}
	n := cfg.DialerMaxCalls
	if n == 0 {
		n = CallCapFor(soft)
	}
	cfg.Log.Info("file descriptors", "soft_limit", soft, "hard_limit", hard, "dialer_max_calls", n)
	return n
}
