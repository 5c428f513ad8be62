package auth

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// The methods of this file are for the operators of a Parley installation
// (the admin CLI, the demo and the server's start-up checks): they work
// across companies and are never reached from an API.

// UserListing is a user as the installation's operators see it.
type UserListing struct {
	User
	CompanyUUID string
	CompanyName string
}

// CountUsers returns how many users exist, in every company.
func (s *UserService) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.DB.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// ListUsers returns the users of the company with id companyID, or of
// every company when it is 0, by company then login.
func (s *UserService) ListUsers(ctx context.Context, companyID int64) ([]UserListing, error) {
	users, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (u UserListing, err error) {
		err = r.Scan(&u.ID, &u.UUID, &u.CompanyID, &u.Login, &u.Role, &u.OperatorID, &u.CompanyUUID, &u.CompanyName)
		return u, err
	}, `SELECT u.id, u.uuid, u.company_id, u.login, u.role, o.id, c.uuid, c.name
		FROM users u JOIN companies c ON c.id = u.company_id LEFT JOIN operators o ON o.user_id = u.id AND o.company_id = u.company_id AND o.disabled_at IS NULL
		WHERE ? = 0 OR u.company_id = ? ORDER BY u.company_id, u.login`, companyID, companyID)
	if users == nil && err == nil {
		users = []UserListing{}
	}
	return users, err
}

// UserByLogin finds a user by login, in any company.
func (s *UserService) UserByLogin(ctx context.Context, login string) (*User, error) {
	if !plausibleLogin(login) {
		return nil, parley.Errorf(parley.ENOTFOUND, "User %q not found.", parley.Clip(login))
	}
	u := &User{}
	err := s.DB.Reader().QueryRow(ctx, `SELECT u.id, u.uuid, u.company_id, u.login, u.role, o.id
		FROM users u LEFT JOIN operators o ON o.user_id = u.id AND o.company_id = u.company_id AND o.disabled_at IS NULL WHERE u.login = ?`, login).
		Scan(&u.ID, &u.UUID, &u.CompanyID, &u.Login, &u.Role, &u.OperatorID)
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "User %q not found.", parley.Clip(login))
	}
	return u, err
}

// ResetPassword sets the password of the user with that login and revokes
// the user's refresh tokens, in one transaction: whoever held the old
// password keeps no way to stay logged in past their access token's
// expiry.
func (s *UserService) ResetPassword(ctx context.Context, login, password string) (*User, error) {
	if utf8.RuneCountInString(password) < 8 || len(password) > 256 {
		return nil, parley.FieldError("password", "must be 8 to 256 characters")
	}
	u, err := s.UserByLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	hash, err := s.hashes().HashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		res, err := q.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, u.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "User %q not found.", parley.Clip(login))
		}
		_, err = q.Exec(ctx, `UPDATE refresh_tokens SET revoked = ? WHERE user_id = ?`, true, u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
