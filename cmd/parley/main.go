// Command parley is the Parley contact-center server and its admin tools.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // agents' time zones must resolve on machines without tzdata

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/media"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/trunk"
)

// usage is what "parley help" prints: the commands (one synopsis a line,
// as the README's command list shows them) and the settings.
func usage() string {
	var b strings.Builder
	b.WriteString("parley — open contact-center platform\n\nUsage:\n")
	for _, c := range topCommands {
		if c.name == "admin" {
			for _, a := range adminCommands {
				fmt.Fprintf(&b, "  %s\n", a.synopsis)
			}
			continue
		}
		fmt.Fprintf(&b, "  %s\n", c.synopsis)
	}
	b.WriteString(usageTail)
	return b.String()
}

// topCommands are the commands of the binary, in the order usage lists them.
var topCommands = []struct{ name, synopsis string }{
	{"serve", "parley serve   [--addr HOST:PORT] [--db DSN] [--data-dir DIR]"},
	{"demo", "parley demo    [--addr HOST:PORT] [--db DSN] [--data-dir DIR]"},
	{"migrate", "parley migrate [--db DSN] [--data-dir DIR]"},
	{"version", "parley version"},
	{"admin", ""},
	{"help", "parley help [COMMAND [SUBCOMMAND]]"},
}

const usageTail = `
"parley COMMAND -h" (or --help) describes a command and its flags. Load generators and
benchmarks are a separate binary, parley-bench (cmd/parley-bench; see docs/benchmarks.md).

Environment (a flag of the same name overrides): PARLEY_DB, PARLEY_ADDR,
PARLEY_DATA_DIR, PARLEY_LOG_LEVEL (debug|info|warn|error), PARLEY_LOG_FORMAT (text|json),
PARLEY_LEASE (default 30s), PARLEY_SIM_TTS (auto|tone|espeak), PARLEY_SIM_PACE (default 0),
PARLEY_PUBLIC_URL (base URL clients reach the server at; default http://ADDR),
PARLEY_MEDIA_BACKEND (local|s3; default local: files in DATA_DIR/media), and for s3:
PARLEY_S3_ENDPOINT (host:port), PARLEY_S3_BUCKET, PARLEY_S3_ACCESS_KEY, PARLEY_S3_SECRET_KEY,
PARLEY_S3_REGION (default us-east-1), PARLEY_S3_SECURE (default true: HTTPS),
PARLEY_CHAT_TIMEOUT (default 30m: a live chat whose end user is silent this long times out; 0 never),
PARLEY_CHAT_INACTIVITY (default 10m: an assigned chat whose end user has not answered the operator
this long is closed, freeing the operator; a menu's inactivity_minutes overrides it; 0 never),
PARLEY_WEBHOOK_ALLOW_PRIVATE (1 lets webhook URLs point at loopback, private and
link-local addresses; default 0: refused when saved and when connecting),
PARLEY_NATS_URL (nats://host:4222: links the nodes of a cluster so that every node's
WebSocket stream sees every node's events and an operator's accept reaching any node is
relayed to the node holding the call; default none: a single node),
PARLEY_NATS_SUBJECT (subject prefix of the cluster's events; default parley.events),
PARLEY_PUBLIC_IP (the address SIP trunks and browsers reach this node's media at, behind a 1:1 NAT),
PARLEY_RTC_UDP_PORT (one UDP port for all WebRTC media) or PARLEY_RTC_UDP_PORTS (a range, 40000-40999),
PARLEY_RTC_LOOPBACK (1 gathers loopback ICE candidates), PARLEY_RTC_MAX_PEERS (default 500),
PARLEY_VOICE_END_SILENCE (silence that ends an open listen; default 600ms),
PARLEY_VOICE_GRAMMAR_SILENCE (silence after a complete expected phrase that ends a
closed-grammar listen; default 200ms), PARLEY_VOICE_STABLE_SILENCE (silence after which an open
listen ends early when the recognizer's hypothesis held and does not end in "and", "the", "um"...;
default 200ms, longer on a noisy line; off: only the end silence), PARLEY_VOICE_JITTER_MIN (SIP jitter buffer minimum; default 40ms),
PARLEY_ASR (auto|library|batch: resident pocketsphinx decoders through libpocketsphinx, or a
pocketsphinx_batch process per utterance; default auto: the library when it loads),
PARLEY_ASR_DECODERS (resident decoders shared by all calls, ~25 MB each; default 2),
PARLEY_TTS_CACHE_MB (memory for synthesized prompts; default 64; 0: no cache),
PARLEY_TTS_STORE_MB (synthesized prompts kept in the media store; default 256; 0: none),
PARLEY_VOICE_NICE (nice value of the calls' media clock threads and of decoding; default -10,
needs CAP_SYS_NICE; 0: no thread of their own),
PARLEY_METRICS_ADDR (host:port of a listener of its own for GET /metrics; default none),
PARLEY_METRICS_TOKEN (Bearer token GET /metrics requires; without an address, /metrics is
then served on the main listener; with neither, /metrics is not served),
PARLEY_LOGIN_FAILURES_PER_LOGIN (default 5), PARLEY_LOGIN_FAILURES_PER_CLIENT (default 20;
0: no per-client limit, e.g. behind a proxy), PARLEY_LOGIN_BACKOFF_MAX (default 15m),
PARLEY_PASSWORD_HASHES (password hashes at once; default one per CPU),
PARLEY_PASSWORD_HASH_QUEUE (hashes that may wait; default 4 per CPU),
PARLEY_SCRIPT_MAX_ALLOC (what one script run's bulk operations may allocate; default 64MiB),
PARLEY_SCRIPT_MAX_RUN_STEPS (steps of one script run; default 4000000),
PARLEY_STREAM_USER_CONNS (stream connections of one staff user on a node; default 16),
PARLEY_UPLOAD_CHAT_FILES and PARLEY_UPLOAD_CHAT_BYTES (upload quota of one chat; default 200, 1GiB),
PARLEY_UPLOAD_COMPANY_FILES and PARLEY_UPLOAD_COMPANY_BYTES (of one company; default 100000, 100GiB),
PARLEY_TRUNK_ALLOW_PRIVATE (1 lets SIP trunk hosts be loopback, private and link-local
addresses; default 0: refused when saved and at every dial),
PARLEY_DIALER_MAX_CALLS (calls in progress on one node; default sized from the file
descriptor limit, which serve raises to its hard limit: (soft - 1024) / 4, 16 to 2000),
PARLEY_MAX_CHANNEL_LIMIT (ceiling of agents' total_channel_limit and routing_channel_limit;
default 1000). A trunk's own calls_per_second (default 10) paces its calls on each node.
PARLEY_IMPORT_CPU (share of one CPU a running dialog import takes, 0.05 to 1; default 1).
See docs/security.md for the limits and their settings.
A value that does not parse stops the command with the variable's name.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "parley:", err)
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil // the usage asked for is printed
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return usageError{errors.New("no command given")}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "demo":
		return demoCommand(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "version":
		return version(args[1:], stdout, stderr)
	case "admin":
		return admin(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			// "parley help serve" is "parley serve --help".
			return dispatch(ctx, append(args[1:], "--help"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage())
		return nil
	}
	fmt.Fprint(stderr, usage())
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// commonFlags registers the flags every command that opens the store takes.
func commonFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.DB, "db", env("PARLEY_DB", ""), "database DSN: sqlite:///abs/path.db or postgres://...")
	fs.StringVar(&cfg.DataDir, "data-dir", env("PARLEY_DATA_DIR", "./parley-data"), "data directory")
}

// newLogger builds the logger PARLEY_LOG_LEVEL and PARLEY_LOG_FORMAT ask
// for; a value it does not know is an error naming the variable.
func newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if v := env("PARLEY_LOG_LEVEL", "info"); level.UnmarshalText([]byte(v)) != nil {
		return nil, fmt.Errorf("PARLEY_LOG_LEVEL: want debug, info, warn or error, got %q", v)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch v := env("PARLEY_LOG_FORMAT", "text"); strings.ToLower(v) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("PARLEY_LOG_FORMAT: want text or json, got %q", v)
	}
}

const serveAbout = `Runs the server: every API family, the operator console (/console/), the
supervisor views (/supervisor/), the widget and the workers (importer, dialer,
routing, virtual agents, webhooks). Migrations run at start. Its log says where
the pages are, and how to create a first user when there is none.`

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newCommand("serve", synopsis("serve"), serveAbout, stdout, stderr)
	return runServer(ctx, cmd, args, nil)
}

// synopsis is a top-level command's line of the usage.
func synopsis(name string) string {
	for _, c := range topCommands {
		if c.name == name {
			return c.synopsis
		}
	}
	return "parley " + name
}

// runServer parses the flags of serve (and demo), checks every setting,
// and serves until ctx ends. prepare, when set, runs on the opened server
// before it listens (demo seeds its tenant there) and returns what to
// print once it does.
func runServer(ctx context.Context, cmd *command, args []string, prepare func(context.Context, *server.Server) (func(base string), error)) error {
	cfg := server.Config{}
	cmd.StringVar(&cfg.Addr, "addr", env("PARLEY_ADDR", "127.0.0.1:8080"), "listen address")
	commonFlags(cmd.FlagSet, &cfg)
	if err := cmd.parse(args); err != nil {
		return err
	}
	if err := serverSettings(cmd.FlagSet, &cfg, cmd.stderr); err != nil {
		return err
	}
	slog.SetDefault(cfg.Log)
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	var ready func(base string)
	if prepare != nil {
		if ready, err = prepare(ctx, srv); err != nil {
			_ = srv.Close(context.Background()) // nothing listens yet: this closes what Open opened
			return err
		}
	}
	if err := srv.Start(); err != nil {
		srv.DB.Close()
		return err
	}
	logPages(ctx, srv, publicBase(cfg, srv))
	if ready != nil {
		ready(publicBase(cfg, srv))
	}
	select {
	case <-ctx.Done():
		cfg.Log.Info("shutting down")
	case err := <-srv.Done():
		if err != nil {
			srv.DB.Close()
			return err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Close(shutdownCtx)
}

// mediaSettings reads the media store's settings from the environment. The
// secret key is only ever passed on, never logged.
func mediaSettings(cfg *server.Config) error {
	m := &cfg.Media
	m.PublicURL = strings.TrimRight(env("PARLEY_PUBLIC_URL", "http://"+cfg.Addr), "/")
	if u, err := url.Parse(m.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("PARLEY_PUBLIC_URL: want an absolute http(s) URL, got %q", m.PublicURL)
	}
	switch m.Backend = env("PARLEY_MEDIA_BACKEND", "local"); m.Backend {
	case "local":
	case "s3":
		secure, err := strconv.ParseBool(env("PARLEY_S3_SECURE", "true"))
		if err != nil {
			return fmt.Errorf("PARLEY_S3_SECURE: want true or false, got %q", os.Getenv("PARLEY_S3_SECURE"))
		}
		m.S3 = media.S3Config{
			Endpoint:  os.Getenv("PARLEY_S3_ENDPOINT"),
			Bucket:    os.Getenv("PARLEY_S3_BUCKET"),
			AccessKey: os.Getenv("PARLEY_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("PARLEY_S3_SECRET_KEY"),
			Region:    env("PARLEY_S3_REGION", "us-east-1"),
			Secure:    secure,
		}
		for _, req := range [][2]string{{"PARLEY_S3_ENDPOINT", m.S3.Endpoint}, {"PARLEY_S3_BUCKET", m.S3.Bucket},
			{"PARLEY_S3_ACCESS_KEY", m.S3.AccessKey}, {"PARLEY_S3_SECRET_KEY", m.S3.SecretKey}} {
			if req[1] == "" {
				return fmt.Errorf("%s: required with PARLEY_MEDIA_BACKEND=s3", req[0])
			}
		}
	default:
		return fmt.Errorf("PARLEY_MEDIA_BACKEND: want local or s3, got %q", m.Backend)
	}
	return nil
}

// metricsSettings reads where /metrics is served. The token is only ever
// passed on, never logged.
func metricsSettings(cfg *server.Config) error {
	cfg.MetricsAddr, cfg.MetricsToken = os.Getenv("PARLEY_METRICS_ADDR"), os.Getenv("PARLEY_METRICS_TOKEN")
	if t := cfg.MetricsToken; t != "" && (len(t) < 16 || strings.ContainsAny(t, " \t\r\n")) {
		return errors.New("PARLEY_METRICS_TOKEN: want at least 16 characters without spaces")
	}
	if a := cfg.MetricsAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("PARLEY_METRICS_ADDR: want host:port, got %q", a)
		}
		if a == cfg.Addr {
			return errors.New("PARLEY_METRICS_ADDR: must differ from the listen address")
		}
	}
	return nil
}

// scriptSettings reads what one script run may use.
func scriptSettings(cfg *server.Config) error {
	if v := os.Getenv("PARLEY_SCRIPT_MAX_ALLOC"); v != "" {
		n, err := parseBytes(v)
		if err != nil || n < 1<<20 || n > 1<<40 {
			return fmt.Errorf("PARLEY_SCRIPT_MAX_ALLOC: want a size from 1MiB, such as 64MiB, got %q", v)
		}
		cfg.ScriptMaxAlloc = n
	}
	if v := os.Getenv("PARLEY_SCRIPT_MAX_RUN_STEPS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 10_000 {
			return fmt.Errorf("PARLEY_SCRIPT_MAX_RUN_STEPS: want a whole number from 10000, got %q", v)
		}
		cfg.ScriptMaxRunSteps = n
	}
	return nil
}

// parseBytes reads a size: a number of bytes, or a number with KiB, MiB,
// GiB, TiB (or KB, MB, GB, TB, read as the same powers of two).
func parseBytes(v string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(v)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return n * mult, nil
}

// loginSettings reads the login limits and the password hash gate.
func loginSettings(cfg *server.Config) error {
	intVar := func(name string, min int, dst *int) error {
		v := os.Getenv(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > 1_000_000 {
			return fmt.Errorf("%s: want a whole number from %d, got %q", name, min, v)
		}
		*dst = n
		return nil
	}
	l := &cfg.Logins
	perClient := -1
	if err := errors.Join(
		intVar("PARLEY_LOGIN_FAILURES_PER_LOGIN", 1, &l.PerLogin.Free),
		intVar("PARLEY_LOGIN_FAILURES_PER_CLIENT", 0, &perClient),
		intVar("PARLEY_PASSWORD_HASHES", 1, &cfg.HashConcurrency),
		intVar("PARLEY_PASSWORD_HASH_QUEUE", 1, &cfg.HashQueue),
	); err != nil {
		return err
	}
	switch {
	case perClient == 0:
		l.NoClientLimit = true
	case perClient > 0:
		l.PerClient.Free = perClient
	}
	if v := os.Getenv("PARLEY_LOGIN_BACKOFF_MAX"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return fmt.Errorf("PARLEY_LOGIN_BACKOFF_MAX: want a duration from 1s to 24h, got %q", v)
		}
		l.PerLogin.Max, l.PerClient.Max = d, d
	}
	return nil
}

// workerSettings reads the dialer's settings from the environment.
func workerSettings(cfg *server.Config) error {
	if v := os.Getenv("PARLEY_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("PARLEY_LEASE: want a duration of at least 1s, got %q", v)
		}
		cfg.Lease = d
	}
	cfg.ChatTimeout = 30 * time.Minute
	if v := os.Getenv("PARLEY_CHAT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("PARLEY_CHAT_TIMEOUT: want a duration such as 30m (0 never times out), got %q", v)
		}
		cfg.ChatTimeout = d
	}
	cfg.ChatInactivity = chat.DefaultInactivity
	if v := os.Getenv("PARLEY_CHAT_INACTIVITY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > chat.MaxInactivityMinutes*time.Minute {
			return fmt.Errorf("PARLEY_CHAT_INACTIVITY: want a duration such as 10m, at most 168h (0 never closes), got %q", v)
		}
		cfg.ChatInactivity = d
	}
	if v := os.Getenv("PARLEY_SIM_PACE"); v != "" {
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || p < 0 || p > 100 {
			return fmt.Errorf("PARLEY_SIM_PACE: want a number from 0 to 100, got %q", v)
		}
		cfg.SimPace = p
	}
	switch v := env("PARLEY_WEBHOOK_ALLOW_PRIVATE", "0"); v {
	case "0", "false":
	case "1", "true":
		cfg.WebhookAllowPrivate = true
	default:
		return fmt.Errorf("PARLEY_WEBHOOK_ALLOW_PRIVATE: want 1 or 0, got %q", v)
	}
	switch v := env("PARLEY_SIM_TTS", "auto"); v {
	case "auto":
	case "tone":
		cfg.Synth = audio.ToneSynth{}
	case "espeak":
		e, ok := audio.LookupEspeak()
		if !ok {
			return errors.New("PARLEY_SIM_TTS=espeak but espeak-ng is not installed")
		}
		cfg.Synth = e
	default:
		return fmt.Errorf("PARLEY_SIM_TTS: want auto, tone or espeak, got %q", v)
	}
	return nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := server.Config{}
	cmd := newCommand("migrate", synopsis("migrate"), "Applies the database migrations and exits (serve applies them at start too).", stdout, stderr)
	commonFlags(cmd.FlagSet, &cfg)
	if err := cmd.parse(args); err != nil {
		return err
	}
	if err := storeSettings(cmd.FlagSet, &cfg); err != nil {
		return err
	}
	log, err := newLogger(stderr)
	if err != nil {
		return err
	}
	cfg.Log = log
	cfg.Media.Backend = "none"
	srv, err := server.Open(ctx, cfg) // Open applies the migrations
	if err != nil {
		return err
	}
	defer srv.DB.Close()
	return json.NewEncoder(stdout).Encode(map[string]any{"status": "migrated", "dialect": srv.DB.Dialect})
}

// admin runs one admin command and prints its result as one JSON object.
func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) == 0 {
			printAdminUsage(stderr)
			return usageError{errors.New("admin needs a command")}
		}
		printAdminUsage(stdout)
		return errHelp
	}
	cmd := args[0]
	spec, ok := findAdminCommand(cmd)
	if !ok {
		printAdminUsage(stderr)
		return usageError{fmt.Errorf("unknown admin command %q", cmd)}
	}
	if spec.run != nil { // the commands in files of their own
		return spec.run(ctx, spec, args[1:], stdout, stderr)
	}
	cfg := server.Config{}
	c := newCommand("admin "+cmd, spec.synopsis, spec.about, stdout, stderr)
	fs := c.FlagSet
	commonFlags(fs, &cfg)
	var name, tz, companyUUID, login, password, role, agentUUID, file, menu string
	var newTrunk trunk.NewTrunk
	switch cmd {
	case "create-company":
		fs.StringVar(&name, "name", "", "company name")
		fs.StringVar(&tz, "timezone", "UTC", "default time zone")
	case "create-user":
		fs.StringVar(&companyUUID, "company", "", "company UUID")
		fs.StringVar(&login, "login", "", "login")
		fs.StringVar(&password, "password", "", "password")
		fs.StringVar(&role, "role", "", "admin, api or operator")
	case "create-agent":
		fs.StringVar(&companyUUID, "company", "", "company UUID")
		fs.StringVar(&name, "name", "", "agent name")
		fs.StringVar(&tz, "timezone", "UTC", "agent time zone")
	case "put-script":
		fs.StringVar(&agentUUID, "agent", "", "agent UUID")
		fs.StringVar(&name, "name", "", "script name (the dialogs' script_name)")
		fs.StringVar(&file, "file", "", "path of the Starlark source")
	case "create-project":
		fs.StringVar(&companyUUID, "company", "", "company UUID")
		fs.StringVar(&name, "name", "", "project name")
		fs.StringVar(&menu, "menu", "", "menu id: new chats of the project go through it")
	case "create-menu":
		fs.StringVar(&companyUUID, "company", "", "company UUID")
		fs.StringVar(&name, "name", "", "menu name")
		fs.StringVar(&agentUUID, "agent", "", "UUID of the agent whose script answers first (optional)")
	case "create-trunk":
		fs.StringVar(&companyUUID, "company", "", "company UUID")
		fs.StringVar(&name, "name", "", "trunk name (what an agent's trunk_name names)")
		fs.StringVar(&newTrunk.Host, "host", "", "SIP host or IP address of the trunk")
		fs.IntVar(&newTrunk.Port, "port", 5060, "SIP port")
		fs.StringVar(&newTrunk.Transport, "transport", "udp", "udp or tcp")
		fs.StringVar(&newTrunk.Username, "username", "", "digest user name")
		fs.StringVar(&password, "password", "", "digest password")
		fs.StringVar(&newTrunk.CallerID, "caller-id", "", "caller id (the From user)")
		fs.StringVar(&newTrunk.Codecs, "codecs", "PCMU,PCMA", "codecs in order of preference")
		fs.IntVar(&newTrunk.RingTimeout, "ring-timeout", 30, "seconds to ring before giving up")
	default:
		return fmt.Errorf("unknown admin command %q", cmd)
	}
	if err := c.parse(args[1:]); err != nil {
		return err
	}
	srv, err := openForAdmin(ctx, fs, cfg)
	if err != nil {
		return err
	}
	defer srv.DB.Close()

	var out any
	switch cmd {
	case "create-company":
		c, err := srv.Companies.Create(ctx, name, tz)
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"company_uuid": c.UUID, "company_id": c.ID, "secret": c.Secret}
	case "create-user":
		c, err := srv.Companies.ByUUID(ctx, companyUUID)
		if err != nil {
			return describe(err)
		}
		u, err := srv.Users.CreateUser(ctx, c.ID, login, password, role)
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"user_uuid": u.UUID, "operator_id": u.OperatorID}
	case "create-agent":
		actx, err := asCompanyAdmin(ctx, srv, companyUUID)
		if err != nil {
			return err
		}
		a, err := srv.Agents.Create(actx, agent.NewAgent{Name: name, Timezone: tz})
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"agent_uuid": a.UUID, "agent_id": a.ID}
	case "put-script":
		src, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		// The admin acts for the agent's own company.
		var c parley.Caller
		if err := srv.DB.Reader().QueryRow(ctx, `SELECT c.id, c.uuid FROM agents a JOIN companies c ON c.id = a.company_id WHERE a.uuid = ?`,
			agentUUID).Scan(&c.CompanyID, &c.CompanyUUID); err != nil {
			return fmt.Errorf("agent %s not found", agentUUID)
		}
		c.Role = parley.RoleAdmin
		sc, err := srv.Agents.PutScript(parley.WithCaller(ctx, c), agentUUID, name, string(src))
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"agent_uuid": sc.AgentUUID, "name": sc.Name}
	case "create-project":
		actx, err := asCompanyAdmin(ctx, srv, companyUUID)
		if err != nil {
			return err
		}
		var menuID int64
		if menu != "" {
			if menuID, err = strconv.ParseInt(menu, 10, 64); err != nil || menuID <= 0 {
				return fmt.Errorf("--menu: want a menu id (a positive integer), got %q", menu)
			}
		}
		p, err := srv.Chats.CreateProjectWithMenu(actx, name, menuID)
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"project_uuid": p.UUID}
	case "create-menu":
		actx, err := asCompanyAdmin(ctx, srv, companyUUID)
		if err != nil {
			return err
		}
		m, err := srv.Chats.CreateMenu(actx, chat.NewMenu{Name: name, AgentUUID: agentUUID})
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"menu_id": m.ID}
	case "create-trunk":
		actx, err := asCompanyAdmin(ctx, srv, companyUUID)
		if err != nil {
			return err
		}
		newTrunk.Name, newTrunk.Password = name, password
		t, err := srv.Trunks.Create(actx, newTrunk)
		if err != nil {
			return describe(err)
		}
		out = map[string]any{"trunk_id": t.UUID}
	}
	return json.NewEncoder(stdout).Encode(out)
}

// asCompanyAdmin is ctx acting as an admin of the company with that UUID:
// admin commands work through the same services, and tenant checks, as
// the APIs.
func asCompanyAdmin(ctx context.Context, srv *server.Server, companyUUID string) (context.Context, error) {
	c, err := srv.Companies.ByUUID(ctx, companyUUID)
	if err != nil {
		return nil, describe(err)
	}
	return parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin}), nil
}

// describe turns a domain error into the message an operator should read.
func describe(err error) error {
	if code := parley.ErrorCode(err); code != parley.EINTERNAL {
		return errors.New(parley.ErrorMessage(err))
	}
	return err
}
