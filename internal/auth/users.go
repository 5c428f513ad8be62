// Package auth holds users, password checks and the JWT access and refresh
// tokens every API family accepts.
package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// User is a login of a company.
type User struct {
	ID         int64
	UUID       string
	CompanyID  int64
	Login      string
	Role       string
	OperatorID *int64 // set for operator users: they are also human operators
}

// UserService creates users and checks their passwords.
type UserService struct {
	DB *store.DB
	// Operators gives operator users their operator rows (the chat
	// service, which owns the operators table); without it operator users
	// cannot be created.
	Operators Operators
	// Now is the service's clock; nil is time.Now.
	Now func() time.Time
	// Hashes bounds the password hashes computed at once; nil means
	// DefaultHashGate.
	Hashes *HashGate
}

func (s *UserService) hashes() *HashGate {
	if s.Hashes == nil {
		return DefaultHashGate
	}
	return s.Hashes
}

// Operators keeps the operator rows of users in step with their roles, in
// the transaction q that creates the user or changes its role, at that
// transaction's time now. *chat.Service is one.
type Operators interface {
	// EnableUserOperator gives an operator user its row (a new one, or
	// the one it had, enabled again).
	EnableUserOperator(ctx context.Context, q store.Querier, companyID, userID int64, name string, now time.Time) (int64, error)
	// DisableUserOperator takes the row of a user who is no longer an
	// operator out of routing (offline and kept so; its open chats back
	// to the queue); published runs after q commits.
	DisableUserOperator(ctx context.Context, q store.Querier, companyID, userID int64, now time.Time) (published func(), err error)
}

// syncOperator makes u's operator row follow u.Role, in the transaction q
// that creates u or changes its role: an operator has an enabled row, any
// other role none that routes. It is the one place users get or lose
// their operator rows. after runs once q has committed.
func (s *UserService) syncOperator(ctx context.Context, q store.Querier, u *User, now time.Time) (after func(), err error) {
	after = func() {}
	if u.Role == parley.RoleOperator {
		if s.Operators == nil {
			return nil, errors.New("auth: no operator service to make operator users with")
		}
		opID, err := s.Operators.EnableUserOperator(ctx, q, u.CompanyID, u.ID, u.Login, now)
		if err != nil {
			return nil, err
		}
		u.OperatorID = &opID
		return after, nil
	}
	if u.OperatorID == nil {
		return after, nil
	}
	if s.Operators == nil {
		return nil, errors.New("auth: no operator service to take the operator role away with")
	}
	if after, err = s.Operators.DisableUserOperator(ctx, q, u.CompanyID, u.ID, now); err != nil {
		return nil, err
	}
	u.OperatorID = nil
	return after, nil
}

func (s *UserService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CreateUser adds a user to a company. An operator user also gets an
// operator row, so that chats can be routed to them.
func (s *UserService) CreateUser(ctx context.Context, companyID int64, login, password, role string) (*User, error) {
	login = strings.TrimSpace(login)
	switch {
	case !plausibleLogin(login):
		return nil, parley.FieldError("login", "must be 1 to 128 printable characters without spaces or ':'")
	case utf8.RuneCountInString(password) < 8 || len(password) > 256:
		return nil, parley.FieldError("password", "must be 8 to 256 characters")
	case !parley.ValidRole(role):
		return nil, parley.FieldError("role", "must be admin, api or operator")
	}
	if role == parley.RoleOperator && s.Operators == nil {
		return nil, errors.New("auth: no operator service to make operator users with")
	}
	hash, err := s.hashes().HashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	u := &User{UUID: uuid.NewString(), CompanyID: companyID, Login: login, Role: role}
	err = s.DB.Write(ctx, func(q store.Querier) error {
		now := s.now()
		err := q.QueryRow(ctx, `INSERT INTO users (uuid, company_id, login, password_hash, role, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, u.UUID, companyID, login, hash, role, now.UnixMilli()).Scan(&u.ID)
		if errors.Is(err, store.ErrUnique) {
			return parley.Errorf(parley.ECONFLICT, "Login %q is taken.", login)
		} else if err != nil {
			return err
		}
		// A new user has no row to disable: nothing runs after the commit.
		_, err = s.syncOperator(ctx, q, u, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// dummyHash is verified when a login does not exist, so that a wrong login
// and a wrong password take the same time. It is made once, past the hash
// gate, so that a full gate cannot keep it from being made.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("not a real password")
	if err != nil {
		panic("auth: hashing the dummy password: " + err.Error())
	}
	return h
})

// Authenticate checks a login and password and returns the caller they
// identify. Any mismatch is ECREDENTIALS, without saying which part. A
// full hash gate is ERATELIMITED, for unknown logins as for known ones:
// nothing in the answer or its timing tells whether a login exists.
// Callers that face the public go through a login limiter first
// (internal/api.Logins).
func (s *UserService) Authenticate(ctx context.Context, login, password string) (parley.Caller, error) {
	var c parley.Caller
	var hash string
	refuse := func() (parley.Caller, error) {
		// Verify anyway, against a hash no password matches, so that
		// this answer costs what a wrong password does.
		if _, err := s.hashes().VerifyPassword(ctx, dummyHash(), password); err != nil {
			return parley.Caller{}, err
		}
		return parley.Caller{}, parley.Errorf(parley.ECREDENTIALS, "Invalid login or password.")
	}
	if !plausibleLogin(login) || len(password) > 1024 {
		// Not a login any user can have: answer as for an unknown one,
		// without sending bytes the database may refuse (NUL, bad UTF-8).
		return refuse()
	}
	err := s.DB.Reader().QueryRow(ctx, `SELECT u.id, u.uuid, u.role, u.password_hash, c.id, c.uuid
		FROM users u JOIN companies c ON c.id = u.company_id WHERE u.login = ?`, login).
		Scan(&c.UserID, &c.UserUUID, &c.Role, &hash, &c.CompanyID, &c.CompanyUUID)
	if errors.Is(err, store.ErrNoRows) {
		return refuse()
	} else if err != nil {
		return c, err
	}
	ok, err := s.hashes().VerifyPassword(ctx, hash, password)
	if err != nil {
		return parley.Caller{}, err
	}
	if !ok {
		return parley.Caller{}, parley.Errorf(parley.ECREDENTIALS, "Invalid login or password.")
	}
	return c, nil
}

// plausibleLogin reports whether s could be a login: 1-128 bytes of valid
// UTF-8 with no spaces, colons (Basic auth splits on them) or control
// characters.
func plausibleLogin(s string) bool {
	if s == "" || len(s) > 128 || !utf8.ValidString(s) || strings.ContainsRune(s, ':') {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}
