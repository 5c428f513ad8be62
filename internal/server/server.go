// Package server assembles Parley: it opens the store, builds the domain
// services and mounts every API family on one HTTP server. The binary and
// the black-box tests start it the same way.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/api/ext"
	"github.com/parley-cc/parley/internal/api/livechat"
	v1 "github.com/parley-cc/parley/internal/api/v1"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/company"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/dialog"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Config is what a server needs; cmd/parley fills it from flags and the
// environment.
type Config struct {
	Addr    string // host:port; ":0" picks a free port
	DB      string // DSN; empty means SQLite in DataDir
	DataDir string
	Log     *slog.Logger

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
	// Trunks adds trunks beside the built-in "sim", by name.
	Trunks map[string]dialer.Trunk
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
	Dialogs   *dialog.Service
	Chats     *chat.Service
	Importer  *dialog.Importer
	Dialer    *dialer.Dialer
	Bus       *events.Bus
	Metrics   *api.Metrics

	http     *http.Server
	listener net.Listener
	done     chan error
	stop     context.CancelFunc
	workers  sync.WaitGroup
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
	tokens, err := auth.NewTokenService(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	node := uuid.NewString()
	bus := events.NewBus()
	s := &Server{
		Config:    cfg,
		DB:        db,
		Companies: &company.Service{DB: db},
		Users:     &auth.UserService{DB: db},
		Tokens:    tokens,
		Agents:    &agent.Service{DB: db},
		Dialogs:   &dialog.Service{DB: db},
		Chats:     &chat.Service{DB: db},
		Bus:       bus,
		Metrics:   api.NewMetrics(),
		done:      make(chan error, 1),
	}
	s.Importer = &dialog.Importer{DB: db, Node: node, Log: cfg.Log, Lease: cfg.Lease,
		OnChange: func(ctx context.Context, companyID int64, task string, st dialog.TaskStatus) {
			bus.Publish(events.Event{Type: "import." + st.State, CompanyID: companyID, Subject: task,
				Data: map[string]any{"total_rows": st.Total, "processed_rows": st.Processed, "failed_rows": st.Failed}})
		}}
	trunks := map[string]dialer.Trunk{"sim": &dialer.SimTrunk{Synth: cfg.Synth, Log: cfg.Log, Pace: cfg.SimPace}}
	for name, t := range cfg.Trunks {
		trunks[name] = t
	}
	s.Dialogs.Imported = s.Importer.Wake
	s.Dialer = &dialer.Dialer{DB: db, Node: node, Log: cfg.Log, Bus: bus, Lease: cfg.Lease, Trunks: trunks}
	return s, nil
}

// Handler builds the HTTP handler of every family and operational route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
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
	api.Route(mux, "GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	api.Route(mux, "GET /openapi/ext.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(ext.OpenAPI)
	}))
	(&ext.Handler{Log: s.Config.Log, Users: s.Users, Tokens: s.Tokens, Agents: s.Agents, Dialogs: s.Dialogs}).Register(mux)
	(&v1.Handler{Log: s.Config.Log, Tokens: s.Tokens, Chats: s.Chats}).Register(mux)
	(&livechat.Handler{Log: s.Config.Log, Tokens: s.Tokens, Chats: s.Chats}).Register(mux)
	return api.Observe(s.Config.Log, s.Metrics, mux)
}

// Listen binds the configured address; after it returns, URL is known and
// /healthz answers as soon as Serve runs.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Config.Addr, err)
	}
	s.listener = ln
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
	if !s.Config.NoWorkers {
		s.startWorkers()
	}
	return nil
}

// startWorkers runs the importer and the dialer until Close.
func (s *Server) startWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	for _, run := range []func(context.Context){s.Importer.Run, s.Dialer.Run, s.runJanitor} {
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

// Close stops accepting requests, waits for those in flight until ctx ends,
// then closes the database.
func (s *Server) Close(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	if s.stop != nil {
		// Calls in progress are abandoned, not finished: their leases run
		// out and the next process retries them without counting them.
		s.stop()
		s.workers.Wait()
	}
	return errors.Join(err, s.DB.Close())
}
