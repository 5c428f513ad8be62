package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/server"
)

// Env is a running server on a fresh database.
type Env struct {
	*server.Server
	Client *http.Client
	// Base, when set, is the base URL of a server in another process
	// (Remote): Do and Login go there, and Server is nil.
	Base string
}

// Remote is an Env for the HTTP API of a server in another process (a
// `parley serve` a test started) at base, e.g. "http://127.0.0.1:8080".
// Only its HTTP methods work: it has no Server.
func Remote(base string) *Env {
	return &Env{Base: base, Client: &http.Client{Timeout: 30 * time.Second, Transport: Transport}}
}

// URL is the base URL of the server: Base, or the in-process server's.
func (e *Env) URL() string {
	if e.Base != "" {
		return e.Base
	}
	return e.Server.URL()
}

// Options change how Start builds the server.
type Options struct {
	// Manual keeps the importer and dialer from running in the background;
	// the test drives them (Importer.RunOnce, Dialer.Tick) itself.
	Manual bool
	// Configure edits the config before the server opens.
	Configure func(*server.Config)
}

// Transport, when a test package's TestMain sets it, carries the requests
// of every Env's Client: the API families' contract tests set it to
// validate each response their package's tests get against the family's
// OpenAPI document (apitest.Recorder.Transport). Nil is the default one.
var Transport http.RoundTripper

// Start opens a server on dsn, listening on a free loopback port, and
// closes it when the test ends.
func Start(tb testing.TB, dsn string) *Env { return StartWith(tb, dsn, Options{}) }

// StartWith is Start with options.
func StartWith(tb testing.TB, dsn string, opts Options) *Env {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("PARLEY_TEST_LOG") == "1" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx := context.Background()
	// Tones instead of espeak-ng keep simulated calls fast; the audio
	// package tests espeak-ng itself.
	// Test SIP peers listen on loopback: trunks may point there unless a
	// test of the egress guard configures it back on.
	cfg := server.Config{Addr: "127.0.0.1:0", DB: dsn, Log: log, NoWorkers: opts.Manual, Synth: audio.ToneSynth{}, TrunkAllowPrivate: true}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open server: %v", err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatalf("start server: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return &Env{Server: srv, Client: &http.Client{Timeout: 30 * time.Second, Transport: Transport}}
}

// Tenant is a company with an API user, an operator user and one agent.
type Tenant struct {
	CompanyID     int64
	CompanyUUID   string
	Secret        string
	Login         string
	Password      string
	Token         string
	RefreshToken  string
	OperatorLogin string
	OperatorToken string
	AgentUUID     string
	AgentName     string
}

// NewTenant creates a company, its users and an agent, and logs the users
// in over HTTP.
func (e *Env) NewTenant(tb testing.TB, name string) *Tenant {
	tb.Helper()
	ctx := context.Background()
	c, err := e.Companies.Create(ctx, name, "UTC")
	if err != nil {
		tb.Fatalf("create company: %v", err)
	}
	t := &Tenant{CompanyID: c.ID, CompanyUUID: c.UUID, Secret: c.Secret,
		Login: strings.ToLower(name) + "-api", Password: "correct horse " + name,
		OperatorLogin: strings.ToLower(name) + "-op"}
	if _, err := e.Users.CreateUser(ctx, c.ID, t.Login, t.Password, parley.RoleAPI); err != nil {
		tb.Fatalf("create api user: %v", err)
	}
	if _, err := e.Users.CreateUser(ctx, c.ID, t.OperatorLogin, t.Password, parley.RoleOperator); err != nil {
		tb.Fatalf("create operator user: %v", err)
	}
	actx := parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
	t.AgentName = name + " secret-agent-name"
	a, err := e.Agents.Create(actx, agent.NewAgent{Name: t.AgentName, Timezone: "Europe/Moscow"})
	if err != nil {
		tb.Fatalf("create agent: %v", err)
	}
	t.AgentUUID = a.UUID
	t.Token, t.RefreshToken = e.Login(tb, t.Login, t.Password)
	t.OperatorToken, _ = e.Login(tb, t.OperatorLogin, t.Password)
	return t
}

// Login gets a token pair through POST /api/v2/ext/auth.
func (e *Env) Login(tb testing.TB, login, password string) (token, refresh string) {
	tb.Helper()
	req, _ := http.NewRequest("POST", e.URL()+"/api/v2/ext/auth", nil)
	req.SetBasicAuth(login, password)
	res, err := e.Client.Do(req)
	if err != nil {
		tb.Fatalf("login: %v", err)
	}
	defer res.Body.Close()
	var pair struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		tb.Fatalf("login %s: status %d: %s", login, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&pair); err != nil {
		tb.Fatalf("login: %v", err)
	}
	return pair.Token, pair.RefreshToken
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r *Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("response (status %d) is not the JSON expected: %v\n%s", r.Status, err, r.Body)
	}
}

// Do sends a request with an optional bearer token. body may be nil, a
// string or []byte (sent as is), or any value (sent as JSON).
func (e *Env) Do(tb testing.TB, method, path, token string, body any) *Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL()+path, rd)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.Client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}
