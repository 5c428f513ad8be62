// Package webhook delivers a company's domain events to URLs the company
// configures. Service manages the webhooks and reads their delivery log;
// Dispatcher turns events of the bus into deliveries and POSTs them, signed
// with HMAC-SHA256, retrying with exponential backoff.
//
// Every request carries:
//
//	Content-Type: application/json
//	X-Parley-Event: <event type>
//	X-Parley-Delivery: <delivery id>
//	X-Parley-Timestamp: <unix seconds of the attempt>
//	X-Parley-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// and the body {"id": <event id>, "type", "created_at", "subject", "data"}.
// The event id is the same for every webhook and every retry of one event:
// receivers deduplicate on it (delivery is at least once).
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/store"
)

// Limits of a company's webhooks.
const (
	MaxWebhooks  = 50  // per company
	MaxEvents    = 50  // event types per webhook
	MaxEventType = 100 // bytes of one event type
	SecretPrefix = "whsec_"
)

// Delivery states.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Webhook is a URL that receives the company's events of the given types.
type Webhook struct {
	ID        int64
	CompanyID int64
	URL       string
	Events    []string
	Active    bool
	// Secret is the signing key in full only in the answer of Create;
	// everywhere else it is masked ("whsec_********abcd").
	Secret    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewWebhook is the input of Create. Events defaults to ["*"], Active to
// true.
type NewWebhook struct {
	URL    string
	Events []string
	Active *bool
}

// Update changes the fields that are not nil.
type Update struct {
	URL    *string
	Events *[]string
	Active *bool
}

// Delivery is one event sent (or to be sent) to one webhook.
type Delivery struct {
	ID            int64
	WebhookID     int64
	EventID       string
	EventType     string
	Payload       json.RawMessage
	Status        string
	Attempts      int
	NextAttemptAt *time.Time // while pending
	LastStatus    *int       // HTTP status of the last attempt, nil if none answered
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
	Log           []Attempt
}

// Attempt is one try of a delivery. Numbers restart at 1 after a
// redelivery.
type Attempt struct {
	Attempt    int
	At         time.Time
	StatusCode *int
	Error      string
	Duration   time.Duration
}

// Service manages the webhooks of the caller's company. Only admin and
// API users may; a webhook of another company is not found.
type Service struct {
	DB *store.DB
	// AllowPrivate lets URLs point at loopback and private addresses
	// (PARLEY_WEBHOOK_ALLOW_PRIVATE=1): for tests and closed networks.
	AllowPrivate bool
	// Resolver checks host names; nil is net.DefaultResolver.
	Resolver Resolver
	// Wake, if set, tells the dispatcher that a delivery became due.
	Wake func()
	// Now is the service's clock; nil is time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time { return clock(s.Now) }

// clock reads now, or time.Now when it is nil, to the millisecond (the
// precision stored).
func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return now().UTC().Truncate(time.Millisecond)
}

// tenant returns the caller's company, refusing callers that may not
// manage webhooks.
func tenant(ctx context.Context) (int64, error) {
	c, ok := parley.CallerFrom(ctx)
	if !ok {
		return 0, parley.Errorf(parley.EUNAUTHORIZED, "No authenticated company.")
	}
	if !c.HasAPIAccess() {
		return 0, parley.Errorf(parley.EFORBIDDEN, "Only admin and API users may manage webhooks.")
	}
	return c.CompanyID, nil
}

func ms(t int64) time.Time { return time.UnixMilli(t).UTC() }

var eventPattern = regexp.MustCompile(`^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$`)

// ValidEvents checks and deduplicates a list of event types. An entry is
// an exact type ("chat.created"), a prefix ("chat.*") or "*" (everything).
func ValidEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, parley.FieldError("events", `must list at least one event type, or "*"`)
	}
	if len(events) > MaxEvents {
		return nil, parley.FieldError("events", "must list at most %d event types", MaxEvents)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(events))
	for _, e := range events {
		e = strings.TrimSpace(e)
		if len(e) > MaxEventType || !eventPattern.MatchString(e) {
			return nil, parley.FieldError("events", `%q is not an event type: want e.g. "chat.created", "chat.*" or "*"`, parley.Clip(e))
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// Matches reports whether an event of type typ goes to a webhook
// subscribed to patterns.
func Matches(patterns []string, typ string) bool {
	if chat.StaffOnlyEvent(typ) {
		return false // internal notes never leave the company's staff
	}
	for _, p := range patterns {
		if p == "*" || p == typ || (strings.HasSuffix(p, ".*") && strings.HasPrefix(typ, p[:len(p)-1])) {
			return true
		}
	}
	return false
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// MaskSecret hides all of a secret but its last four characters.
func MaskSecret(s string) string {
	if len(s) <= len(SecretPrefix)+4 {
		return SecretPrefix + "********"
	}
	return SecretPrefix + "********" + s[len(s)-4:]
}

const webhookColumns = `id, company_id, url, secret, events, active, created_at, updated_at`

func scanWebhook(s store.Scanner) (*Webhook, error) {
	w := &Webhook{}
	var events string
	var created, updated int64
	if err := s.Scan(&w.ID, &w.CompanyID, &w.URL, &w.Secret, &events, &w.Active, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = ms(created), ms(updated)
	return w, nil
}

func notFound(id int64) error { return parley.Errorf(parley.ENOTFOUND, "Webhook %d not found.", id) }

// Create adds a webhook to the caller's company. The answer holds the
// signing secret in full; it is never shown again.
func (s *Service) Create(ctx context.Context, in NewWebhook) (*Webhook, error) {
	cid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	u, err := CheckURL(ctx, in.URL, s.AllowPrivate, s.Resolver)
	if err != nil {
		return nil, err
	}
	evs := in.Events
	if evs == nil {
		evs = []string{"*"}
	}
	if evs, err = ValidEvents(evs); err != nil {
		return nil, err
	}
	active := in.Active == nil || *in.Active
	evJSON, _ := json.Marshal(evs)
	secret := newSecret()
	now := s.now().UnixMilli()
	var id int64
	err = s.DB.Write(ctx, func(q store.Querier) error {
		// Concurrent creates on PostgreSQL may overshoot the limit by a
		// few: it is a guard against runaway scripts, not a quota.
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM webhooks WHERE company_id = ?`, cid).Scan(&n); err != nil {
			return err
		}
		if n >= MaxWebhooks {
			return parley.Errorf(parley.ECONFLICT, "A company may have at most %d webhooks.", MaxWebhooks)
		}
		return q.QueryRow(ctx, `INSERT INTO webhooks (company_id, url, secret, events, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, cid, u, secret, string(evJSON), active, now, now).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return &Webhook{ID: id, CompanyID: cid, URL: u, Events: evs, Active: active, Secret: secret,
		CreatedAt: ms(now), UpdatedAt: ms(now)}, nil
}

// Get returns one webhook of the caller's company, secret masked.
func (s *Service) Get(ctx context.Context, id int64) (*Webhook, error) {
	cid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, s.DB.Reader(), cid, id)
}

func (s *Service) get(ctx context.Context, q store.Querier, cid, id int64) (*Webhook, error) {
	w, err := scanWebhook(q.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, store.ErrNoRows) {
		return nil, notFound(id)
	} else if err != nil {
		return nil, err
	}
	w.Secret = MaskSecret(w.Secret)
	return w, nil
}

// List returns a page of the company's webhooks, oldest first, and how
// many there are in all.
func (s *Service) List(ctx context.Context, limit, offset int) ([]*Webhook, int, error) {
	cid, err := tenant(ctx)
	if err != nil {
		return nil, 0, err
	}
	var out []*Webhook
	var total int
	err = s.DB.Read(ctx, func(q store.Querier) error {
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM webhooks WHERE company_id = ?`, cid).Scan(&total); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks WHERE company_id = ? ORDER BY id LIMIT ? OFFSET ?`,
			cid, limit, offset)
		for _, w := range out {
			w.Secret = MaskSecret(w.Secret)
		}
		return err
	})
	return out, total, err
}

// Update changes a webhook's URL, events or active flag. Deliveries
// already queued go to the URL the webhook has when they are attempted.
func (s *Service) Update(ctx context.Context, id int64, up Update) (*Webhook, error) {
	cid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var sets []string
	var args []any
	if up.URL != nil {
		u, err := CheckURL(ctx, *up.URL, s.AllowPrivate, s.Resolver)
		if err != nil {
			return nil, err
		}
		sets, args = append(sets, "url = ?"), append(args, u)
	}
	if up.Events != nil {
		evs, err := ValidEvents(*up.Events)
		if err != nil {
			return nil, err
		}
		j, _ := json.Marshal(evs)
		sets, args = append(sets, "events = ?"), append(args, string(j))
	}
	if up.Active != nil {
		sets, args = append(sets, "active = ?"), append(args, *up.Active)
	}
	var w *Webhook
	err = s.DB.Write(ctx, func(q store.Querier) error {
		if len(sets) > 0 {
			sets = append(sets, "updated_at = ?")
			args = append(args, s.now().UnixMilli(), id, cid)
			res, err := q.Exec(ctx, `UPDATE webhooks SET `+strings.Join(sets, ", ")+` WHERE id = ? AND company_id = ?`, args...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return notFound(id)
			}
		}
		var err error
		w, err = s.get(ctx, q, cid, id)
		return err
	})
	return w, err
}

// Delete removes a webhook with its delivery log. A delivery in flight
// may still reach the receiver once.
func (s *Service) Delete(ctx context.Context, id int64) error {
	cid, err := tenant(ctx)
	if err != nil {
		return err
	}
	return s.DB.Write(ctx, func(q store.Querier) error {
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM webhooks WHERE id = ? AND company_id = ?`, id, cid).Scan(&one)
		if errors.Is(err, store.ErrNoRows) {
			return notFound(id)
		} else if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ?)`, id); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM webhooks WHERE id = ? AND company_id = ?`, id, cid)
		return err
	})
}

const deliveryColumns = `id, webhook_id, event_id, event_type, payload, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at`

func scanDelivery(s store.Scanner) (*Delivery, error) {
	d := &Delivery{}
	var payload string
	var next, created int64
	var delivered *int64
	if err := s.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &payload, &d.Status, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &created, &delivered); err != nil {
		return nil, err
	}
	d.Payload = json.RawMessage(payload)
	if d.Status == StatusPending {
		t := ms(next)
		d.NextAttemptAt = &t
	}
	d.CreatedAt = ms(created)
	if delivered != nil {
		t := ms(*delivered)
		d.DeliveredAt = &t
	}
	return d, nil
}

// ListDeliveries returns a page of a webhook's deliveries, newest first,
// each with its attempts, and how many there are in all. status, if not
// empty, keeps only deliveries in that state.
func (s *Service) ListDeliveries(ctx context.Context, webhookID int64, status string, limit, offset int) ([]*Delivery, int, error) {
	cid, err := tenant(ctx)
	if err != nil {
		return nil, 0, err
	}
	switch status {
	case "", StatusPending, StatusDelivered, StatusFailed:
	default:
		return nil, 0, parley.FieldError("status", "must be pending, delivered or failed")
	}
	var out []*Delivery
	var total int
	err = s.DB.Read(ctx, func(q store.Querier) error {
		var one int
		err := q.QueryRow(ctx, `SELECT 1 FROM webhooks WHERE id = ? AND company_id = ?`, webhookID, cid).Scan(&one)
		if errors.Is(err, store.ErrNoRows) {
			return notFound(webhookID)
		} else if err != nil {
			return err
		}
		filter, args := `webhook_id = ?`, []any{webhookID}
		if status != "" {
			filter, args = filter+` AND status = ?`, append(args, status)
		}
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE `+filter, args...).Scan(&total); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE `+filter+` ORDER BY id DESC LIMIT ? OFFSET ?`,
			append(args, limit, offset)...)
		if err != nil || len(out) == 0 {
			return err
		}
		byID := map[int64]*Delivery{}
		for _, d := range out {
			byID[d.ID] = d
		}
		// The page's ids are a descending run: one range query fetches
		// all their attempts.
		return s.loadAttempts(ctx, q, webhookID, out[len(out)-1].ID, out[0].ID, byID)
	})
	return out, total, err
}

func (s *Service) loadAttempts(ctx context.Context, q store.Querier, webhookID, from, to int64, byID map[int64]*Delivery) error {
	type attempt struct {
		delivery int64
		Attempt
	}
	as, err := store.Collect(ctx, q, func(r store.Scanner) (a attempt, err error) {
		var dur, at int64
		err = r.Scan(&a.delivery, &a.Attempt.Attempt, &a.StatusCode, &a.Error, &dur, &at)
		a.Duration, a.At = time.Duration(dur)*time.Millisecond, ms(at)
		return a, err
	}, `SELECT delivery_id, attempt, status_code, error, duration_ms, at FROM webhook_attempts
		WHERE delivery_id >= ? AND delivery_id <= ? AND webhook_id = ? ORDER BY delivery_id, id`, from, to, webhookID)
	for _, a := range as {
		if d := byID[a.delivery]; d != nil {
			d.Log = append(d.Log, a.Attempt)
		}
	}
	return err
}

// Redeliver queues a delivered or failed delivery again, due now, with a
// fresh budget of attempts; its earlier attempts stay in the log.
func (s *Service) Redeliver(ctx context.Context, webhookID, deliveryID int64) (*Delivery, error) {
	cid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	var d *Delivery
	err = s.DB.Write(ctx, func(q store.Querier) error {
		var active bool
		err := q.QueryRow(ctx, `SELECT active FROM webhooks WHERE id = ? AND company_id = ?`, webhookID, cid).Scan(&active)
		if errors.Is(err, store.ErrNoRows) {
			return notFound(webhookID)
		} else if err != nil {
			return err
		}
		d, err = scanDelivery(q.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ? AND webhook_id = ? AND company_id = ?`,
			deliveryID, webhookID, cid))
		if errors.Is(err, store.ErrNoRows) {
			return parley.Errorf(parley.ENOTFOUND, "Delivery %d not found.", deliveryID)
		} else if err != nil {
			return err
		}
		if !active {
			return parley.Errorf(parley.ECONFLICT, "Webhook %d is not active.", webhookID)
		}
		if d.Status == StatusPending {
			return parley.Errorf(parley.ECONFLICT, "Delivery %d is still pending.", deliveryID)
		}
		now := s.now().UnixMilli()
		if _, err := q.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0, node = '',
			delivered_at = NULL WHERE id = ? AND status <> 'pending'`, now, deliveryID); err != nil {
			return err
		}
		if d, err = scanDelivery(q.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, deliveryID)); err != nil {
			return err
		}
		return s.loadAttempts(ctx, q, webhookID, d.ID, d.ID, map[int64]*Delivery{d.ID: d})
	})
	if err != nil {
		return nil, err
	}
	if s.Wake != nil {
		s.Wake()
	}
	return d, nil
}
