package main

// parley-bench chat and parley-bench ws-idle measure live chat: messages
// posted over the v1 API and delivered to WebSocket subscribers (with the
// chat service's own rate without HTTP beside them), and the memory of a
// server holding many idle WebSocket connections.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/server"
)

// Goals of the live-chat requirement; reported, never asserted in tests.
const (
	goalChatRate   = 2000                  // messages/s acknowledged
	goalDeliverP99 = 50 * time.Millisecond // create to WebSocket delivery
	goalIdleRSS    = 1 << 30               // bytes for goalIdleConns idle connections
	goalIdleConns  = 10000
)

// ---- parley-bench chat ----

type chatBenchConfig struct {
	DB          string
	Chats       int
	Posters     int
	Duration    time.Duration
	Warmup      time.Duration
	Rate        int
	RawDuration time.Duration
	JSON        bool
	CPUProfile  string
}

type chatBenchReport struct {
	Command  string      `json:"command"`
	Machine  machineInfo `json:"machine"`
	Database string      `json:"database"`
	Config   struct {
		Chats    int    `json:"chats"`
		Posters  int    `json:"posters"`
		Duration string `json:"duration"`
		Warmup   string `json:"warmup"`
		Rate     int    `json:"rate"` // 0: flat out
	} `json:"config"`
	// Baseline: the chat service's PostMessage (the handler's whole
	// transaction: message, event log, bus) from Posters goroutines,
	// without HTTP.
	ServiceRate float64 `json:"service_post_per_s"`
	// The measured phase: POST /v1/chats/{id}/messages over HTTP, each chat
	// watched by one WebSocket subscriber.
	Acked        int64   `json:"acked"`
	Errors       int64   `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	Seconds      float64 `json:"seconds"`
	AckedPerSec  float64 `json:"acked_per_s"`
	Delivered    int64   `json:"delivered"`
	Missing      int64   `json:"missing"` // acknowledged, never delivered
	Duplicates   int64   `json:"duplicates"`
	DeliverP50   float64 `json:"deliver_p50_ms"`
	DeliverP90   float64 `json:"deliver_p90_ms"`
	DeliverP99   float64 `json:"deliver_p99_ms"`
	DeliverMax   float64 `json:"deliver_max_ms"`
	AckP50       float64 `json:"ack_p50_ms"`
	AckP99       float64 `json:"ack_p99_ms"`
	CPUPerMsg    float64 `json:"cpu_us_per_message"`
	BusDropped   int64   `json:"bus_dropped"`
	SlowClosed   int64   `json:"slow_consumers_closed"`
	MeetsGoal    bool    `json:"meets_goal"`
	GoalDescribe string  `json:"goal"`
}

func benchChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := chatBenchConfig{}
	fs := flag.NewFlagSet("bench chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DB, "db", "", "postgres://... (a fresh database on that server, dropped at the end) or sqlite:///path; default: a fresh SQLite file in a temp dir")
	fs.IntVar(&cfg.Chats, "chats", 200, "chats, each with one WebSocket subscriber")
	fs.IntVar(&cfg.Posters, "posters", 32, "concurrent HTTP posters, one keep-alive connection each")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured load before it")
	fs.IntVar(&cfg.Rate, "rate", 0, "offered messages/s (open loop); 0 posts flat out (closed loop)")
	fs.DurationVar(&cfg.RawDuration, "raw-duration", 3*time.Second, "length of the baseline")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phase to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("bench chat: unexpected argument %q", fs.Arg(0))
	case cfg.Chats < 1 || cfg.Posters < 1 || cfg.Rate < 0:
		return errors.New("bench chat: --chats and --posters must be at least 1, --rate not negative")
	case cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.RawDuration <= 0:
		return errors.New("bench chat: --duration and --raw-duration must be positive, --warmup not negative")
	}
	rep, err := runChatBench(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Command = strings.Join(append([]string{"parley-bench", "chat"}, args...), " ")
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if rep.Acked == 0 {
		return errors.New("bench chat: no message was acknowledged")
	}
	if rep.Missing > 0 || rep.Duplicates > 0 {
		return fmt.Errorf("bench chat: %d acknowledged messages never delivered, %d delivered twice", rep.Missing, rep.Duplicates)
	}
	if float64(rep.Errors) > maxErrorRate*float64(rep.Acked+rep.Errors) {
		return fmt.Errorf("bench chat: %d of %d posts failed; the numbers are not meaningful", rep.Errors, rep.Acked+rep.Errors)
	}
	return nil
}

// chatBenchSetup is a server with a tenant, its chats and a token.
type chatBenchSetup struct {
	srv   *server.Server
	ctx   context.Context // acts for the tenant's company
	cid   int64
	user  int64 // the end user of every chat
	chats []int64
	token string
}

func setupChatTenant(ctx context.Context, srv *server.Server, chats int, token func(login, password string) (string, error)) (*chatBenchSetup, error) {
	c, err := srv.Companies.Create(ctx, "Bench", "UTC")
	if err != nil {
		return nil, err
	}
	login, password := "bench-"+c.UUID[:8], uuid.NewString()
	if _, err := srv.Users.CreateUser(ctx, c.ID, login, password, parley.RoleAPI); err != nil {
		return nil, err
	}
	s := &chatBenchSetup{srv: srv, cid: c.ID,
		ctx: parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})}
	u, err := srv.Chats.CreateClient(s.ctx, chat.NewEndUser{Name: "Bench client"})
	if err != nil {
		return nil, err
	}
	s.user = u.ID
	for range chats {
		ch, err := srv.Chats.CreateChat(s.ctx, u.ID)
		if err != nil {
			return nil, err
		}
		s.chats = append(s.chats, ch.ID)
	}
	if token != nil {
		if s.token, err = token(login, password); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func runChatBench(ctx context.Context, cfg chatBenchConfig) (*chatBenchReport, error) {
	dsn, where, drop, err := freshDB(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	defer drop()
	srv, err := startBenchServer(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer stopBenchServer(srv)
	client := newBenchClient(cfg.Posters)
	defer client.CloseIdleConnections()
	setup, err := setupChatTenant(ctx, srv, cfg.Chats, func(l, p string) (string, error) {
		return benchLogin(ctx, client, srv.URL(), l, p)
	})
	if err != nil {
		return nil, fmt.Errorf("bench chat: set up tenant: %w", err)
	}
	rep := &chatBenchReport{Machine: machineFacts(), Database: where}
	rep.Machine.Dialect = string(srv.DB.Dialect)
	rep.Config.Chats, rep.Config.Posters, rep.Config.Rate = cfg.Chats, cfg.Posters, cfg.Rate
	rep.Config.Duration, rep.Config.Warmup = cfg.Duration.String(), cfg.Warmup.String()

	if rep.ServiceRate, err = servicePostRate(ctx, setup, cfg.Posters, cfg.RawDuration); err != nil {
		return nil, fmt.Errorf("bench chat: service posts: %w", err)
	}

	subs, err := subscribeChats(ctx, srv.URL(), setup.token, setup.chats)
	if err != nil {
		return nil, fmt.Errorf("bench chat: subscribers: %w", err)
	}
	defer subs.close()

	load := &chatLoad{client: client, base: srv.URL(), token: setup.token, chats: setup.chats}
	if cfg.Warmup > 0 {
		load.run(ctx, cfg, cfg.Warmup, false)
	}
	stopProfile, err := startProfile(cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	dropped0, slow0 := srv.Bus.Dropped(), srv.Realtime.Stats().SlowConsumers.Load()
	cpu0 := processCPU()
	start := time.Now()
	acked := load.run(ctx, cfg, cfg.Duration, true)
	elapsed := time.Since(start)
	cpu1 := processCPU()
	stopProfile()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench chat: interrupted: %w", err)
	}

	// Wait for the stragglers: every acknowledged message of the measured
	// phase must arrive.
	want := map[string]bool{}
	for _, k := range acked {
		want[k] = true
	}
	deadline := time.Now().Add(10 * time.Second)
	for subs.countMeasured(want) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	lat, dups := subs.latencies(want)
	rep.Acked, rep.Errors, rep.FirstError = int64(len(acked)), load.errors.Load(), load.sample.msg
	rep.Seconds = elapsed.Seconds()
	if cfg.Rate > 0 {
		// Open loop: sends start on schedule within the window (or later,
		// when every poster is busy), so the rate sustained is what the
		// window got acknowledged; the last answers' tail is not the
		// server's slowness.
		rep.Seconds = cfg.Duration.Seconds()
	}
	rep.AckedPerSec = float64(len(acked)) / rep.Seconds
	rep.Delivered, rep.Missing, rep.Duplicates = int64(len(lat)), int64(len(want)-len(lat)), dups
	rep.DeliverP50, rep.DeliverP90 = ms(percentile(lat, .5)), ms(percentile(lat, .9))
	rep.DeliverP99, rep.DeliverMax = ms(percentile(lat, .99)), ms(percentile(lat, 1))
	ackLat := load.ackLatencies()
	rep.AckP50, rep.AckP99 = ms(percentile(ackLat, .5)), ms(percentile(ackLat, .99))
	if cpu0 > 0 && len(acked) > 0 {
		rep.CPUPerMsg = float64((cpu1-cpu0)/time.Microsecond) / float64(len(acked))
	}
	rep.BusDropped = srv.Bus.Dropped() - dropped0
	rep.SlowClosed = srv.Realtime.Stats().SlowConsumers.Load() - slow0
	rep.MeetsGoal = rep.AckedPerSec >= goalChatRate && rep.DeliverP99 < ms(goalDeliverP99) && rep.Missing == 0
	rep.GoalDescribe = fmt.Sprintf(">= %d messages/s with p99 create-to-deliver < %s", goalChatRate, goalDeliverP99)
	return rep, nil
}

// servicePostRate posts through the chat service from posters goroutines
// for d, each to a chat of its own that nobody watches: the handler's work
// without HTTP and JSON.
func servicePostRate(ctx context.Context, s *chatBenchSetup, posters int, d time.Duration) (float64, error) {
	chats := make([]int64, posters)
	for i := range chats {
		ch, err := s.srv.Chats.CreateChat(s.ctx, s.user)
		if err != nil {
			return 0, err
		}
		chats[i] = ch.ID
	}
	var n atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for _, id := range chats {
		wg.Go(func() {
			for time.Since(start) < d && ctx.Err() == nil {
				if _, err := s.srv.Chats.PostMessage(s.ctx, id, chat.SenderEndUser, "service post"); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// chatLoad posts messages whose content carries the send time.
type chatLoad struct {
	client *http.Client
	base   string
	token  string
	chats  []int64
	sample errorSample
	errors atomic.Int64

	mu  sync.Mutex
	ack []time.Duration
}

// run posts for d, flat out or at cfg.Rate, and returns the contents of
// the acknowledged messages when measured.
func (l *chatLoad) run(ctx context.Context, cfg chatBenchConfig, d time.Duration, measured bool) []string {
	var mu sync.Mutex
	var acked []string
	if measured {
		l.errors.Store(0)
	}
	post := func(chatID int64) {
		content := "bench t=" + strconv.FormatInt(time.Now().UnixNano(), 10)
		t0 := time.Now()
		err := l.post(ctx, chatID, content)
		if !measured {
			return
		}
		if err != nil {
			l.errors.Add(1)
			l.sample.keep(err)
			return
		}
		took := time.Since(t0)
		mu.Lock()
		acked = append(acked, content)
		l.ack = append(l.ack, took)
		mu.Unlock()
	}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	if cfg.Rate == 0 {
		for p := range cfg.Posters {
			wg.Go(func() {
				for i := p; ctx.Err() == nil && time.Now().Before(deadline); i += cfg.Posters {
					post(l.chats[i%len(l.chats)])
				}
			})
		}
	} else {
		// Open loop: sends start on schedule whatever the answers do; at
		// most Posters are in flight (the client's connections).
		slots := make(chan struct{}, cfg.Posters)
		start := time.Now()
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * time.Second / time.Duration(cfg.Rate))
			if !at.Before(deadline) || !sleepUntil(ctx, at) {
				break
			}
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				post(l.chats[i%len(l.chats)])
			})
		}
	}
	wg.Wait()
	return acked
}

func (l *chatLoad) post(ctx context.Context, chatID int64, content string) error {
	body, _ := json.Marshal(map[string]string{"sender_type": "client", "content": content})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/v1/chats/"+strconv.FormatInt(chatID, 10)+"/messages", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 256))
		return fmt.Errorf("status %d: %s", res.StatusCode, msg)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

func (l *chatLoad) ackLatencies() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.ack)
	return l.ack
}

// chatSubscribers hold one WebSocket per chat and note when each message
// arrives.
type chatSubscribers struct {
	conns []*websocket.Conn
	wg    sync.WaitGroup
	mu    sync.Mutex
	got   map[string][]time.Duration // content -> delivery latencies
}

var contentMarker = []byte(`"content":"bench t=`)

func subscribeChats(ctx context.Context, base, token string, chats []int64) (*chatSubscribers, error) {
	s := &chatSubscribers{got: map[string][]time.Duration{}}
	for _, id := range chats {
		ws, err := dialStream(ctx, base, token)
		if err != nil {
			s.close()
			return nil, err
		}
		s.conns = append(s.conns, ws)
		if err := subscribeAndSync(ctx, ws, id); err != nil {
			s.close()
			return nil, err
		}
		s.wg.Go(func() { s.read(ws) })
	}
	return s, nil
}

func dialStream(ctx context.Context, base, token string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	return ws, nil
}

// subscribeAndSync subscribes to a chat from now and waits for "synced".
func subscribeAndSync(ctx context.Context, ws *websocket.Conn, chatID int64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	msg, _ := json.Marshal(map[string]any{"type": "subscribe", "chats": []any{map[string]any{"chat_id": chatID}}})
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(`"type":"synced"`)) {
			return nil
		}
		if bytes.Contains(b, []byte(`"type":"error"`)) {
			return fmt.Errorf("subscribe to chat %d: %s", chatID, b)
		}
	}
}

func (s *chatSubscribers) read(ws *websocket.Conn) {
	for {
		_, b, err := ws.Read(context.Background())
		if err != nil {
			return
		}
		now := time.Now()
		i := bytes.Index(b, contentMarker)
		if i < 0 {
			continue
		}
		rest := b[i+len(`"content":"`):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			continue
		}
		content := string(rest[:end])
		sent, err := strconv.ParseInt(strings.TrimPrefix(content, "bench t="), 10, 64)
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.got[content] = append(s.got[content], now.Sub(time.Unix(0, sent)))
		s.mu.Unlock()
	}
}

func (s *chatSubscribers) countMeasured(want map[string]bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range want {
		if len(s.got[k]) > 0 {
			n++
		}
	}
	return n
}

// latencies returns the sorted delivery latencies of the wanted messages
// and how many arrived more than once.
func (s *chatSubscribers) latencies(want map[string]bool) ([]time.Duration, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	var dups int64
	for k := range want {
		if l := s.got[k]; len(l) > 0 {
			out = append(out, l[0])
			dups += int64(len(l) - 1)
		}
	}
	slices.Sort(out)
	return out, dups
}

func (s *chatSubscribers) close() {
	for _, ws := range s.conns {
		_ = ws.CloseNow()
	}
	s.wg.Wait()
}

func (r *chatBenchReport) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "%s\n", r.Command)
	fmt.Fprintf(w, "machine:  %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.Memory, m.GoVersion, m.OSArch)
	fmt.Fprintf(w, "database: %s (%s)\n", m.Dialect, r.Database)
	fmt.Fprintf(w, "load:     in-process server, HTTP posters and WebSocket subscribers on loopback, sharing the CPUs\n\n")
	fmt.Fprintf(w, "baseline: chat service PostMessage (message + event log + bus), %d goroutines, no HTTP: %.0f messages/s\n\n",
		r.Config.Posters, r.ServiceRate)
	mode := "flat out (closed loop)"
	if r.Config.Rate > 0 {
		mode = fmt.Sprintf("offered %d messages/s (open loop)", r.Config.Rate)
	}
	fmt.Fprintf(w, "POST /v1/chats/{id}/messages, %s, %d posters over %d chats each watched by a WebSocket, %s after %s warm-up\n",
		mode, r.Config.Posters, r.Config.Chats, r.Config.Duration, r.Config.Warmup)
	fmt.Fprintf(w, "acknowledged: %d in %.1fs = %.0f messages/s (%.0f%% of service posts); errors %d; CPU %.0f µs/message\n",
		r.Acked, r.Seconds, r.AckedPerSec, pct(r.AckedPerSec, r.ServiceRate), r.Errors, r.CPUPerMsg)
	fmt.Fprintf(w, "ack latency: p50 %.2f ms, p99 %.2f ms\n", r.AckP50, r.AckP99)
	fmt.Fprintf(w, "delivered: %d, missing %d, duplicates %d; create-to-WebSocket p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		r.Delivered, r.Missing, r.Duplicates, r.DeliverP50, r.DeliverP90, r.DeliverP99, r.DeliverMax)
	fmt.Fprintf(w, "bus events dropped %d, slow consumers closed %d\n", r.BusDropped, r.SlowClosed)
	fmt.Fprintf(w, "goal %s: %s\n", r.GoalDescribe, verdict(r.MeetsGoal))
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}

// ---- parley-bench ws-idle ----

type wsIdleReport struct {
	Command     string      `json:"command"`
	Machine     machineInfo `json:"machine"`
	Conns       int         `json:"connections"`
	Chats       int         `json:"chats"`
	Opened      int         `json:"opened"`
	OpenSeconds float64     `json:"open_seconds"`
	CPUWindow   float64     `json:"cpu_window_seconds"`
	IdleCPU     float64     `json:"idle_cpu_seconds_per_second"`
	// On PostgreSQL: the CPU of the backends serving the node's database
	// over the same window, and of every other process of the cluster
	// (its background writers, autovacuum), which an idle cluster spends
	// without the node too.
	PGBackendCPU  float64 `json:"pg_backend_cpu_seconds_per_second,omitempty"`
	PGClusterCPU  float64 `json:"pg_other_cpu_seconds_per_second,omitempty"`
	Postgres      bool    `json:"postgres"`
	RSSBefore     int64   `json:"rss_before_bytes"`
	RSSAfter      int64   `json:"rss_after_bytes"`
	PerConn       float64 `json:"rss_per_connection_bytes"`
	Goroutines0   int64   `json:"goroutines_before"`
	Goroutines1   int64   `json:"goroutines_after"`
	HeapInuse1    int64   `json:"heap_inuse_after_bytes"`
	Broadcast     int     `json:"broadcast_received"` // subscribers of one chat that got a message posted to it
	BroadcastWant int     `json:"broadcast_want"`
	BroadcastMS   float64 `json:"broadcast_ms"`
	NoFile        uint64  `json:"rlimit_nofile"`
	MeetsGoal     bool    `json:"meets_goal"`
}

func benchWSIdle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench ws-idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conns := fs.Int("conns", goalIdleConns, "idle WebSocket connections")
	chats := fs.Int("chats", 1000, "chats they subscribe to (connection i watches chat i mod chats)")
	bin := fs.String("bin", "", "the parley binary run as the server (default: the parley beside this binary, else on PATH)")
	db := fs.String("db", "", "sqlite:///path or postgres://... (default: a fresh SQLite file in a temp dir; PostgreSQL: a fresh database, and the idle CPU counts its backends)")
	natsURL := fs.String("nats", "", "NATS URL for the server (as a PostgreSQL deployment runs); default none")
	parallel := fs.Int("dial-parallel", 32, "connections opened at once")
	hold := fs.Duration("hold", 5*time.Second, "how long the connections sit idle before the RSS is read")
	cpuWindow := fs.Duration("cpu-window", 0, "then measure the idle server's CPU (CPU-s/s from /proc) over this long; 0: not measured")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *conns < 1 || *chats < 1 || *parallel < 1 || *hold < 0 {
		return errors.New("bench ws-idle: --conns, --chats and --dial-parallel must be at least 1, --hold not negative")
	}
	if *bin == "" {
		var err error
		if *bin, err = parleyBinary(); err != nil {
			return err
		}
	}
	rep, err := runWSIdle(ctx, *bin, *db, *natsURL, *conns, min(*chats, *conns), *parallel, *hold, *cpuWindow)
	if err != nil {
		return err
	}
	rep.Command = strings.Join(append([]string{"parley-bench", "ws-idle"}, args...), " ")
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	m := rep.Machine
	fmt.Fprintf(stdout, "%s\n", rep.Command)
	fmt.Fprintf(stdout, "machine: %d CPUs, %s, %s RAM, %s %s; RLIMIT_NOFILE %d\n", m.NumCPU, m.CPUModel, m.Memory, m.GoVersion, m.OSArch, rep.NoFile)
	fmt.Fprintf(stdout, "server: `parley serve` child process on %s; clients in this process\n", map[bool]string{false: "SQLite", true: "PostgreSQL"}[rep.Postgres])
	fmt.Fprintf(stdout, "opened %d of %d connections (each subscribed to one of %d chats) in %.1fs\n", rep.Opened, rep.Conns, rep.Chats, rep.OpenSeconds)
	fmt.Fprintf(stdout, "server RSS: %.1f MiB before, %.1f MiB after (%.1f KiB per connection); goroutines %d -> %d; heap in use after %.1f MiB\n",
		mib(rep.RSSBefore), mib(rep.RSSAfter), rep.PerConn/1024, rep.Goroutines0, rep.Goroutines1, mib(rep.HeapInuse1))
	if rep.CPUWindow > 0 {
		if rep.Postgres {
			total := rep.IdleCPU + rep.PGBackendCPU
			fmt.Fprintf(stdout, "idle CPU with the connections open and no traffic, over %.0fs: server %.4f + its PostgreSQL backends %.4f = %.4f CPU-s/s (goal < 0.01: %s); the rest of the PostgreSQL cluster %.4f CPU-s/s\n",
				rep.CPUWindow, rep.IdleCPU, rep.PGBackendCPU, total, verdict(total < 0.01), rep.PGClusterCPU)
		} else {
			fmt.Fprintf(stdout, "idle CPU of the server with the connections open and no traffic: %.4f CPU-s/s over %.0fs (goal < 0.01: %s)\n",
				rep.IdleCPU, rep.CPUWindow, verdict(rep.IdleCPU < 0.01))
		}
	}
	fmt.Fprintf(stdout, "broadcast check: a message to one chat reached %d of its %d subscribers in %.1f ms\n", rep.Broadcast, rep.BroadcastWant, rep.BroadcastMS)
	scaled := float64(rep.RSSBefore) + rep.PerConn*goalIdleConns
	fmt.Fprintf(stdout, "goal < 1 GiB RSS for %d idle connections (%.0f MiB at this rate): %s\n", goalIdleConns, scaled/(1<<20), verdict(rep.MeetsGoal))
	if rep.Opened < rep.Conns {
		return fmt.Errorf("bench ws-idle: only %d of %d connections opened", rep.Opened, rep.Conns)
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// childCPU is the user plus system CPU time process pid has used
// (/proc/PID/stat, in clock ticks of 1/100 s on Linux).
func childCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat format")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// parleyBinary finds the parley binary: beside this one (both built into
// one directory), else on PATH.
func parleyBinary() (string, error) {
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "parley"); p != exe {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	p, err := exec.LookPath("parley")
	if err != nil {
		return "", errors.New("bench ws-idle: no parley binary beside this one or on PATH; name it with --bin")
	}
	return p, nil
}

// raiseNoFile lifts the soft open-files limit to the hard one (and the
// hard one too where allowed) so that want descriptors fit; the server
// child inherits it.
func raiseNoFile(want uint64) uint64 {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return 0
	}
	if r.Max < want {
		up := r
		up.Max, up.Cur = want, want
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return want
		}
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
	return r.Cur
}

func runWSIdle(ctx context.Context, bin, db, natsURL string, conns, chats, parallel int, hold, cpuWindow time.Duration) (*wsIdleReport, error) {
	rep := &wsIdleReport{Machine: machineFacts(), Conns: conns, Chats: chats}
	rep.NoFile = raiseNoFile(uint64(conns) + 1024)
	dsn, _, drop, err := freshDB(ctx, db)
	if err != nil {
		return nil, err
	}
	defer drop()
	rep.Postgres = !strings.HasPrefix(dsn, "sqlite://")
	// The tenant and its chats, written before the server starts.
	setupSrv, err := server.Open(ctx, server.Config{DB: dsn, NoWorkers: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	var login, password string
	setup, err := setupChatTenant(ctx, setupSrv, chats, func(l, p string) (string, error) {
		login, password = l, p
		return "", nil
	})
	_ = setupSrv.Close(context.Background())
	if err != nil {
		return nil, fmt.Errorf("bench ws-idle: set up tenant: %w", err)
	}

	child, base, err := startServeChild(ctx, bin, dsn, natsURL)
	if err != nil {
		return nil, err
	}
	defer child.stop()
	client := newBenchClient(4)
	defer client.CloseIdleConnections()
	token, err := benchLogin(ctx, client, base, login, password)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second) // settle
	if rep.RSSBefore, err = processRSS(child.cmd.Process.Pid); err != nil {
		return nil, err
	}
	rep.Goroutines0, _ = metricValue(client, base, "go_goroutines")

	// Open the connections, each subscribed and synced, a few at a time.
	wss := make([]*websocket.Conn, conns)
	var opened atomic.Int64
	var first atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range parallel {
		wg.Go(func() {
			for i := range next {
				ws, err := dialStream(ctx, base, token)
				if err == nil {
					err = subscribeAndSync(ctx, ws, setup.chats[i%chats])
				}
				if err != nil {
					first.CompareAndSwap(nil, err)
					if ws != nil {
						_ = ws.CloseNow()
					}
					continue
				}
				wss[i] = ws
				opened.Add(1)
			}
		})
	}
	for i := 0; i < conns && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	rep.Opened, rep.OpenSeconds = int(opened.Load()), time.Since(start).Seconds()
	defer func() {
		for _, ws := range wss {
			if ws != nil {
				_ = ws.CloseNow()
			}
		}
	}()
	if rep.Opened == 0 {
		return nil, fmt.Errorf("bench ws-idle: no connection opened: %v", first.Load())
	}
	// Idle clients still read: pings must be answered.
	var got atomic.Int64
	var lastAt atomic.Int64
	for _, ws := range wss {
		if ws == nil {
			continue
		}
		go func() {
			for {
				_, b, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				if bytes.Contains(b, []byte(`"broadcast check"`)) {
					got.Add(1)
					lastAt.Store(time.Now().UnixNano())
				}
			}
		}()
	}
	select {
	case <-time.After(hold):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if rep.RSSAfter, err = processRSS(child.cmd.Process.Pid); err != nil {
		return nil, err
	}
	rep.Goroutines1, _ = metricValue(client, base, "go_goroutines")
	rep.HeapInuse1, _ = metricValue(client, base, "go_memstats_heap_inuse_bytes")
	rep.PerConn = float64(rep.RSSAfter-rep.RSSBefore) / float64(rep.Opened)
	rep.MeetsGoal = float64(rep.RSSBefore)+rep.PerConn*goalIdleConns < goalIdleRSS
	if cpuWindow > 0 {
		// No traffic: what the node spends on its own (loops, pings).
		pid := child.cmd.Process.Pid
		var pg *pgCPU
		if rep.Postgres {
			if pg, err = startPGCPU(ctx, dsn); err != nil {
				return nil, err
			}
		}
		c0, err := childCPU(pid)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		select {
		case <-time.After(cpuWindow):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c1, err := childCPU(pid)
		if err != nil {
			return nil, err
		}
		rep.CPUWindow = time.Since(t0).Seconds()
		rep.IdleCPU = (c1 - c0).Seconds() / rep.CPUWindow
		if pg != nil {
			backends, others := pg.since()
			rep.PGBackendCPU, rep.PGClusterCPU = backends.Seconds()/rep.CPUWindow, others.Seconds()/rep.CPUWindow
		}
	}

	// Are they alive? Post to chat 0 and count its subscribers that hear it.
	for i := 0; i < conns; i += chats {
		if wss[i] != nil {
			rep.BroadcastWant++
		}
	}
	t0 := time.Now()
	body, _ := json.Marshal(map[string]string{"sender_type": "client", "content": "broadcast check"})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chats/"+strconv.FormatInt(setup.chats[0], 10)+"/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err := client.Do(req); err == nil {
		res.Body.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); int(got.Load()) < rep.BroadcastWant && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	rep.Broadcast = int(got.Load())
	if l := lastAt.Load(); l > 0 {
		rep.BroadcastMS = float64(time.Unix(0, l).Sub(t0).Microseconds()) / 1000
	}
	return rep, nil
}

type serveChild struct {
	cmd *exec.Cmd
	dir string
}

// startServeChild runs `parley serve` on a free port and waits for it.
func startServeChild(ctx context.Context, bin, dsn, natsURL string) (*serveChild, string, error) {
	dir, err := os.MkdirTemp("", "parley-ws-idle-")
	if err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", dsn, "--data-dir", filepath.Join(dir, "data"))
	// One bench user holds every connection of the ws-idle bench.
	cmd.Env = append(os.Environ(), "PARLEY_LOG_LEVEL=warn", "PARLEY_NATS_URL="+natsURL, "PARLEY_METRICS_ADDR=", "PARLEY_METRICS_TOKEN="+benchMetricsToken, "PARLEY_STREAM_USER_CONNS=100000")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	c := &serveChild{cmd: cmd, dir: dir}
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return c, base, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, "", errors.New("bench ws-idle: the server did not become healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *serveChild) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	_ = os.RemoveAll(c.dir)
}

// processRSS reads a process's resident set size from /proc/<pid>/status.
func processRSS(pid int) (int64, error) {
	v := procField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS")
	var kb int64
	if _, err := fmt.Sscanf(v, "%d kB", &kb); err != nil {
		return 0, fmt.Errorf("bench ws-idle: VmRSS of %d: %q (this bench needs Linux /proc)", pid, v)
	}
	return kb << 10, nil
}

// benchMetricsToken is the metrics token of the servers a bench starts.
const benchMetricsToken = "parley-bench-metrics-token"

// metricValue reads one unlabelled metric from /metrics.
func metricValue(client *http.Client, base, name string) (int64, error) {
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+benchMetricsToken)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
