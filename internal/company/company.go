// Package company manages tenants: every other row in the database belongs
// to exactly one company.
package company

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Company is a tenant. Secret signs the custom data its widgets send.
type Company struct {
	ID        int64
	UUID      string
	Name      string
	Secret    string
	Timezone  string
	CreatedAt time.Time
}

// Service creates and finds companies. Its methods are for operators of the
// Parley installation (the admin CLI), so they are not tenant-scoped.
type Service struct {
	DB *store.DB
	// Now is the service's clock; nil is time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Create makes a company with a fresh signing secret.
func (s *Service) Create(ctx context.Context, name, timezone string) (*Company, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return nil, parley.FieldError("name", "must be 1 to 200 printable characters")
	}
	if timezone == "" {
		timezone = "UTC"
	}
	if _, err := time.LoadLocation(timezone); err != nil {
		return nil, parley.FieldError("timezone", "unknown time zone %q", timezone)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	c := &Company{UUID: uuid.NewString(), Name: name, Secret: hex.EncodeToString(secret), Timezone: timezone, CreatedAt: s.now().Truncate(time.Millisecond)}
	err := s.DB.Write(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO companies (uuid, name, secret, timezone, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, c.UUID, c.Name, c.Secret, c.Timezone, c.CreatedAt.UnixMilli()).Scan(&c.ID)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ByUUID finds a company by its UUID.
func (s *Service) ByUUID(ctx context.Context, id string) (*Company, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, parley.FieldError("company", "is not a UUID")
	}
	c := &Company{}
	var created int64
	err := s.DB.Reader().QueryRow(ctx, `SELECT id, uuid, name, secret, timezone, created_at FROM companies WHERE uuid = ?`, id).
		ScanFound("Company "+id, &c.ID, &c.UUID, &c.Name, &c.Secret, &c.Timezone, &created)
	if err != nil {
		return nil, err
	}
	c.CreatedAt = time.UnixMilli(created).UTC()
	return c, nil
}

// ByName finds the oldest company with that name (names are not unique;
// the demo finds its own tenant by name).
func (s *Service) ByName(ctx context.Context, name string) (*Company, error) {
	c := &Company{}
	var created int64
	err := s.DB.Reader().QueryRow(ctx, `SELECT id, uuid, name, secret, timezone, created_at FROM companies WHERE name = ? ORDER BY id LIMIT 1`, name).
		ScanFound("Company "+parley.Clip(name), &c.ID, &c.UUID, &c.Name, &c.Secret, &c.Timezone, &created)
	if err != nil {
		return nil, err
	}
	c.CreatedAt = time.UnixMilli(created).UTC()
	return c, nil
}
