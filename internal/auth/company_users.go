package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// The methods of this file manage the users of the caller's company, for
// the operator API's user methods (/v1/users): only admin and api users
// may call them, and they never reach another company's users.

// staff returns the caller's company, or EFORBIDDEN for an operator (an
// operator who could make users could make themself an admin).
func staff(ctx context.Context) (int64, error) {
	c, ok := parley.CallerFrom(ctx)
	if !ok {
		return 0, parley.Errorf(parley.EUNAUTHORIZED, "Log in first.")
	}
	if !c.HasAPIAccess() {
		return 0, parley.Errorf(parley.EFORBIDDEN, "Only admin and API users may manage users.")
	}
	return c.CompanyID, nil
}

// staffOn is staff for a method on user id: a user of another company is
// not found (404) whoever asks, as every family answers for another
// tenant's objects; only then is an operator refused (403).
func (s *UserService) staffOn(ctx context.Context, id int64) (int64, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := companyUser(ctx, s.DB.Reader(), cid, id); err != nil {
		return 0, err
	}
	return staff(ctx)
}

// CompanyUser is a user of the caller's company as the user methods show it.
type CompanyUser struct {
	User
	CreatedAt time.Time
}

// ListCompanyUsers returns the users of the caller's company by login.
func (s *UserService) ListCompanyUsers(ctx context.Context) ([]CompanyUser, error) {
	cid, err := staff(ctx)
	if err != nil {
		return nil, err
	}
	users, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (u CompanyUser, err error) {
		var created int64
		err = r.Scan(&u.ID, &u.UUID, &u.CompanyID, &u.Login, &u.Role, &u.OperatorID, &created)
		u.CreatedAt = time.UnixMilli(created).UTC()
		return u, err
	}, `SELECT u.id, u.uuid, u.company_id, u.login, u.role, o.id, u.created_at
		FROM users u LEFT JOIN operators o ON o.user_id = u.id AND o.company_id = u.company_id AND o.disabled_at IS NULL
		WHERE u.company_id = ? ORDER BY u.login LIMIT 1000`, cid)
	if users == nil && err == nil {
		users = []CompanyUser{}
	}
	return users, err
}

// CreateCompanyUser adds a user to the caller's company.
func (s *UserService) CreateCompanyUser(ctx context.Context, login, password, role string) (*User, error) {
	cid, err := staff(ctx)
	if err != nil {
		return nil, err
	}
	return s.CreateUser(ctx, cid, login, password, role)
}

func companyUser(ctx context.Context, q store.Querier, cid, id int64) (*User, error) {
	u := &User{}
	err := q.QueryRow(ctx, `SELECT u.id, u.uuid, u.company_id, u.login, u.role, o.id
		FROM users u LEFT JOIN operators o ON o.user_id = u.id AND o.company_id = u.company_id AND o.disabled_at IS NULL
		WHERE u.id = ? AND u.company_id = ?`, id, cid).
		Scan(&u.ID, &u.UUID, &u.CompanyID, &u.Login, &u.Role, &u.OperatorID)
	if errors.Is(err, store.ErrNoRows) {
		return nil, parley.Errorf(parley.ENOTFOUND, "User %d not found.", id)
	}
	return u, err
}

// SetCompanyUserRole changes the role of a user of the caller's company
// and revokes the user's refresh tokens, so the new role holds from the
// next access token on. The user's operator row follows the role
// (syncOperator): a user who becomes an operator gets one (or gets back
// the one they had); a user who stops being one has theirs disabled, in
// the same transaction, so no chat is routed to someone without a
// console: it goes offline and stays so, and the chats assigned to it go
// back to the queue for the other operators (they are not closed: the
// customer is still there). Callers may not change their own role: an
// admin demoting themself by mistake would lock the company out.
func (s *UserService) SetCompanyUserRole(ctx context.Context, id int64, role string) (*User, error) {
	cid, err := s.staffOn(ctx, id)
	if err != nil {
		return nil, err
	}
	if !parley.ValidRole(role) {
		return nil, parley.FieldError("role", "must be admin, api or operator")
	}
	if c, _ := parley.CallerFrom(ctx); c.UserID == id {
		return nil, parley.Errorf(parley.EFORBIDDEN, "You cannot change your own role; ask another admin.")
	}
	var u *User
	after := func() {}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		after = func() {}
		if u, err = companyUser(ctx, q, cid, id); err != nil {
			return err
		}
		if u.Role == role {
			return nil
		}
		if _, err := q.Exec(ctx, `UPDATE users SET role = ? WHERE id = ? AND company_id = ?`, role, id, cid); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE refresh_tokens SET revoked = ? WHERE user_id = ?`, true, id); err != nil {
			return err
		}
		u.Role = role
		after, err = s.syncOperator(ctx, q, u, s.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	after()
	return u, nil
}

// ResetCompanyUserPassword sets the password of a user of the caller's
// company and revokes the user's refresh tokens. An empty password asks
// for a generated one, returned once: it is never stored in clear nor
// logged, so whoever reset it must hand it over now.
func (s *UserService) ResetCompanyUserPassword(ctx context.Context, id int64, password string) (u *User, generated string, err error) {
	cid, err := s.staffOn(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if password == "" {
		generated = newPassword()
		password = generated
	}
	if utf8.RuneCountInString(password) < 8 || len(password) > 256 {
		return nil, "", parley.FieldError("password", "must be 8 to 256 characters")
	}
	if u, err = companyUser(ctx, s.DB.Reader(), cid, id); err != nil {
		return nil, "", err
	}
	if _, err = s.ResetPassword(ctx, u.Login, password); err != nil {
		return nil, "", err
	}
	return u, generated, nil
}

// newPassword makes a 16-character password from an alphabet without
// look-alikes (no 0/O, 1/l/I), to be read out or typed by a person.
func newPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	out := make([]byte, 0, 16)
	b := make([]byte, 1)
	for len(out) < 16 {
		if _, err := rand.Read(b); err != nil {
			panic("auth: no randomness: " + err.Error())
		}
		// Bytes past the last whole multiple of the alphabet would favour
		// its first letters: draw again.
		if int(b[0]) < 256-256%len(alphabet) {
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out)
}
