package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parley-cc/parley/internal/egress"
	"github.com/parley-cc/parley/internal/events"
	"github.com/parley-cc/parley/internal/store"
)

// Header names of a delivery request.
const (
	HeaderEvent     = "X-Parley-Event"
	HeaderDelivery  = "X-Parley-Delivery"
	HeaderTimestamp = "X-Parley-Timestamp"
	HeaderSignature = "X-Parley-Signature"
)

// maxResponse is how much of a receiver's answer is read; the rest is
// dropped with the connection.
const maxResponse = 4 << 10

// Sign returns the X-Parley-Signature value of body sent at timestamp
// (unix seconds) with secret: "sha256=" + hex(HMAC-SHA256(secret,
// timestamp + "." + body)). The key is the secret string's bytes, prefix
// included.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Payload is the JSON body of a delivery.
type Payload struct {
	ID        string         `json:"id"` // the event id
	Type      string         `json:"type"`
	CreatedAt string         `json:"created_at"` // RFC 3339, UTC, milliseconds
	Subject   string         `json:"subject"`
	Data      map[string]any `json:"data"`
}

// eventNamespace makes event ids: a UUIDv5 of the event's content, so that
// the same event published twice (or seen by two dispatchers on one bus)
// is enqueued once.
var eventNamespace = uuid.MustParse("5d0f5c7e-3b8e-4a53-9a7c-2f5d1f0b8e61")

// EventID returns the id of an event, stable for the event: a chat's
// event is named by its place in the chat's event log (chat id and seq),
// any other by its content.
func EventID(ev events.Event) (string, error) {
	if ev.ChatID != 0 && ev.Seq != 0 {
		return uuid.NewSHA1(eventNamespace, []byte(fmt.Sprintf("chat/%d/%d/%d", ev.CompanyID, ev.ChatID, ev.Seq))).String(), nil
	}
	canon, err := json.Marshal(struct {
		Type      string         `json:"t"`
		CompanyID int64          `json:"c"`
		Subject   string         `json:"s"`
		At        int64          `json:"a"`
		Data      map[string]any `json:"d"`
	}{ev.Type, ev.CompanyID, ev.Subject, ev.At.UnixNano(), ev.Data})
	if err != nil {
		return "", err
	}
	return uuid.NewSHA1(eventNamespace, canon).String(), nil
}

// Dispatcher turns bus events into deliveries and sends them. Every
// `parley serve` runs one; several on one PostgreSQL share the work: a
// delivery is claimed with a conditional UPDATE and a lease, so each
// attempt is made by one process.
//
// The bus is in-process and lossy: an event published while this
// dispatcher's buffer is full, or lost in a crash between the state
// change's commit and its enqueue here, does not arrive. Chat events are
// caught up from the chat event log by the sweep (sweep.go), so every
// committed chat event is delivered at least once; other events (dialogs,
// calls, imports) have no log yet and are lost in that case. Events
// enqueued are durable: they survive restarts and are retried until
// delivered or out of attempts.
type Dispatcher struct {
	DB   *store.DB
	Bus  *events.Bus // nil: only deliver what is already queued
	Log  *slog.Logger
	Node string // unique per process; empty picks a random one

	// AllowPrivate lets deliveries connect to loopback and private
	// addresses. Without it the dialer refuses them at connect time, after
	// DNS, so a name rebound to an internal address is refused too.
	AllowPrivate bool
	Backoff      time.Duration // delay after the first failure, doubled each time; default 5s
	MaxBackoff   time.Duration // default 1h
	MaxAttempts  int           // then the delivery fails; default 8
	Timeout      time.Duration // per attempt; default 10s
	Lease        time.Duration // claim of an attempt; default 30s, at least Timeout+10s
	// Poll is the longest an idle delivery loop sleeps: it sleeps until the
	// earliest pending delivery is due or it is woken (an enqueue, an
	// attempt done), and looks again after Poll at the latest, for what
	// another process changed; default 30s.
	Poll        time.Duration
	Concurrency int // attempts in flight; default 8
	Buffer      int // events buffered from the bus; default 16384
	// Retention is how long finished deliveries are kept; default 30 days,
	// negative keeps them forever.
	Retention time.Duration
	// SweepEvery and SweepLag drive the durable path of chat events: every
	// SweepEvery the dispatcher reads the chat event log up to SweepLag ago
	// and queues what the bus did not bring (sweep.go). Defaults 5s and 30s.
	SweepEvery, SweepLag time.Duration
	// Client sends the requests; nil builds one with the address guard.
	Client *http.Client
	// Now is the dispatcher's clock (due times, leases, signature
	// timestamps); nil is time.Now. Durations of attempts are measured on
	// the monotonic clock whatever it says.
	Now func() time.Time

	initOnce  sync.Once
	readyOnce sync.Once
	ready     chan struct{}
	wake      chan struct{}
	client    *http.Client
	seen      atomic.Bool // an event came from the bus since the last sweep
}

func (d *Dispatcher) init() {
	d.initOnce.Do(func() {
		if d.Log == nil {
			d.Log = slog.Default()
		}
		if d.Node == "" {
			d.Node = uuid.NewString()
		}
		if d.Backoff <= 0 {
			d.Backoff = 5 * time.Second
		}
		if d.MaxBackoff <= 0 {
			d.MaxBackoff = time.Hour
		}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = 8
		}
		if d.Timeout <= 0 {
			d.Timeout = 10 * time.Second
		}
		if d.Lease < d.Timeout+10*time.Second {
			d.Lease = max(30*time.Second, d.Timeout+10*time.Second)
		}
		if d.Poll <= 0 {
			d.Poll = 30 * time.Second
		}
		if d.Concurrency <= 0 {
			d.Concurrency = 8
		}
		if d.Buffer <= 0 {
			d.Buffer = 16384
		}
		if d.SweepEvery <= 0 {
			d.SweepEvery = 5 * time.Second
		}
		if d.SweepLag < 0 {
			d.SweepLag = 0
		} else if d.SweepLag == 0 {
			d.SweepLag = 30 * time.Second
		}
		if d.Retention == 0 {
			d.Retention = 30 * 24 * time.Hour
		}
		d.ready = make(chan struct{})
		d.wake = make(chan struct{}, 1)
		d.client = d.Client
		if d.client == nil {
			d.client = NewClient(d.AllowPrivate, d.Timeout)
		}
	})
}

// NewClient returns the HTTP client deliveries use: no proxy, no
// redirects followed (a 3xx is a failed attempt), timeout per request and,
// unless allowPrivate, connections to internal addresses refused.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := egress.Guard{AllowPrivate: allowPrivate}.Dialer(5 * time.Second)
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the guard
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Ready is closed once Run has subscribed to the bus: events published
// after it are seen.
func (d *Dispatcher) Ready() <-chan struct{} {
	d.init()
	return d.ready
}

// Wake makes an idle delivery loop look for due deliveries now.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run enqueues the bus's events and sends due deliveries until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	var wg sync.WaitGroup
	if d.Bus != nil {
		// A generous buffer: enqueueing is one short transaction, but the
		// database may stall, and the bus drops what does not fit.
		evs, cancel := d.Bus.Subscribe(d.Buffer)
		defer cancel()
		wg.Go(func() { d.consume(ctx, evs) })
	}
	d.readyOnce.Do(func() { close(d.ready) })
	wg.Go(func() { d.sweepLoop(ctx) })
	d.deliverLoop(ctx)
	wg.Wait()
}

func (d *Dispatcher) consume(ctx context.Context, evs <-chan events.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-evs:
			if !ok {
				return
			}
			d.seen.Store(true)
			var err error
			for try := 0; try < 3 && ctx.Err() == nil; try++ {
				if _, err = d.Enqueue(ctx, ev); err == nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(try+1) * 200 * time.Millisecond):
				}
			}
			if err != nil && ctx.Err() == nil {
				d.Log.Error("webhook event not enqueued", "event_type", ev.Type, "company_id", ev.CompanyID, "subject", ev.Subject, "error", err)
			}
		}
	}
}

// Enqueue queues ev for every active webhook of its company subscribed to
// its type, in one transaction, and returns how many deliveries it added.
// Enqueueing the same event again adds none.
func (d *Dispatcher) Enqueue(ctx context.Context, ev events.Event) (int, error) {
	d.init()
	if ev.CompanyID == 0 || ev.Type == "" || (ev.ChatID != 0 && ev.Seq == 0) {
		return 0, nil // a chat event without a seq is ephemeral (typing): not for webhooks
	}
	// Most events concern companies without a matching webhook: find out
	// on the read pool before taking the write lock.
	hooks, err := store.Collect(ctx, d.DB.Reader(), func(r store.Scanner) (h companyHooks, err error) {
		var raw string
		if err = r.Scan(&h.id, &raw); err == nil && json.Unmarshal([]byte(raw), &h.patterns) != nil {
			h.patterns = nil // unreadable: matches nothing
		}
		return h, err
	}, `SELECT id, events FROM webhooks WHERE company_id = ? AND active = TRUE`, ev.CompanyID)
	if err != nil {
		return 0, err
	}
	var targets []int64
	for _, h := range hooks {
		if Matches(h.patterns, ev.Type) {
			targets = append(targets, h.id)
		}
	}
	if len(targets) == 0 {
		return 0, nil
	}
	return d.insert(ctx, ev, targets)
}

// insert queues ev for the given webhooks of its company (re-checked to be
// active in the transaction); an event already queued for one adds nothing.
func (d *Dispatcher) insert(ctx context.Context, ev events.Event, targets []int64) (int, error) {
	if ev.At.IsZero() {
		ev.At = clock(d.Now)
	}
	id, err := EventID(ev)
	if err != nil {
		return 0, fmt.Errorf("webhook: event %s: data is not JSON: %w", ev.Type, err)
	}
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(Payload{ID: id, Type: ev.Type, CreatedAt: ev.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Subject: ev.Subject, Data: data})
	if err != nil {
		return 0, err
	}
	added := 0
	for try := 0; ; try++ {
		added = 0
		err = d.DB.Write(ctx, func(q store.Querier) error {
			now := clock(d.Now).UnixMilli()
			for _, wid := range targets {
				// The webhook is read again: it may have been switched off
				// or deleted since the read above.
				res, err := q.Exec(ctx, `INSERT INTO webhook_deliveries (company_id, webhook_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at)
					SELECT company_id, id, ?, ?, ?, 'pending', 0, ?, ? FROM webhooks WHERE id = ? AND company_id = ? AND active = TRUE
					ON CONFLICT (webhook_id, event_id) DO NOTHING`, id, ev.Type, string(body), now, now, wid, ev.CompanyID)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				added += int(n)
			}
			return nil
		})
		// A webhook deleted by a concurrent transaction between this
		// statement's snapshot and its foreign-key check: read again.
		if !errors.Is(err, store.ErrForeignKey) || try == 2 {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	if added > 0 {
		d.Wake()
	}
	return added, nil
}

// job is a claimed delivery.
type job struct {
	id, companyID, webhookID int64
	eventID, eventType       string
	payload                  []byte
	attempts                 int
	url, secret              string
	active                   bool
}

func (d *Dispatcher) deliverLoop(ctx context.Context) {
	sem := make(chan struct{}, d.Concurrency)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	lastPurge := time.Now()
	for ctx.Err() == nil {
		free := d.Concurrency - len(sem)
		var jobs []*job
		var claimErr error
		if free > 0 {
			if jobs, claimErr = d.claim(ctx, free); claimErr != nil && ctx.Err() == nil {
				d.Log.Error("webhook claim", "error", claimErr)
			}
		}
		for _, j := range jobs {
			sem <- struct{}{}
			inflight.Go(func() {
				defer func() {
					<-sem
					d.Wake()
				}()
				d.attempt(ctx, j)
			})
		}
		if d.Retention > 0 && time.Since(lastPurge) > time.Hour {
			lastPurge = time.Now()
			if n, err := d.Purge(ctx, clock(d.Now).Add(-d.Retention)); err != nil && ctx.Err() == nil {
				d.Log.Error("webhook purge", "error", err)
			} else if n > 0 {
				d.Log.Info("webhook deliveries purged", "deliveries", n)
			}
		}
		if free > 0 && len(jobs) == free {
			continue // there may be more due
		}
		wait := d.Poll
		// With every slot busy the next look is when an attempt ends (it
		// wakes the loop), not at a due time that may be past already;
		// after a failed claim (the database away) it is the safety look.
		if free > 0 && claimErr == nil {
			if due, ok, err := d.nextDue(ctx); err != nil && ctx.Err() == nil {
				d.Log.Error("webhook next due", "error", err)
			} else if ok {
				wait = min(wait, max(5*time.Millisecond, due.Sub(clock(d.Now))))
			}
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-time.After(wait):
		}
	}
}

// nextDue is when the earliest pending delivery can be claimed: at its
// next attempt, or once the lease of the process attempting it runs out.
func (d *Dispatcher) nextDue(ctx context.Context) (time.Time, bool, error) {
	var due sql.NullInt64
	err := d.DB.Reader().QueryRow(ctx, `SELECT MIN(CASE WHEN next_attempt_at > lease_until THEN next_attempt_at ELSE lease_until + 1 END)
		FROM webhook_deliveries WHERE status = 'pending'`).Scan(&due)
	if err != nil || !due.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(due.Int64), true, nil
}

// claim takes up to n due deliveries. Candidates are read on the read pool
// (cheap when idle, no write lock); each is then taken by a conditional
// UPDATE whose affected-row count decides which process won it.
func (d *Dispatcher) claim(ctx context.Context, n int) ([]*job, error) {
	now := clock(d.Now).UnixMilli()
	ids, err := store.Int64s(ctx, d.DB.Reader(), `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? AND lease_until < ?
		ORDER BY next_attempt_at, id LIMIT ?`, now, now, n)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var jobs []*job
	err = d.DB.Write(ctx, func(q store.Querier) error {
		jobs = jobs[:0]
		for _, id := range ids {
			res, err := q.Exec(ctx, `UPDATE webhook_deliveries SET lease_until = ?, node = ?
				WHERE id = ? AND status = 'pending' AND next_attempt_at <= ? AND lease_until < ?`,
				now+d.Lease.Milliseconds(), d.Node, id, now, now)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				continue // another process got it first
			}
			j := &job{}
			var payload string
			if err := q.QueryRow(ctx, `SELECT d.id, d.company_id, d.webhook_id, d.event_id, d.event_type, d.payload, d.attempts, w.url, w.secret, w.active
				FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?`, id).Scan(
				&j.id, &j.companyID, &j.webhookID, &j.eventID, &j.eventType, &payload, &j.attempts, &j.url, &j.secret, &j.active); err != nil {
				return err
			}
			j.payload = []byte(payload)
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// attempt sends one claimed delivery and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, j *job) {
	if !j.active {
		d.record(ctx, j, nil, "not sent: the webhook is inactive", 0, true)
		return
	}
	start := time.Now()
	code, errText := d.send(ctx, j)
	if errText != "" && ctx.Err() != nil {
		// Shutting down cut the attempt off: it is not counted. Give the
		// delivery back rather than leave it to the lease.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := d.DB.Write(rctx, func(q store.Querier) error {
			_, err := q.Exec(rctx, `UPDATE webhook_deliveries SET lease_until = 0, node = '' WHERE id = ? AND node = ? AND status = 'pending'`, j.id, d.Node)
			return err
		}); err != nil {
			d.Log.Warn("webhook lease not released", "delivery_id", j.id, "error", err)
		}
		return
	}
	d.record(ctx, j, code, errText, time.Since(start), false)
}

// send POSTs the payload; it returns the response status, if any, and
// what went wrong, "" on a 2xx.
func (d *Dispatcher) send(ctx context.Context, j *job) (*int, string) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(j.payload))
	if err != nil {
		return nil, "bad request: " + err.Error()
	}
	ts := clock(d.Now).Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	req.Header.Set(HeaderEvent, j.eventType)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(j.id, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(j.secret, ts, j.payload))
	res, err := d.client.Do(req)
	if err != nil {
		// The delivery log is the tenant's: it gets what went wrong in
		// words that show no address a name resolved to (the URL may
		// name an internal host). url.Error's text holds the whole URL,
		// which may carry a tenant's token: the server log gets the
		// cause alone.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		d.Log.Debug("webhook attempt failed", "delivery_id", j.id, "webhook_id", j.webhookID, "error", err)
		return nil, egress.Describe(err)
	}
	defer res.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	code := res.StatusCode
	if code >= 200 && code <= 299 {
		return &code, ""
	}
	msg := "HTTP " + strconv.Itoa(code)
	if s := strings.TrimSpace(cleanText(head, 256)); s != "" {
		msg += ": " + s
	}
	return &code, msg
}

// cleanText turns a receiver's bytes into at most max bytes of storable
// text: valid UTF-8, no NUL or other control characters.
func cleanText(b []byte, max int) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "..."
	}
	return s
}

// backoff is the delay after the n-th failed attempt: Backoff·2^(n-1),
// capped at MaxBackoff, jittered down by up to a half.
func (d *Dispatcher) backoff(n int) time.Duration {
	delay := d.MaxBackoff
	if n-1 < 40 {
		if b := d.Backoff << (n - 1); b > 0 && b < d.MaxBackoff {
			delay = b
		}
	}
	half := delay / 2
	return half + rand.N(half+1)
}

// record stores an attempt's outcome, if this process still holds the
// delivery: a process that stalled past its lease lost it to another, and
// its result is dropped (the receiver may then see the event twice).
func (d *Dispatcher) record(ctx context.Context, j *job, code *int, errText string, took time.Duration, final bool) {
	now := clock(d.Now)
	n := j.attempts + 1
	status, next := StatusPending, now.UnixMilli()
	var deliveredAt *int64
	switch {
	case errText == "":
		status = StatusDelivered
		at := now.UnixMilli()
		deliveredAt = &at
	case final || n >= d.MaxAttempts:
		status = StatusFailed
	default:
		next = now.Add(d.backoff(n)).UnixMilli()
	}
	last := code
	errText = cleanText([]byte(errText), 1000)
	// The attempt was made: record it even if shutdown began meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := d.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = 0, node = '',
			last_status = ?, last_error = ?, delivered_at = ? WHERE id = ? AND node = ? AND attempts = ? AND status = 'pending'`,
			status, n, next, last, errText, deliveredAt, j.id, d.Node, j.attempts)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			d.Log.Warn("webhook attempt dropped: lease lost", "delivery_id", j.id)
			return nil
		}
		_, err = q.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, webhook_id, company_id, attempt, status_code, error, duration_ms, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, j.id, j.webhookID, j.companyID, n, last, errText, took.Milliseconds(), now.UnixMilli())
		return err
	})
	if err != nil {
		d.Log.Error("webhook attempt not recorded", "delivery_id", j.id, "error", err)
	}
	if status == StatusFailed {
		d.Log.Warn("webhook delivery failed", "delivery_id", j.id, "webhook_id", j.webhookID, "attempts", n, "error", errText)
	}
}

// Purge deletes delivered and failed deliveries created before before,
// with their attempts, and returns how many deliveries it deleted. Nodes
// running it at once do no harm.
func (d *Dispatcher) Purge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	cut := before.UnixMilli()
	err := d.DB.Write(ctx, func(q store.Querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN
			(SELECT id FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending')`, cut); err != nil {
			return err
		}
		res, err := q.Exec(ctx, `DELETE FROM webhook_deliveries WHERE created_at < ? AND status <> 'pending'`, cut)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
