package auth

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// TestAuthenticateGatedAlike: a login that does not exist costs a password
// check like one that does, through the same gate, so a full gate refuses
// both the same way: neither the answer nor its cost tells whether a
// login exists.
func TestAuthenticateGatedAlike(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var companyID int64
	if err := db.Write(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO companies (uuid, name, secret, created_at) VALUES ('c', 'c', 's', 0) RETURNING id`).Scan(&companyID)
	}); err != nil {
		t.Fatal(err)
	}
	g := NewHashGate(1, 1)
	users := &UserService{DB: db, Hashes: g}
	if _, err := users.CreateUser(ctx, companyID, "known", "correct horse", parley.RoleAPI); err != nil {
		t.Fatal(err)
	}
	attempts := map[string][2]string{
		"known, wrong password": {"known", "wrong horse"},
		"unknown login":         {"unknown", "wrong horse"},
		"impossible login":      {"has space", "wrong horse"},
	}
	for name, a := range attempts {
		if _, err := users.Authenticate(ctx, a[0], a[1]); parley.ErrorCode(err) != parley.ECREDENTIALS {
			t.Errorf("%s: %v, want bad credentials", name, err)
		}
	}
	if c, err := users.Authenticate(ctx, "known", "correct horse"); err != nil || c.CompanyID != companyID {
		t.Fatalf("correct password: %+v %v", c, err)
	}
	hashed := g.Stats()
	if hashed.PeakRunning != 1 {
		t.Fatalf("gate stats %+v", hashed)
	}
	// Fill the gate: every attempt is refused alike, before any check.
	_ = g.acquire(ctx)
	go func() { _ = g.acquire(ctx) }()
	waitFor(t, func() bool { return g.Stats().Queued == 1 })
	for name, a := range attempts {
		_, err := users.Authenticate(ctx, a[0], a[1])
		if parley.ErrorCode(err) != parley.ERATELIMITED || parley.ErrorMessage(err) != "Too many logins at once; try again in a moment." {
			t.Errorf("%s with the gate full: %v", name, err)
		}
	}
	if _, err := users.Authenticate(ctx, "known", "correct horse"); parley.ErrorCode(err) != parley.ERATELIMITED {
		t.Errorf("correct password with the gate full: %v", err)
	}
	if refused := g.Stats().Refused; refused != int64(len(attempts))+1 {
		t.Errorf("%d refusals, want %d (each attempt asked the gate once)", refused, len(attempts)+1)
	}
}
