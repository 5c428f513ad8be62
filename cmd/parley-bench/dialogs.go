package main

// parley-bench import|dialer|report measure the outbound-dialog paths: a
// 100,000-row group upload against the outbound service's batched insert
// of the same rows on a fresh database of the same kind, the dialer's
// sustained call starts with the sim trunk, and dialog-report over a
// million finished dialogs. Server and load share the process and the
// machine's CPUs, which the reports say. Everything goes through the
// services or the External API: this file holds no SQL.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/outbound"
	"github.com/parley-cc/parley/internal/script"
	"github.com/parley-cc/parley/internal/server"
)

// dialogBench is what every dialog benchmark sets up: a server on a fresh
// database, a tenant with an API user and an agent, and a token.
type dialogBench struct {
	srv     *server.Server
	client  *http.Client
	base    string
	token   string
	agent   string          // UUID
	agentID int64           // row id, for the dialer's side of the service
	admin   context.Context // acts as an admin of the tenant, for service calls
	where   string
	drop    func()
}

// openDialogBench starts a server on db (see freshDB; fresh picks the
// database) and sets up the tenant.
func openDialogBench(ctx context.Context, db string, fresh func(context.Context, string) (string, string, func(), error),
	configure func(*server.Config)) (*dialogBench, error) {
	dsn, where, drop, err := fresh(ctx, db)
	if err != nil {
		return nil, err
	}
	// The benchmarks set channel limits past an installation's default
	// ceiling (the claim benchmark's 5,000), as its operator may.
	cfg := server.Config{Addr: "127.0.0.1:0", DB: dsn, Synth: audio.ToneSynth{}, MaxChannelLimit: 100_000,
		Log: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		drop()
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = srv.DB.Close()
		drop()
		return nil, err
	}
	b := &dialogBench{srv: srv, client: newBenchClient(8), base: srv.URL(), where: where, drop: drop}
	c, err := srv.Companies.Create(ctx, "Bench", "UTC")
	if err != nil {
		b.close()
		return nil, err
	}
	password := uuid.NewString()
	if _, err := srv.Users.CreateUser(ctx, c.ID, "bench-"+c.UUID[:8], password, parley.RoleAPI); err != nil {
		b.close()
		return nil, err
	}
	b.admin = parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
	a, err := srv.Agents.Create(b.admin, agent.NewAgent{Name: "Bench agent"})
	if err != nil {
		b.close()
		return nil, err
	}
	b.agent, b.agentID = a.UUID, a.ID
	if b.token, err = benchLogin(ctx, b.client, b.base, "bench-"+c.UUID[:8], password); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *dialogBench) close() {
	stopBenchServer(b.srv)
	b.drop()
}

// do sends a JSON request and decodes a 2xx answer into out. A []byte body
// is sent as it is.
func (b *dialogBench) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if raw, ok := body.([]byte); ok {
		rd = bytes.NewReader(raw)
	} else if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	res, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, msg)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}

func (b *dialogBench) settings(ctx context.Context, s map[string]any) error {
	return b.do(ctx, "PUT", "/api/v2/ext/agent-settings/general?agent_uuid="+b.agent, s, nil)
}

// initialEntities gives the agent the initial entities of the benchmark's
// rows.
func (b *dialogBench) initialEntities(ctx context.Context, names ...string) error {
	var ents []any
	for _, n := range names {
		ents = append(ents, map[string]any{"name": n})
	}
	return b.do(ctx, "POST", "/api/v2/ext/initial-entity/bulk?agent_uuid="+b.agent, map[string]any{"entities": ents}, nil)
}

// waitImport polls a group upload's status until it ends.
func (b *dialogBench) waitImport(ctx context.Context, taskUUID string, every time.Duration) (state string, processed, failed int, err error) {
	for {
		var st struct {
			State     string `json:"state"`
			Processed int    `json:"processed_rows"`
			Failed    int    `json:"failed_rows"`
		}
		if err := b.do(ctx, "GET", "/api/v2/ext/dialog/dialogs-group-initial-status?task_uuid="+taskUUID, nil, &st); err != nil {
			return "", 0, 0, err
		}
		if st.State == "done" || st.State == "failed" {
			return st.State, st.Processed, st.Failed, nil
		}
		time.Sleep(every)
	}
}

func benchDialogs(ctx context.Context, what string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "database DSN (default: a fresh SQLite file; postgres://... gets a fresh database on that server)")
	rows := fs.Int("rows", 100_000, "import: rows in the upload")
	baselineRows := fs.Int("baseline-rows", 0, "import: rows of the raw-insert baseline (default: --rows)")
	importCPU := fs.Float64("import-cpu", 0, "import: the server's share of a CPU for a running import (PARLEY_IMPORT_CPU; default: the server's default)")
	channels := fs.Int("channels", 1000, "dialer: total_channel_limit")
	duration := fs.Duration("duration", 20*time.Second, "dialer: measured time")
	pace := fs.Float64("pace", 0.5, "dialer: real seconds per simulated second of a call")
	dialogs := fs.Int("dialogs", 1_000_000, "report: finished dialogs in the table")
	queries := fs.Int("queries", 500, "report: dialog-report requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("bench %s: unexpected argument %q", what, fs.Arg(0))
	case *rows < 1 || *channels < 1 || *dialogs < 30 || *queries < 1 || *duration <= 0 || *pace < 0:
		return fmt.Errorf("bench %s: --rows, --channels and --queries must be at least 1, --dialogs at least 30, --duration positive", what)
	}
	m := machineFacts()
	fmt.Fprintf(stdout, "machine: %d CPUs (GOMAXPROCS %d), %s, %s, %s %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.Memory, m.GoVersion, m.OSArch)
	switch what {
	case "import":
		if *baselineRows <= 0 {
			*baselineRows = *rows
		}
		return benchImport(ctx, *db, *rows, *baselineRows, *importCPU, stdout)
	case "dialer":
		return benchDialer(ctx, *db, *channels, *duration, *pace, stdout)
	case "report":
		return benchDialogReport(ctx, *db, *dialogs, *queries, stdout)
	}
	return fmt.Errorf("unknown bench %q", what)
}

// importRow is row i of the import benchmark's upload.
func importRow(i int) (msisdn, name string, debt int) {
	return fmt.Sprintf("+7999%07d", i), fmt.Sprintf("Customer %d", i), i % 5000
}

// benchImport times a group upload from the POST to task done, beside the
// outbound service's batched insert of the same rows on a fresh database of
// the same kind, while a probe reads the API at a steady 20 requests/s and
// records its latency.
func benchImport(ctx context.Context, db string, rows, baselineRows int, importCPU float64, out io.Writer) error {
	rawRate, where, err := insertRate(ctx, db, baselineRows)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	fmt.Fprintf(out, "baseline: outbound service CreateRows of %d parsed rows (batched INSERTs, no JSON body, checks or progress), %s: %.0f rows/s\n",
		baselineRows, where, rawRate)

	b, err := openDialogBench(ctx, db, freshDB, func(c *server.Config) { c.ImportCPUShare = importCPU })
	if err != nil {
		return err
	}
	defer b.close()
	b.client.Timeout = 10 * time.Minute // a 1,000,000-row body takes a while to send and store
	fmt.Fprintf(out, "database: %s (%s)\n", b.srv.DB.Dialect, b.where)
	if err := b.settings(ctx, map[string]any{"total_channel_limit": 0}); err != nil { // the dialer stays idle
		return err
	}
	if err := b.initialEntities(ctx, "msisdn", "name", "debt"); err != nil {
		return err
	}
	rowsJSON := make([]map[string]any, rows)
	for i := range rowsJSON {
		msisdn, name, debt := importRow(i)
		rowsJSON[i] = map[string]any{"msisdn": msisdn, "name": name, "debt": debt}
	}
	body, err := json.Marshal(rowsJSON) // before the clock: the client's work is not the server's
	if err != nil {
		return err
	}
	rowsJSON = nil
	// Another tenant posts chat messages at 20/s: first with the server
	// idle (the baseline), then during the import.
	other, err := newPostProbe(ctx, b)
	if err != nil {
		return err
	}
	idlePosts := other.baseline(ctx, 20, 5*time.Second)
	probeCtx, stopProbe := context.WithCancel(ctx)
	probe := startProbe(probeCtx, b, 20)
	posts := other.run(probeCtx, 20)
	start := time.Now()
	var up struct {
		TaskUUID string `json:"task_uuid"`
	}
	if err := b.do(ctx, "POST", "/api/v2/ext/dialog/dialogs-group-initial?agent_uuid="+b.agent, body, &up); err != nil {
		stopProbe()
		return err
	}
	acked := time.Since(start)
	state, processed, failed, err := b.waitImport(ctx, up.TaskUUID, 20*time.Millisecond)
	elapsed := time.Since(start)
	stopProbe()
	lat := probe()
	during := posts()
	if err != nil {
		return err
	}
	if state != "done" || processed != rows || failed != 0 {
		return fmt.Errorf("import ended %s: %d processed, %d failed", state, processed, failed)
	}
	rate := float64(rows) / elapsed.Seconds()
	fmt.Fprintf(out, "import: %d rows, acknowledged in %s, done in %s: %.0f rows/s = %.0f%% of the baseline\n",
		rows, acked.Round(time.Millisecond), elapsed.Round(time.Millisecond), rate, 100*rate/rawRate)
	fmt.Fprintf(out, "probe during the import: %d GET agent-settings/general, p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %d\n",
		len(lat.ok), ms(percentile(lat.ok, .5)), ms(percentile(lat.ok, .99)), ms(percentile(lat.ok, 1)), lat.errors)
	fmt.Fprintln(out, describePosts("another tenant's POST /v1/chats/{id}/messages, server idle (baseline)", idlePosts))
	fmt.Fprintln(out, describePosts("the same during the import", during))
	p99 := percentile(during.ok, .99)
	goal := "met"
	if p99 >= 50*time.Millisecond || during.errors > 0 {
		goal = "NOT met"
	}
	fmt.Fprintf(out, "posts' p99 during the import: %.2f ms = %.1fx the idle p99; goal < 50 ms: %s\n",
		ms(p99), float64(p99)/float64(max(percentile(idlePosts.ok, .99), time.Microsecond)), goal)
	return nil
}

// insertRate is the import's baseline: the same rows, already parsed,
// stored by the outbound service's CreateRows (the importer's batching and
// statements, without the body's JSON, the per-row checks, the results and
// the progress) on a fresh database of the kind db names, with the same
// indexes. It is the floor of storing dialogs on that database, measured
// apart so that the import starts from an empty table, as it would.
func insertRate(ctx context.Context, db string, n int) (float64, string, error) {
	b, err := openDialogBench(ctx, db, anotherFreshDB, func(c *server.Config) { c.NoWorkers = true })
	if err != nil {
		return 0, "", err
	}
	defer b.close()
	if err := b.initialEntities(ctx, "msisdn", "name", "debt"); err != nil {
		return 0, "", err
	}
	rows := make([]*outbound.Row, n)
	for i := range rows {
		msisdn, name, debt := importRow(i)
		rows[i] = &outbound.Row{MSISDN: msisdn, EntryPoint: "main",
			Entities: map[string]string{"msisdn": msisdn, "name": name, "debt": strconv.Itoa(debt)}}
	}
	start := time.Now()
	ids, err := b.srv.Dialogs.CreateRows(b.admin, b.agent, rows)
	if err != nil {
		return 0, "", err
	}
	if len(ids) != n {
		return 0, "", fmt.Errorf("%d of %d rows stored", len(ids), n)
	}
	return float64(n) / time.Since(start).Seconds(), b.where, nil
}

type probeResult struct {
	ok     []time.Duration
	errors int
}

// startProbe reads the API at a fixed rate until ctx ends; the returned
// function waits for it and gives the sorted latencies, measured from each
// request's intended start.
func startProbe(ctx context.Context, b *dialogBench, rate int) func() probeResult {
	var mu sync.Mutex
	var res probeResult
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if !sleepUntil(ctx, at) {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := b.do(context.Background(), "GET", "/api/v2/ext/agent-settings/general?agent_uuid="+b.agent, nil, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.errors++
					return
				}
				res.ok = append(res.ok, time.Since(at))
			}()
		}
	}()
	return func() probeResult {
		wg.Wait()
		slices.Sort(res.ok)
		return res
	}
}

// callCounter counts the dialer's work from the events the outbound
// service publishes: calls started and ended, dialogs done and failed.
type callCounter struct {
	started, ended, done, failed atomic.Int64
	stop                         func()
	finished                     chan struct{}
}

func countCalls(srv *server.Server) *callCounter {
	evs, stop := srv.Bus.Subscribe(1 << 16)
	c := &callCounter{stop: stop, finished: make(chan struct{})}
	go func() {
		defer close(c.finished)
		for ev := range evs {
			switch ev.Type {
			case "call.started":
				c.started.Add(1)
			case "call.ended":
				c.ended.Add(1)
			case "dialog.done":
				c.done.Add(1)
			case "dialog.failed":
				c.failed.Add(1)
			}
		}
	}()
	return c
}

func (c *callCounter) close() {
	c.stop()
	<-c.finished
}

// benchDialer loads enough dialogs for the whole run, opens the agent's
// channels and counts call starts per second with the sim trunk.
func benchDialer(ctx context.Context, db string, channels int, d time.Duration, pace float64, out io.Writer) error {
	b, err := openDialogBench(ctx, db, freshDB, func(c *server.Config) { c.SimPace = pace })
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintf(out, "database: %s (%s); sim trunk pace %.2f\n", b.srv.DB.Dialect, b.where, pace)
	if err := b.settings(ctx, map[string]any{"total_channel_limit": 0}); err != nil {
		return err
	}
	if err := b.do(ctx, "POST", "/api/v2/ext/output-entity?agent_uuid="+b.agent, map[string]any{"name": "answer"}, nil); err != nil {
		return err
	}
	if err := b.do(ctx, "PUT", "/api/v2/ext/agent-settings/script?agent_uuid="+b.agent, map[string]any{"name": "main",
		"source": "def main(s):\n    s.say(\"Hello, will you pay?\")\n    s.set(\"answer\", s.listen(timeout=5) or \"\")\n"}, nil); err != nil {
		return err
	}
	n := 3 * channels * int((d + 5*time.Second).Seconds()) // more than the run can call at up to 3 starts per channel-second
	body := make([]map[string]any, n)
	for i := range body {
		body[i] = map[string]any{"msisdn": fmt.Sprintf("+7999%07d", i), "sim_say": `["yes"]`}
	}
	var up struct {
		TaskUUID string `json:"task_uuid"`
	}
	if err := b.do(ctx, "POST", "/api/v2/ext/dialog/dialogs-group-initial?agent_uuid="+b.agent, body, &up); err != nil {
		return err
	}
	if state, _, _, err := b.waitImport(ctx, up.TaskUUID, 100*time.Millisecond); err != nil {
		return err
	} else if state != "done" {
		return fmt.Errorf("upload %s", state)
	}
	fmt.Fprintf(out, "upload done: %d dialogs\n", n) // turns --beside dialer waits for it
	calls := countCalls(b.srv)
	defer calls.close()
	dropped0 := b.srv.Bus.Dropped()
	if err := b.settings(ctx, map[string]any{"total_channel_limit": channels}); err != nil {
		return err
	}
	// Ramp up, then measure a steady window.
	ramp := 5 * time.Second
	time.Sleep(ramp)
	started0, start := calls.started.Load(), time.Now()
	var live []int
	for time.Since(start) < d {
		time.Sleep(time.Second)
		live = append(live, int(calls.started.Load()-calls.ended.Load()))
	}
	started := calls.started.Load() - started0
	elapsed := time.Since(start)
	if err := b.settings(ctx, map[string]any{"total_channel_limit": 0}); err != nil {
		return err
	}
	slices.Sort(live)
	fmt.Fprintf(out, "dialer: %d call starts in %s after a %s ramp: %.0f starts/s; live calls per second: median %d, max %d (limit %d)\n",
		started, elapsed.Round(time.Millisecond), ramp, float64(started)/elapsed.Seconds(), live[len(live)/2], live[len(live)-1], channels)
	fmt.Fprintf(out, "finished: %d done, %d failed\n", calls.done.Load(), calls.failed.Load())
	if lost := b.srv.Bus.Dropped() - dropped0; lost > 0 {
		return fmt.Errorf("the bus dropped %d events during the run: the counts above are low", lost)
	}
	return nil
}

// reportClock is the outbound service's clock while the report benchmark
// fills the table. Each reading returns the clock's time and moves it on
// by its step; the service reads its clock once per transaction, so with a
// step set, the n-th transaction after set sees start + n*step whatever
// the order of concurrent calls.
type reportClock struct {
	at   atomic.Int64 // unix nanoseconds of the next reading
	step atomic.Int64
}

func (c *reportClock) Now() time.Time {
	step := c.step.Load()
	return time.Unix(0, c.at.Add(step)-step).UTC()
}

// set makes the next reading start and each reading step later than the
// last. It is called between phases, with no transaction running.
func (c *reportClock) set(start time.Time, step time.Duration) {
	c.step.Store(int64(step))
	c.at.Store(start.UnixNano())
}

// The report benchmark's fill: dialogs are claimed claimBatch at a time
// (the agent's channel limit) and their outcomes stored, a batch per
// transaction, by finishers goroutines.
const (
	claimBatch = 5000
	finishers  = 8
)

// finishBatch is how many outcomes a FinishAll transaction of the fill of
// n dialogs over 30 days stores: up to 200, and few enough that a day
// spans at least 20 transactions (their dialogs share a finishing time).
func finishBatch(n int) int { return min(max(n/30/20, 1), 200) }

// finishTransactions is how many FinishAll transactions the fill of n
// dialogs takes.
func finishTransactions(n int) int {
	batch := finishBatch(n)
	perClaim := (claimBatch + batch - 1) / batch
	last := n % claimBatch
	return n/claimBatch*perClaim + (last+batch-1)/batch
}

// benchDialogReport fills the table with finished dialogs spread over 30
// days and times dialog-report pages of 100 in random one-day windows. The
// dialogs take the real path: one group upload, then the dialer's side of
// the outbound service (Claim, and FinishAll with answered outcomes and two
// output entities) without trunk or script; the service's clock spreads
// their finishing times. The dialogs are stored with CreateRows, the
// service's batched insert (a group upload of a million rows through the
// importer would take minutes more and is import's benchmark).
func benchDialogReport(ctx context.Context, db string, dialogs, queries int, out io.Writer) error {
	b, err := openDialogBench(ctx, db, freshDB, func(c *server.Config) { c.NoWorkers = true })
	if err != nil {
		return err
	}
	defer b.close()
	b.client.Timeout = 10 * time.Minute // a 1,000,000-row body takes a while to send and store
	fmt.Fprintf(out, "database: %s (%s)\n", b.srv.DB.Dialect, b.where)
	day := 24 * time.Hour
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	begin := end.Add(-30 * day)
	clk := &reportClock{}
	b.srv.Dialogs.Now = clk.Now
	fill := time.Now()
	if err := fillFinished(ctx, b, clk, begin, 30*day, dialogs); err != nil {
		return err
	}
	b.srv.Dialogs.Now = nil
	fmt.Fprintf(out, "filled %d finished dialogs over 30 days in %s (CreateRows, then Claim and FinishAll through the outbound service)\n",
		dialogs, time.Since(fill).Round(time.Millisecond))
	perDay := dialogs / 30
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	for range queries {
		from := begin.Add(time.Duration(rng.IntN(29)) * day)
		offset := 100 * rng.IntN(max(perDay/100, 1))
		body := map[string]any{"agent_uuid": b.agent, "start": from.Format("2006-01-02 15:04:05"),
			"end": from.Add(day).Format("2006-01-02 15:04:05"), "limit": 100, "offset": offset}
		var rep struct {
			Result []map[string]any `json:"result"`
			Total  int              `json:"total"`
		}
		t0 := time.Now()
		if err := b.do(ctx, "POST", "/api/v2/ext/statistic/dialog-report", body, &rep); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		if len(rep.Result) == 0 || rep.Total < perDay-finishBatch(dialogs)-2 { // a day's edge may split a transaction's dialogs
			return fmt.Errorf("report page at offset %d: %d rows of %d", offset, len(rep.Result), rep.Total)
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(out, "dialog-report: %d pages of 100 in one-day windows (~%d dialogs each), random offsets: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		queries, perDay, ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	return nil
}

// fillFinished uploads n dialogs and finishes every one, their finishing
// times spread evenly over [begin, begin+span).
func fillFinished(ctx context.Context, b *dialogBench, clk *reportClock, begin time.Time, span time.Duration, n int) error {
	if err := b.do(ctx, "POST", "/api/v2/ext/output-entity/bulk?agent_uuid="+b.agent, map[string]any{"entities": []any{
		map[string]any{"name": "answer"}, map[string]any{"name": "amount"}}}, nil); err != nil {
		return err
	}
	if err := b.settings(ctx, map[string]any{"total_channel_limit": claimBatch}); err != nil {
		return err
	}
	rows := make([]*outbound.Row, n)
	for i := range rows {
		rows[i] = &outbound.Row{MSISDN: fmt.Sprintf("+7999%07d", i), EntryPoint: "main", Entities: map[string]string{}}
	}
	// Each of the service's transactions (2,000 rows) a millisecond after
	// the last, as on a real clock: the dialogs fall due in upload order.
	clk.set(begin.Add(-2*time.Hour), time.Millisecond)
	if _, err := b.srv.Dialogs.CreateRows(b.admin, b.agent, rows); err != nil {
		return err
	}
	a, err := b.srv.Agents.Dialing(ctx, b.agentID)
	if err != nil {
		return err
	}
	step, batchSize := span/time.Duration(finishTransactions(n)), finishBatch(n)
	answers := []string{"yes", "no", "later"}
	for done, txs := 0, 0; done < n; {
		clk.set(begin.Add(-time.Hour), 0) // every upload is due
		attempts, err := b.srv.Dialogs.Claim(ctx, a, "parley-bench", time.Hour)
		if err != nil {
			return err
		}
		if len(attempts) == 0 {
			return fmt.Errorf("nothing left to claim after %d of %d dialogs", done, n)
		}
		var batches [][]outbound.Finished
		for start := 0; start < len(attempts); start += batchSize {
			var batch []outbound.Finished
			for i, at := range attempts[start:min(start+batchSize, len(attempts))] {
				k := done + start + i
				batch = append(batch, outbound.Finished{Attempt: at, Outcome: &outbound.Outcome{Result: outbound.ResultAnswered, Kind: script.Completed,
					Outputs:  map[string]string{"answer": answers[k%3], "amount": strconv.Itoa(k % 1000)},
					Answered: at.StartedAt, Ended: at.StartedAt.Add(time.Minute)}})
			}
			batches = append(batches, batch)
		}
		clk.set(begin.Add(time.Duration(txs)*step), step)
		next := make(chan []outbound.Finished)
		var first atomic.Value
		var wg sync.WaitGroup
		for range finishers {
			wg.Go(func() {
				for batch := range next {
					if first.Load() != nil {
						continue // drain: the run has failed
					}
					if lost, err := b.srv.Dialogs.FinishAll(ctx, batch); err != nil || len(lost) > 0 {
						first.CompareAndSwap(nil, fmt.Errorf("finish: %d leases lost, %v", len(lost), err))
					}
				}
			})
		}
		for _, batch := range batches {
			next <- batch
		}
		close(next)
		wg.Wait()
		if err, ok := first.Load().(error); ok {
			return err
		}
		done, txs = done+len(attempts), txs+len(batches)
	}
	return nil
}
