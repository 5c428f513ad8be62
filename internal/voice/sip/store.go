package sip

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/dialer"
	"github.com/parley-cc/parley/internal/speech"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/voice/sdp"
)

// NewTrunk is what creating a company's trunk takes.
type NewTrunk struct {
	Name        string `json:"name"`
	Host        string `json:"host"`
	Port        int    `json:"port,omitempty"`      // default 5060
	Transport   string `json:"transport,omitempty"` // udp (default) or tcp
	Username    string `json:"username,omitempty"`
	Password    string `json:"password,omitempty"`
	CallerID    string `json:"caller_id,omitempty"`
	Codecs      string `json:"codecs,omitempty"`         // "PCMU,PCMA" (default)
	RingTimeout int    `json:"ring_timeout_s,omitempty"` // seconds, default 30
}

// TrunkInfo is a stored trunk as answers show it: the password masked.
type TrunkInfo struct {
	UUID        string `json:"trunk_id"`
	Name        string `json:"name"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Transport   string `json:"transport"`
	Username    string `json:"username"`
	Password    string `json:"password"` // "********" when set, "" when not
	CallerID    string `json:"caller_id"`
	Codecs      string `json:"codecs"`
	RingTimeout int    `json:"ring_timeout_s"`
	CreatedAt   int64  `json:"created_at"`
	UpdatedAt   int64  `json:"updated_at"`

	companyID int64
	password  string
}

const masked = "********"

// Service stores the companies' trunks and resolves them for the dialer.
type Service struct {
	DB    *store.DB
	Synth audio.Synthesizer
	Log   *slog.Logger
	// Recognizer transcribes for every trunk built here; nil: none.
	Recognizer Recognizer
	// Speech, if set, gives each call the calling agent's voice and
	// recognizer (its tts, asr and keys) instead of Synth and Recognizer.
	Speech *speech.Registry
	// PublicIP is every trunk's Config.PublicIP (PARLEY_PUBLIC_IP).
	PublicIP netip.Addr

	mu    sync.Mutex
	cache map[cacheKey]*cached
}

type cacheKey struct {
	company int64
	name    string
}

type cached struct {
	uuid    string // a trunk deleted and re-created under its name is another
	updated int64
	trunk   *Trunk
}

func validate(in *NewTrunk) error {
	name, err := parley.ValidName("name", in.Name, 100)
	if err != nil {
		return err
	}
	in.Name = name
	in.Host = strings.TrimSpace(in.Host)
	if in.Host == "" || len(in.Host) > 253 || strings.ContainsFunc(in.Host, unicode.IsControl) ||
		strings.ContainsAny(in.Host, " /@;:?<>\"") && net.ParseIP(in.Host) == nil {
		return parley.FieldError("host", "must be a host name or IP address")
	}
	if in.Port == 0 {
		in.Port = 5060
	}
	if in.Port < 1 || in.Port > 65535 {
		return parley.FieldError("port", "must be 1-65535")
	}
	in.Transport = strings.ToLower(in.Transport)
	if in.Transport == "" {
		in.Transport = "udp"
	}
	if in.Transport != "udp" && in.Transport != "tcp" {
		return parley.FieldError("transport", "must be udp or tcp")
	}
	for field, v := range map[string]string{"username": in.Username, "password": in.Password, "caller_id": in.CallerID} {
		if len(v) > 200 || strings.ContainsAny(v, "\r\n\x00") {
			return parley.FieldError(field, "must be at most 200 characters on one line")
		}
	}
	if in.Password != "" && in.Username == "" {
		return parley.FieldError("username", "is required with a password")
	}
	if in.CallerID != "" && sanitizeUser(in.CallerID) != in.CallerID && !validUserPart(in.CallerID) {
		return parley.FieldError("caller_id", "must be a number or a SIP user name")
	}
	laws, err := sdp.ParseCodecs(in.Codecs)
	if err != nil {
		return parley.FieldError("codecs", "must list PCMU and/or PCMA")
	}
	names := make([]string, len(laws))
	for i, l := range laws {
		names[i] = l.String()
	}
	in.Codecs = strings.Join(names, ",")
	if in.RingTimeout == 0 {
		in.RingTimeout = 30
	}
	if in.RingTimeout < 5 || in.RingTimeout > 300 {
		return parley.FieldError("ring_timeout_s", "must be 5-300 seconds")
	}
	return nil
}

func validUserPart(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.!~*'+", r)) {
			return false
		}
	}
	return s != ""
}

// Create adds a trunk to the caller's company.
func (s *Service) Create(ctx context.Context, in NewTrunk) (*TrunkInfo, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if err := validate(&in); err != nil {
		return nil, err
	}
	id := uuid.NewString()
	now := time.Now().UnixMilli()
	err = s.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO trunks (uuid, company_id, name, host, port, transport, username, password, caller_id, codecs, ring_timeout_s, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, cid, in.Name, in.Host, in.Port, in.Transport, in.Username, in.Password,
			in.CallerID, in.Codecs, in.RingTimeout, now, now)
		return err
	})
	if errors.Is(err, store.ErrUnique) {
		return nil, parley.Errorf(parley.ECONFLICT, "A trunk named %q already exists.", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

const trunkColumns = `uuid, company_id, name, host, port, transport, username, password, caller_id, codecs, ring_timeout_s, created_at, updated_at`

func scanTrunk(scan func(...any) error) (*TrunkInfo, error) {
	var t TrunkInfo
	if err := scan(&t.UUID, &t.companyID, &t.Name, &t.Host, &t.Port, &t.Transport, &t.Username, &t.password,
		&t.CallerID, &t.Codecs, &t.RingTimeout, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	if t.password != "" {
		t.Password = masked
	}
	return &t, nil
}

// Get returns one of the caller's trunks.
func (s *Service) Get(ctx context.Context, trunkUUID string) (*TrunkInfo, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	t, err := scanTrunk(s.DB.Reader().QueryRow(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE uuid = ? AND company_id = ?`, trunkUUID, cid).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound("Trunk")
	}
	return t, err
}

// List returns the caller's trunks by name.
func (s *Service) List(ctx context.Context) ([]*TrunkInfo, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.Reader().Query(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE company_id = ? ORDER BY name`, cid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*TrunkInfo{}
	for rows.Next() {
		t, err := scanTrunk(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Delete removes one of the caller's trunks. Calls in progress go on.
func (s *Service) Delete(ctx context.Context, trunkUUID string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	var n int64
	err = s.DB.Write(ctx, func(q store.Querier) error {
		r, err := q.Exec(ctx, `DELETE FROM trunks WHERE uuid = ? AND company_id = ?`, trunkUUID, cid)
		if err == nil {
			n, err = r.RowsAffected()
		}
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound("Trunk")
	}
	return nil
}

// GetByName returns the caller's trunk named name (the name an agent's
// trunk_name uses); another company's trunk is not found.
func (s *Service) GetByName(ctx context.Context, name string) (*TrunkInfo, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	// A name no trunk can have (NUL, invalid UTF-8, too long) is simply
	// not found; PostgreSQL would refuse it as a parameter.
	name, err = parley.ValidName("name", name, 100)
	if err != nil {
		return nil, store.ErrNotFound("Trunk")
	}
	t, err := scanTrunk(s.DB.Reader().QueryRow(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE company_id = ? AND name = ?`, cid, name).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound("Trunk")
	}
	return t, err
}

// TrunkUpdate is a partial change of a trunk: a nil field keeps its value.
// The name is not changed (a trunk is renamed by re-creating it). Set
// values follow NewTrunk's rules, except that 0 is no port or ring
// timeout rather than the default; Password "" clears the password.
type TrunkUpdate struct {
	Host        *string
	Port        *int
	Transport   *string
	Username    *string
	Password    *string
	CallerID    *string
	Codecs      *string
	RingTimeout *int
}

// Update changes the caller's trunk named name and returns it. A change
// bumps updated_at, so Resolve builds the trunk anew for the next call
// (calls in progress keep the old configuration); an update that changes
// nothing leaves the row as it was.
func (s *Service) Update(ctx context.Context, name string, u TrunkUpdate) (*TrunkInfo, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if name, err = parley.ValidName("name", name, 100); err != nil {
		return nil, store.ErrNotFound("Trunk")
	}
	if u.Port != nil && *u.Port == 0 {
		return nil, parley.FieldError("port", "must be 1-65535")
	}
	if u.RingTimeout != nil && *u.RingTimeout == 0 {
		return nil, parley.FieldError("ring_timeout_s", "must be 5-300 seconds")
	}
	var id string
	err = s.DB.Write(ctx, func(q store.Querier) error {
		cur, err := scanTrunk(q.QueryRow(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE company_id = ? AND name = ?`, cid, name).Scan)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound("Trunk")
		}
		if err != nil {
			return err
		}
		id = cur.UUID
		in := NewTrunk{Name: cur.Name, Host: cur.Host, Port: cur.Port, Transport: cur.Transport, Username: cur.Username,
			Password: cur.password, CallerID: cur.CallerID, Codecs: cur.Codecs, RingTimeout: cur.RingTimeout}
		for _, f := range []struct {
			to   *string
			from *string
		}{{&in.Host, u.Host}, {&in.Transport, u.Transport}, {&in.Username, u.Username}, {&in.Password, u.Password},
			{&in.CallerID, u.CallerID}, {&in.Codecs, u.Codecs}} {
			if f.from != nil {
				*f.to = *f.from
			}
		}
		if u.Port != nil {
			in.Port = *u.Port
		}
		if u.RingTimeout != nil {
			in.RingTimeout = *u.RingTimeout
		}
		if err := validate(&in); err != nil {
			return err
		}
		if in.Host == cur.Host && in.Port == cur.Port && in.Transport == cur.Transport && in.Username == cur.Username &&
			in.Password == cur.password && in.CallerID == cur.CallerID && in.Codecs == cur.Codecs && in.RingTimeout == cur.RingTimeout {
			return nil
		}
		// Strictly later than before, so Resolve sees the change even
		// within the millisecond of the last one.
		now := max(time.Now().UnixMilli(), cur.UpdatedAt+1)
		_, err = q.Exec(ctx, `UPDATE trunks SET host = ?, port = ?, transport = ?, username = ?, password = ?, caller_id = ?,
			codecs = ?, ring_timeout_s = ?, updated_at = ? WHERE uuid = ? AND company_id = ?`, in.Host, in.Port, in.Transport,
			in.Username, in.Password, in.CallerID, in.Codecs, in.RingTimeout, now, cur.UUID, cid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// DeleteByName removes the caller's trunk named name. Calls in progress go
// on; agents naming it fall back to the server's built-in trunks.
func (s *Service) DeleteByName(ctx context.Context, name string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	if name, err = parley.ValidName("name", name, 100); err != nil {
		return store.ErrNotFound("Trunk")
	}
	var n int64
	err = s.DB.Write(ctx, func(q store.Querier) error {
		r, err := q.Exec(ctx, `DELETE FROM trunks WHERE company_id = ? AND name = ?`, cid, name)
		if err == nil {
			n, err = r.RowsAffected()
		}
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound("Trunk")
	}
	return nil
}

// Resolve is the dialer's TrunkResolver: the company's trunk named name,
// or nil (no error) when it has none, so the dialer falls back to the
// server's built-in trunks. A trunk is built once and rebuilt when its row
// changes; its SIP stack lives as long as the Service.
func (s *Service) Resolve(ctx context.Context, companyID int64, name string) (dialer.Trunk, error) {
	t, err := scanTrunk(s.DB.Reader().QueryRow(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE company_id = ? AND name = ?`, companyID, name).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	key := cacheKey{companyID, name}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[key]; ok && c.uuid == t.UUID && c.updated == t.UpdatedAt {
		return c.trunk, nil
	}
	laws, _ := sdp.ParseCodecs(t.Codecs)
	tr, err := New(Config{Name: t.Name, Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username,
		Password: t.password, CallerID: t.CallerID, Codecs: laws, Ring: time.Duration(t.RingTimeout) * time.Second,
		PublicIP: s.PublicIP})
	if err != nil {
		return nil, err
	}
	tr.Synth, tr.Log, tr.Recognizer = s.Synth, s.Log, s.Recognizer
	if s.Speech != nil {
		tr.Speech = s.callSpeech
	}
	if s.cache == nil {
		s.cache = map[cacheKey]*cached{}
	}
	if old, ok := s.cache[key]; ok {
		// Calls in progress on the old configuration keep its stack
		// until they end; close it after the longest call could last.
		time.AfterFunc(2*time.Hour, func() { old.trunk.Close() })
	}
	s.cache[key] = &cached{uuid: t.UUID, updated: t.UpdatedAt, trunk: tr}
	return tr, nil
}

// Close releases every cached trunk's SIP stack.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.cache {
		c.trunk.Close()
		delete(s.cache, k)
	}
}
