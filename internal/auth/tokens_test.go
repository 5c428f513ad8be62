package auth_test

import (
	"context"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/store"
	"github.com/parley-cc/parley/internal/testenv"
)

// The signing key is made once and persisted: a token issued before a
// restart, or by another node, stays valid.
func TestSigningKeySurvivesRestart(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		open := func() *store.DB {
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}
		db1 := open()
		ts1, err := auth.NewTokenService(ctx, db1)
		if err != nil {
			t.Fatal(err)
		}
		var companyID, userID int64
		err = db1.Write(ctx, func(q store.Querier) error {
			if err := q.QueryRow(ctx, `INSERT INTO companies (uuid, name, secret, created_at) VALUES ('c', 'c', 's', 0) RETURNING id`).Scan(&companyID); err != nil {
				return err
			}
			return q.QueryRow(ctx, `INSERT INTO users (uuid, company_id, login, password_hash, role, created_at) VALUES ('u', ?, 'l', 'h', 'api', 0) RETURNING id`, companyID).Scan(&userID)
		})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := ts1.Login(ctx, parley.Caller{UserID: userID, UserUUID: "u", CompanyID: companyID, CompanyUUID: "c", Role: "api"})
		if err != nil {
			t.Fatal(err)
		}
		db1.Close()

		db2 := open()
		defer db2.Close()
		ts2, err := auth.NewTokenService(ctx, db2)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ts2.ParseAccess(pair.Token)
		if err != nil || c.CompanyID != companyID || c.Role != "api" {
			t.Fatalf("token after restart: %+v %v", c, err)
		}
		if _, err := ts2.Refresh(ctx, pair.RefreshToken); err != nil {
			t.Fatalf("refresh after restart: %v", err)
		}
	})
}

func TestPasswordHashing(t *testing.T) {
	h, err := auth.HashPassword(context.Background(), "hunter22")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := auth.HashPassword(context.Background(), "hunter22")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := auth.VerifyPassword(context.Background(), h, "hunter22"); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := auth.VerifyPassword(context.Background(), h, "hunter23"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := auth.VerifyPassword(context.Background(), "$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("foreign hash format accepted")
	}
}
