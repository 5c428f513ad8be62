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

// Operators creates the operator row of an operator user in the
// transaction q that creates the user, at that transaction's time now.
// *chat.Service is one.
type Operators interface {
	CreateUserOperator(ctx context.Context, q store.Querier, companyID, userID int64, name string, now time.Time) (int64, error)
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
		return nil, errors.New("auth: no operator service to create operator users with")
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
		if role != parley.RoleOperator {
			return nil
		}
		opID, err := s.Operators.CreateUserOperator(ctx, q, companyID, u.ID, login, now)
		if err != nil {
			return err
		}
		u.OperatorID = &opID
		return nil
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
