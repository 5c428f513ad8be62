package main

// parley bench import|dialer|report measure the outbound-dialog paths:
// a 100,000-row group upload against the raw batched-insert rate of the
// same database, the dialer's sustained call starts with the sim trunk,
// and dialog-report over a million finished dialogs. Server and load share
// the process and the machine's CPUs, which the reports say.

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
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/store"
)

// dialogBench is what every dialog benchmark sets up: a server on a fresh
// database, a tenant with an API user and an agent, and a token.
type dialogBench struct {
	srv    *server.Server
	client *http.Client
	base   string
	token  string
	agent  string // UUID
	cid    int64
	aid    int64
	where  string
	drop   func()
}

func openDialogBench(ctx context.Context, db string, configure func(*server.Config)) (*dialogBench, error) {
	dsn, where, drop, err := benchDSN(ctx, db)
	if err != nil {
		return nil, err
	}
	cfg := server.Config{Addr: "127.0.0.1:0", DB: dsn, Synth: audio.ToneSynth{},
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
	actx := parley.WithCaller(ctx, parley.Caller{CompanyID: c.ID, CompanyUUID: c.UUID, Role: parley.RoleAdmin})
	a, err := srv.Agents.Create(actx, agent.NewAgent{Name: "Bench agent"})
	if err != nil {
		b.close()
		return nil, err
	}
	b.agent, b.cid, b.aid = a.UUID, c.ID, a.ID
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

func benchDialogs(ctx context.Context, what string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "database DSN (default: a fresh SQLite file; postgres://... gets a fresh schema)")
	rows := fs.Int("rows", 100_000, "import: rows in the upload")
	channels := fs.Int("channels", 1000, "dialer: total_channel_limit")
	duration := fs.Duration("duration", 20*time.Second, "dialer: measured time")
	pace := fs.Float64("pace", 0.5, "dialer: real seconds per simulated second of a call")
	dialogs := fs.Int("dialogs", 1_000_000, "report: finished dialogs in the table")
	queries := fs.Int("queries", 500, "report: dialog-report requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m := machineFacts()
	fmt.Fprintf(stdout, "machine: %d CPUs (GOMAXPROCS %d), %s, %s, %s %s\n", m.NumCPU, m.GOMAXPROCS, m.CPUModel, m.Memory, m.GoVersion, m.OSArch)
	switch what {
	case "import":
		return benchImport(ctx, *db, *rows, stdout)
	case "dialer":
		return benchDialer(ctx, *db, *channels, *duration, *pace, stdout)
	case "report":
		return benchDialogReport(ctx, *db, *dialogs, *queries, stdout)
	}
	return fmt.Errorf("unknown bench %q", what)
}

// benchImport times a group upload from the POST to task done, beside the
// raw batched-insert rate of the same database, while a probe reads the
// API at a steady 20 requests/s and records its latency.
func benchImport(ctx context.Context, db string, rows int, out io.Writer) error {
	b, err := openDialogBench(ctx, db, nil)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintf(out, "database: %s (%s)\n", b.srv.DB.Dialect, b.where)
	if err := b.settings(ctx, map[string]any{"total_channel_limit": 0}); err != nil { // the dialer stays idle
		return err
	}
	if err := b.do(ctx, "POST", "/api/v2/ext/initial-entity/bulk?agent_uuid="+b.agent, map[string]any{
		"entities": []any{map[string]any{"name": "msisdn"}, map[string]any{"name": "name"}, map[string]any{"name": "debt"}}}, nil); err != nil {
		return err
	}

	rawRate, err := rawInsertRate(ctx, b.srv.DB, b.cid, b.aid, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "baseline: raw batched INSERT of %d rows into dialogs: %.0f rows/s\n", rows, rawRate)

	rowsJSON := make([]map[string]any, rows)
	for i := range rowsJSON {
		rowsJSON[i] = map[string]any{"msisdn": fmt.Sprintf("+7999%07d", i), "name": fmt.Sprintf("Customer %d", i), "debt": i % 5000}
	}
	body, err := json.Marshal(rowsJSON) // before the clock: the client's work is not the server's
	if err != nil {
		return err
	}
	probeCtx, stopProbe := context.WithCancel(ctx)
	probe := startProbe(probeCtx, b, 20)
	start := time.Now()
	var up struct {
		TaskUUID string `json:"task_uuid"`
	}
	if err := b.do(ctx, "POST", "/api/v2/ext/dialog/dialogs-group-initial?agent_uuid="+b.agent, body, &up); err != nil {
		stopProbe()
		return err
	}
	acked := time.Since(start)
	var st struct {
		State     string `json:"state"`
		Processed int    `json:"processed_rows"`
		Failed    int    `json:"failed_rows"`
	}
	for st.State != "done" && st.State != "failed" {
		time.Sleep(20 * time.Millisecond)
		if err := b.do(ctx, "GET", "/api/v2/ext/dialog/dialogs-group-initial-status?task_uuid="+up.TaskUUID, nil, &st); err != nil {
			stopProbe()
			return err
		}
	}
	elapsed := time.Since(start)
	stopProbe()
	lat := probe()
	if st.State != "done" || st.Processed != rows || st.Failed != 0 {
		return fmt.Errorf("import ended %+v", st)
	}
	rate := float64(rows) / elapsed.Seconds()
	fmt.Fprintf(out, "import: %d rows, acknowledged in %s, done in %s: %.0f rows/s = %.0f%% of the baseline\n",
		rows, acked.Round(time.Millisecond), elapsed.Round(time.Millisecond), rate, 100*rate/rawRate)
	fmt.Fprintf(out, "probe during the import: %d GET agent-settings/general, p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %d\n",
		len(lat.ok), ms(percentile(lat.ok, .5)), ms(percentile(lat.ok, .99)), ms(percentile(lat.ok, 1)), lat.errors)
	return nil
}

// rawInsertRate inserts rows straight into the dialogs table, so with the
// same indexes, in the importer's batching (500-row statements, 2000-row
// transactions) and nothing else: no JSON, no validation, no progress. It
// is the floor of storing dialogs on this database. The rows are deleted
// afterwards so that the import starts from the same empty table.
func rawInsertRate(ctx context.Context, db *store.DB, cid, aid int64, rows int) (float64, error) {
	start := time.Now()
	now := start.UnixMilli()
	for done := 0; done < rows; {
		err := db.Write(ctx, func(q store.Querier) error {
			for stmt := 0; stmt < 4 && done < rows; stmt++ {
				n := min(500, rows-done)
				var sb strings.Builder
				sb.WriteString("INSERT INTO dialogs (uuid, company_id, agent_id, msisdn, entities, status, next_attempt_at, created_at, updated_at) VALUES ")
				args := make([]any, 0, n*8)
				for i := range n {
					if i > 0 {
						sb.WriteString(", ")
					}
					sb.WriteString("(?, ?, ?, ?, ?, 'queued', ?, ?, ?)")
					args = append(args, uuid.NewString(), cid, aid, fmt.Sprintf("+7999%07d", done+i), `{"name":"x"}`, now, now, now)
				}
				if _, err := q.Exec(ctx, sb.String(), args...); err != nil {
					return err
				}
				done += n
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	rate := float64(rows) / time.Since(start).Seconds()
	err := db.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM dialogs WHERE agent_id = ?`, aid)
		return err
	})
	return rate, err
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

// benchDialer loads enough dialogs for the whole run, opens the agent's
// channels and counts call starts per second with the sim trunk.
func benchDialer(ctx context.Context, db string, channels int, d time.Duration, pace float64, out io.Writer) error {
	b, err := openDialogBench(ctx, db, func(c *server.Config) { c.SimPace = pace })
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
	for state := ""; state != "done"; {
		var st struct{ State string }
		time.Sleep(100 * time.Millisecond)
		if err := b.do(ctx, "GET", "/api/v2/ext/dialog/dialogs-group-initial-status?task_uuid="+up.TaskUUID, nil, &st); err != nil {
			return err
		}
		if state = st.State; state == "failed" {
			return fmt.Errorf("upload failed")
		}
	}
	count := func(q string) int {
		var v int
		_ = b.srv.DB.Reader().QueryRow(ctx, q).Scan(&v)
		return v
	}
	if err := b.settings(ctx, map[string]any{"total_channel_limit": channels}); err != nil {
		return err
	}
	// Ramp up, then measure a steady window.
	ramp := 5 * time.Second
	time.Sleep(ramp)
	startCalls, start := count(`SELECT COUNT(*) FROM calls`), time.Now()
	var live []int
	for time.Since(start) < d {
		time.Sleep(time.Second)
		live = append(live, count(`SELECT COUNT(*) FROM calls WHERE status = 'live'`))
	}
	calls := count(`SELECT COUNT(*) FROM calls`) - startCalls
	elapsed := time.Since(start)
	if err := b.settings(ctx, map[string]any{"total_channel_limit": 0}); err != nil {
		return err
	}
	slices.Sort(live)
	fmt.Fprintf(out, "dialer: %d call starts in %s after a %s ramp: %.0f starts/s; live calls per second: median %d, max %d (limit %d)\n",
		calls, elapsed.Round(time.Millisecond), ramp, float64(calls)/elapsed.Seconds(), live[len(live)/2], live[len(live)-1], channels)
	fmt.Fprintf(out, "finished: %d done, %d failed\n", count(`SELECT COUNT(*) FROM dialogs WHERE status = 'done'`), count(`SELECT COUNT(*) FROM dialogs WHERE status = 'failed'`))
	return nil
}

// benchDialogReport fills the table with finished dialogs spread over 30 days and
// times dialog-report pages of 100 in random one-day windows.
func benchDialogReport(ctx context.Context, db string, dialogs, queries int, out io.Writer) error {
	b, err := openDialogBench(ctx, db, func(c *server.Config) { c.NoWorkers = true })
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintf(out, "database: %s (%s)\n", b.srv.DB.Dialect, b.where)
	day := 24 * time.Hour
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	begin := end.Add(-30 * day)
	fill := time.Now()
	now := time.Now().UnixMilli()
	for done := 0; done < dialogs; {
		err := b.srv.DB.Write(ctx, func(q store.Querier) error {
			for stmt := 0; stmt < 10 && done < dialogs; stmt++ {
				n := min(500, dialogs-done)
				var sb strings.Builder
				sb.WriteString(`INSERT INTO dialogs (uuid, company_id, agent_id, msisdn, entities, status, result, attempts, next_attempt_at,
					outputs, last_call_uuid, created_at, updated_at, finished_at) VALUES `)
				args := make([]any, 0, n*11)
				for i := range n {
					if i > 0 {
						sb.WriteString(", ")
					}
					sb.WriteString("(?, ?, ?, ?, '{}', 'done', 'completed', 1, ?, ?, ?, ?, ?, ?)")
					k := done + i
					finished := begin.Add(time.Duration(float64(30*day) * float64(k) / float64(dialogs))).UnixMilli()
					args = append(args, uuid.NewString(), b.cid, b.aid, fmt.Sprintf("+7999%07d", k), now,
						fmt.Sprintf(`{"answer":"%s","amount":"%d"}`, []string{"yes", "no", "later"}[k%3], k%1000), uuid.NewString(), now, now, finished)
				}
				if _, err := q.Exec(ctx, sb.String(), args...); err != nil {
					return err
				}
				done += n
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if b.srv.DB.Dialect == store.Postgres {
		if err := b.srv.DB.Write(ctx, func(q store.Querier) error { _, err := q.Exec(ctx, "ANALYZE dialogs"); return err }); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "filled %d finished dialogs over 30 days in %s\n", dialogs, time.Since(fill).Round(time.Millisecond))
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
		if len(rep.Result) == 0 || rep.Total < perDay-2 {
			return fmt.Errorf("report page at offset %d: %d rows of %d", offset, len(rep.Result), rep.Total)
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(out, "dialog-report: %d pages of 100 in one-day windows (~%d dialogs each), random offsets: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		queries, perDay, ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
	return nil
}
