package main

// parley-bench ext measures the cost of one authenticated External API read
// against a hello-world handler served by the same process, through the same
// middleware stack, so that the ratio isolates what authentication, the
// database and JSON encoding add. Everything runs in one process: the server
// and the load generator share the machine's CPUs, which the report says.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/server"
)

// Goals of the requirement the bench measures. They are reported, never
// asserted in tests: timings on shared machines are not pass/fail material.
const (
	goalRatio = 0.50
	goalP99   = 10 * time.Millisecond
	// maxErrorRate is the share of failed requests above which the run is
	// reported as failed: the numbers would describe errors, not the server.
	maxErrorRate = 0.01
)

const (
	baselinePath = "/healthz"
	targetPath   = "/api/v2/ext/agent-settings/general"
)

type benchConfig struct {
	DB          string
	Duration    time.Duration
	Warmup      time.Duration
	Connections int
	Rate        int
	Rounds      int
	JSON        bool
	CPUProfile  string
}

// benchExt runs parley-bench ext.
func benchExt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	rep, err := runBench(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Command = strings.Join(append([]string{"parley-bench", "ext"}, args...), " ")
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	return rep.errorCheck()
}

func parseBenchFlags(args []string, stderr io.Writer) (benchConfig, error) {
	cfg := benchConfig{}
	fs := flag.NewFlagSet("bench ext", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// PARLEY_DB is deliberately not read: a benchmark must never write its
	// tenant into the database a real server uses.
	fs.StringVar(&cfg.DB, "db", "", "postgres://... (a fresh database on that server, dropped at the end) or sqlite:///path (used as is); default: a fresh SQLite file in a temp dir")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each measured phase")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured load on each endpoint before the rounds")
	fs.IntVar(&cfg.Connections, "connections", 32, "keep-alive connections")
	fs.IntVar(&cfg.Rate, "rate", 1000, "requests per second of the fixed-rate phase")
	fs.IntVar(&cfg.Rounds, "rounds", 3, "interleaved baseline/target rounds of the max-throughput phase")
	fs.BoolVar(&cfg.JSON, "json", false, "print one JSON object instead of tables")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phases to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("bench ext: unexpected argument %q", fs.Arg(0))
	case cfg.Duration <= 0 || cfg.Warmup < 0:
		return cfg, errors.New("bench ext: --duration must be positive and --warmup not negative")
	case cfg.Connections < 1 || cfg.Rate < 1 || cfg.Rounds < 1:
		return cfg, errors.New("bench ext: --connections, --rate and --rounds must be at least 1")
	}
	return cfg, nil
}

// runBench sets up the server and the tenant, runs every phase and returns
// the report. Request errors are in the report; only setup fails the call.
func runBench(ctx context.Context, cfg benchConfig) (*benchReport, error) {
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

	client := newBenchClient(cfg.Connections)
	defer client.CloseIdleConnections()
	target, err := benchTenant(ctx, srv, client)
	if err != nil {
		return nil, fmt.Errorf("bench ext: set up tenant: %w", err)
	}
	baseline := endpoint{URL: srv.URL() + baselinePath}

	rep := &benchReport{
		Machine: machineFacts(), Dialect: string(srv.DB.Dialect), Database: where,
		Config: cfg.public(),
	}
	rep.Machine.Dialect = rep.Dialect

	// Warm-up fills the connection pools, the prepared-statement caches and
	// the CPU caches, so that round one is not penalised for going first.
	closedLoop(ctx, client, baseline, cfg.Connections, cfg.Warmup)
	closedLoop(ctx, client, target, cfg.Connections, cfg.Warmup)

	stopProfile, err := startProfile(cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()

	// Interleaving cancels slow drift (other tenants of the machine, thermal
	// throttling): both endpoints see the same conditions in each round.
	for range cfg.Rounds {
		rep.Baseline = append(rep.Baseline, closedLoop(ctx, client, baseline, cfg.Connections, cfg.Duration))
		rep.Target = append(rep.Target, closedLoop(ctx, client, target, cfg.Connections, cfg.Duration))
	}
	rep.summarize()
	rep.FixedRate = openLoop(ctx, client, target, cfg.Rate, cfg.Duration)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench ext: interrupted: %w", err)
	}
	return rep, nil
}

// startBenchServer starts Parley on a free loopback port. Its logger formats
// every line and throws it away, so that the cost of request logging is
// measured as in production without the cost of a terminal.
func startBenchServer(ctx context.Context, dsn string) (*server.Server, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// One bench user watches every chat, each on a connection of its own.
	srv, err := server.Open(ctx, server.Config{Addr: "127.0.0.1:0", DB: dsn, Log: log, StreamUserConns: 100_000})
	if err != nil {
		return nil, fmt.Errorf("bench ext: open server: %w", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.DB.Close()
		return nil, fmt.Errorf("bench ext: start server: %w", err)
	}
	return srv, nil
}

func stopBenchServer(srv *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
}

// newBenchClient keeps exactly conns connections open: enough idle slots
// that none is closed between requests, and no more, so that open-loop
// bursts queue in the client (and show in the latency) instead of opening
// new connections the closed-loop phases never had.
func newBenchClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// endpoint is one URL the bench loads, with the headers every request
// carries.
type endpoint struct {
	URL    string
	Header http.Header
}

func (e endpoint) request(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return nil, err
	}
	if e.Header != nil {
		req.Header = e.Header.Clone()
	}
	return req, nil
}

// benchTenant creates a company, an API user and an agent, logs in over
// HTTP as a real client would, and returns the authenticated endpoint after
// checking that it answers.
func benchTenant(ctx context.Context, srv *server.Server, client *http.Client) (endpoint, error) {
	c, err := srv.Companies.Create(ctx, "Bench", "UTC")
	if err != nil {
		return endpoint{}, err
	}
	const login, password = "bench-api", "bench password 1"
	if _, err := srv.Users.CreateUser(ctx, c.ID, login, password, parley.RoleAPI); err != nil {
		return endpoint{}, err
	}
	actx := parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
	a, err := srv.Agents.Create(actx, agent.NewAgent{Name: "Bench agent", Timezone: "Europe/Moscow"})
	if err != nil {
		return endpoint{}, err
	}
	token, err := benchLogin(ctx, client, srv.URL(), login, password)
	if err != nil {
		return endpoint{}, err
	}
	e := endpoint{
		URL:    srv.URL() + targetPath + "?" + url.Values{"agent_uuid": {a.UUID}}.Encode(),
		Header: http.Header{"Authorization": {"Bearer " + token}},
	}
	req, err := e.request(ctx)
	if err != nil {
		return endpoint{}, err
	}
	if err := fetch(client, req); err != nil {
		return endpoint{}, fmt.Errorf("GET %s: %w", targetPath, err)
	}
	return e, nil
}

func benchLogin(ctx context.Context, client *http.Client, base, login, password string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v2/ext/auth", nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(login, password)
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return "", fmt.Errorf("login: status %d: %s", res.StatusCode, b)
	}
	var pair struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&pair); err != nil || pair.Token == "" {
		return "", fmt.Errorf("login: no token in the answer (%v)", err)
	}
	return pair.Token, nil
}

// fetch sends one request and reads the whole answer, so that the
// connection goes back to the pool; anything but 200 is an error.
func fetch(client *http.Client, req *http.Request) error {
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// errorSample keeps the first error of a phase, so the report can say what
// went wrong and not only how often.
type errorSample struct {
	once sync.Once
	msg  string
}

func (s *errorSample) keep(err error) { s.once.Do(func() { s.msg = err.Error() }) }

// phaseResult is one closed-loop phase.
type phaseResult struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	// CPUPerRequest is the CPU time of the whole process (server and
	// client) per request, in microseconds; 0 where it cannot be read. Other
	// load on the machine lowers req/s but hardly changes this, so it is the
	// steadier number to compare on a noisy machine.
	CPUPerRequest float64 `json:"cpu_us_per_request"`
	FirstError    string  `json:"first_error,omitempty"`
}

// closedLoop runs one worker per connection, each sending its next request
// as soon as the previous answer is read, for d: the most the server (and
// this client, on the same CPUs) can do. Workers stop starting requests at
// the deadline and finish the one in flight, so that no request is cut off
// and counted as an error.
func closedLoop(ctx context.Context, client *http.Client, e endpoint, conns int, d time.Duration) phaseResult {
	var done, failed atomic.Int64
	var sample errorSample
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	for range conns {
		wg.Go(func() {
			var n, errs int64
			for ctx.Err() == nil && time.Now().Before(deadline) {
				req, err := e.request(ctx)
				if err == nil {
					err = fetch(client, req)
				}
				n++
				if err != nil {
					errs++
					sample.keep(err)
				}
			}
			done.Add(n)
			failed.Add(errs)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := phaseResult{
		Requests: done.Load(), Errors: failed.Load(), Seconds: elapsed.Seconds(),
		RPS: float64(done.Load()) / elapsed.Seconds(), FirstError: sample.msg,
	}
	if cpu1 := processCPU(); cpu0 > 0 && res.Requests > 0 {
		res.CPUPerRequest = math.Round(float64(cpu1-cpu0)/float64(res.Requests)/1e2) / 10
	}
	return res
}

// processCPU is the user and system CPU time this process has used, from
// /proc/self/stat; 0 where there is no such file. The standard library has
// no portable way to read it, and the tick (10 ms) is fine against phases
// of seconds.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces and parentheses;
	// fields count from after its last ")": state is field 3, utime 14 and
	// stime 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const clockTick = 10 * time.Millisecond // USER_HZ is 100 on every Linux port
	return time.Duration(utime+stime) * clockTick
}

// median is the median of one field of the phases.
func median(phases []phaseResult, field func(phaseResult) float64) float64 {
	v := make([]float64, len(phases))
	for i, p := range phases {
		v[i] = field(p)
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func rps(p phaseResult) float64       { return p.RPS }
func cpuPerReq(p phaseResult) float64 { return p.CPUPerRequest }

// medianRoundRatio is the median of each round's target/baseline ratio.
// The two phases of a round ran back to back, so a slowdown of the machine
// that lasts a round cancels in its ratio but not in the ratio of medians.
func medianRoundRatio(baseline, target []phaseResult) float64 {
	var ratios []float64
	for i := range min(len(baseline), len(target)) {
		if baseline[i].RPS > 0 {
			ratios = append(ratios, target[i].RPS/baseline[i].RPS)
		}
	}
	return medianOf(ratios)
}

// fixedRateResult is the open-loop phase. Latencies are in milliseconds and
// cover successful requests; AchievedRPS counts successful answers.
type fixedRateResult struct {
	TargetRate  int     `json:"target_rps"`
	Sent        int     `json:"sent"`
	OK          int     `json:"ok"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p99_9_ms"`
	Max         float64 `json:"max_ms"`
	// MaxSendLag is how late the generator itself got to its worst send; a
	// large value means the client, not the server, was starved of CPU.
	MaxSendLag float64 `json:"max_send_lag_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

// openLoop sends rate requests per second for d, each at its own intended
// time whatever happened to the previous ones, and measures latency from
// that intended time to the end of the answer. A slow answer therefore
// counts against every request it delayed, instead of silently lowering the
// rate (coordinated omission).
func openLoop(ctx context.Context, client *http.Client, e endpoint, rate int, d time.Duration) fixedRateResult {
	n := max(1, int(int64(rate)*int64(d)/int64(time.Second)))
	latency := make([]time.Duration, n)
	ok := make([]bool, n)
	var sample errorSample
	var wg sync.WaitGroup
	var maxLag time.Duration
	start := time.Now()
	sent := 0
	for i := range n {
		intended := start.Add(time.Duration(int64(i) * int64(time.Second) / int64(rate)))
		if !sleepUntil(ctx, intended) {
			break
		}
		maxLag = max(maxLag, time.Since(intended))
		sent++
		wg.Go(func() {
			req, err := e.request(ctx)
			if err == nil {
				err = fetch(client, req)
			}
			latency[i] = time.Since(intended)
			if err != nil {
				sample.keep(err)
				return
			}
			ok[i] = true
		})
	}
	wg.Wait()
	// The phase lasts at least its sending window (sent/rate), and longer
	// when answers trail behind it: a server that cannot keep up shows a
	// lower achieved rate, not only higher latencies.
	window := time.Duration(int64(sent) * int64(time.Second) / int64(rate))
	elapsed := max(time.Since(start), window)

	good := make([]time.Duration, 0, sent)
	for i := range sent {
		if ok[i] {
			good = append(good, latency[i])
		}
	}
	slices.Sort(good)
	return fixedRateResult{
		TargetRate: rate, Sent: sent, OK: len(good), Errors: sent - len(good),
		Seconds: elapsed.Seconds(), AchievedRPS: float64(len(good)) / elapsed.Seconds(),
		P50: ms(percentile(good, 0.50)), P90: ms(percentile(good, 0.90)), P99: ms(percentile(good, 0.99)),
		P999: ms(percentile(good, 0.999)), Max: ms(percentile(good, 1)), MaxSendLag: ms(maxLag),
		FirstError: sample.msg,
	}
}

// sleepUntil waits for t; it reports false if ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// startProfile writes a CPU profile of server and client together (they
// are one process), from now until the returned function runs: the bench
// starts it after the warm-up, so it covers the measured phases only. It
// does nothing without a file.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench ext: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench ext: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// machineInfo is what a reader needs to compare runs across machines.
type machineInfo struct {
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	Memory     string `json:"memory"`
	GoVersion  string `json:"go_version"`
	OSArch     string `json:"os_arch"`
	Dialect    string `json:"dialect"`
}

func machineFacts() machineInfo {
	return machineInfo{
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUModel: procField("/proc/cpuinfo", "model name"), Memory: memTotal(),
		GoVersion: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// memTotal is the machine's memory in GiB, as free -h would say it.
func memTotal() string {
	var kb int64
	if _, err := fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%d kB", &kb); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

// procField returns the value of the first "key: value" line of a /proc
// file, or "unknown" where there is no such file (not Linux).
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// publicConfig is the run's configuration as reported.
type publicConfig struct {
	Duration    string `json:"duration"`
	Warmup      string `json:"warmup"`
	Connections int    `json:"connections"`
	Rate        int    `json:"rate"`
	Rounds      int    `json:"rounds"`
}

func (c benchConfig) public() publicConfig {
	return publicConfig{Duration: c.Duration.String(), Warmup: c.Warmup.String(),
		Connections: c.Connections, Rate: c.Rate, Rounds: c.Rounds}
}

// benchReport is every number of one run; --json prints it as is.
type benchReport struct {
	Command        string        `json:"command"`
	Machine        machineInfo   `json:"machine"`
	Dialect        string        `json:"dialect"`
	Database       string        `json:"database"`
	Config         publicConfig  `json:"config"`
	Baseline       []phaseResult `json:"baseline_rounds"`
	Target         []phaseResult `json:"target_rounds"`
	BaselineMedian float64       `json:"baseline_median_rps"`
	TargetMedian   float64       `json:"target_median_rps"`
	Ratio          float64       `json:"ratio"` // of the medians
	RoundRatio     float64       `json:"median_round_ratio"`
	// The same comparison from CPU time per request: what the ratio would
	// be if the process had the CPUs to itself.
	BaselineCPU float64         `json:"baseline_median_cpu_us_per_request"`
	TargetCPU   float64         `json:"target_median_cpu_us_per_request"`
	CPURatio    float64         `json:"cpu_ratio"`
	FixedRate   fixedRateResult `json:"fixed_rate"`
}

// summarize computes the medians and ratios of the throughput rounds.
func (r *benchReport) summarize() {
	r.BaselineMedian = median(r.Baseline, rps)
	r.TargetMedian = median(r.Target, rps)
	if r.BaselineMedian > 0 {
		r.Ratio = r.TargetMedian / r.BaselineMedian
	}
	r.RoundRatio = medianRoundRatio(r.Baseline, r.Target)
	r.BaselineCPU = median(r.Baseline, cpuPerReq)
	r.TargetCPU = median(r.Target, cpuPerReq)
	if r.TargetCPU > 0 {
		r.CPURatio = r.BaselineCPU / r.TargetCPU
	}
}

// errorCount counts the failed and all measured requests of every phase.
func (r *benchReport) errorCount() (failed, total int64) {
	for _, p := range slices.Concat(r.Baseline, r.Target) {
		failed += p.Errors
		total += p.Requests
	}
	return failed + int64(r.FixedRate.Errors), total + int64(r.FixedRate.Sent)
}

func (r *benchReport) errorCheck() error {
	failed, total := r.errorCount()
	if total == 0 {
		return errors.New("bench ext: no request was sent")
	}
	if float64(failed)/float64(total) > maxErrorRate {
		return fmt.Errorf("bench ext: %d of %d requests failed (more than %.0f%%); the numbers are not meaningful",
			failed, total, maxErrorRate*100)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "meets goal"
	}
	return "MISSES goal"
}

func (r *benchReport) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "%s\n", r.Command)
	fmt.Fprintf(w, "machine:  %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s %s\n",
		m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.Memory, m.GoVersion, m.OSArch)
	fmt.Fprintf(w, "database: %s (%s)\n", r.Dialect, r.Database)
	fmt.Fprintf(w, "load:     in-process Go client on loopback, %d keep-alive connections, sharing the CPUs with the server\n\n",
		r.Config.Connections)

	fmt.Fprintf(w, "Max throughput, closed loop, %s per phase after %s warm-up\n", r.Config.Duration, r.Config.Warmup)
	fmt.Fprintf(w, "baseline: GET %s (hello world); target: authenticated GET %s\n", baselinePath, targetPath)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tbaseline req/s\tCPU µs/req\terrors\ttarget req/s\tCPU µs/req\terrors\tratio\t")
	for i := range r.Baseline {
		b, t := r.Baseline[i], r.Target[i]
		fmt.Fprintf(tw, "%d\t%.0f\t%.1f\t%d\t%.0f\t%.1f\t%d\t%.2f\t\n",
			i+1, b.RPS, b.CPUPerRequest, b.Errors, t.RPS, t.CPUPerRequest, t.Errors, t.RPS/b.RPS)
	}
	fmt.Fprintf(tw, "median\t%.0f\t%.1f\t\t%.0f\t%.1f\t\t%.2f\t\n",
		r.BaselineMedian, r.BaselineCPU, r.TargetMedian, r.TargetCPU, r.Ratio)
	tw.Flush()
	fmt.Fprintf(w, "ratio of median req/s %.2f: %s (>= %.0f%% of baseline); median of the rounds' ratios %.2f\n",
		r.Ratio, verdict(r.Ratio >= goalRatio), goalRatio*100, r.RoundRatio)
	fmt.Fprintf(w, "ratio of median CPU per request (baseline/target) %.2f: the req/s ratio with the CPUs to ourselves\n\n", r.CPURatio)

	f := r.FixedRate
	fmt.Fprintf(w, "Fixed rate, open loop, %d req/s for %s, latency from intended send time\n", f.TargetRate, r.Config.Duration)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sent\terrors\tachieved req/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tmax send lag ms\t")
	fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n",
		f.Sent, f.Errors, f.AchievedRPS, f.P50, f.P90, f.P99, f.P999, f.Max, f.MaxSendLag)
	tw.Flush()
	fmt.Fprintf(w, "p99 %.3f ms: %s (< %s)\n", f.P99, verdict(f.P99 < ms(goalP99)), goalP99)

	for _, p := range slices.Concat(r.Baseline, r.Target) {
		if p.FirstError != "" {
			fmt.Fprintf(w, "first error of a throughput phase: %s\n", p.FirstError)
			break
		}
	}
	if f.FirstError != "" {
		fmt.Fprintf(w, "first error of the fixed-rate phase: %s\n", f.FirstError)
	}
}
