package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Token lifetimes from the External API seed (section 2.3).
const (
	AccessTTL  = 3600 * time.Second
	RefreshTTL = 86400 * time.Second
)

const (
	issuer          = "parley"
	accessAudience  = "parley-api"
	refreshAudience = "parley-refresh"
	signingKeyName  = "jwt_hs256"
)

// Pair is what /auth and /auth/refresh return.
type Pair struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
}

type claims struct {
	jwt.RegisteredClaims
	Type        string `json:"typ"`
	UserID      int64  `json:"uid"`
	CompanyID   int64  `json:"cid"`
	CompanyUUID string `json:"cuid"`
	Role        string `json:"role"`
	Family      string `json:"fam,omitempty"`
}

// TokenService issues and checks tokens. The HS256 key is generated at the
// first start and kept in the database, so every node of a cluster and every
// restart accept the same tokens.
type TokenService struct {
	DB  *store.DB
	Now func() time.Time // injectable clock for expiry tests

	key     []byte
	parsers map[string]*jwt.Parser // by audience

	// verified caches access tokens already checked, by their exact text:
	// checking one costs a JSON decode and an HMAC on every request, and a
	// forged or altered token can never match an entry. Entries end with
	// their token's expiry.
	mu       sync.RWMutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	caller parley.Caller
	exp    time.Time
}

// maxVerified bounds the cache; past it, expired entries are dropped, and
// if that is not enough the cache starts over.
const maxVerified = 10000

// NewTokenService loads the signing key, creating it if this is the first
// start. Concurrent first starts agree on one key: the insert does nothing
// when another node got there first, and everyone reads the stored row.
func NewTokenService(ctx context.Context, db *store.DB) (*TokenService, error) {
	key, err := db.ServerKey(ctx, signingKeyName)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s := &TokenService{DB: db, Now: time.Now, key: key, verified: map[string]verifiedToken{}, parsers: map[string]*jwt.Parser{}}
	for _, aud := range []string{accessAudience, refreshAudience} {
		s.parsers[aud] = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), // "none" and RS/ES confusions are refused
			jwt.WithIssuer(issuer),
			jwt.WithAudience(aud),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(func() time.Time { return s.Now() }),
			jwt.WithLeeway(leeway),
		)
	}
	return s, nil
}

// leeway tolerates clock skew between nodes on exp and iat.
const leeway = 5 * time.Second

func (s *TokenService) parse(token, audience string) (*claims, error) {
	c := &claims{}
	_, err := s.parsers[audience].ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return s.key, nil })
	if err != nil {
		return nil, err
	}
	wantType := "access"
	if audience == refreshAudience {
		wantType = "refresh"
	}
	if c.Type != wantType || c.CompanyID == 0 || c.UserID == 0 {
		return nil, errors.New("auth: wrong token type")
	}
	return c, nil
}

// ParseAccess checks an access token and returns its caller. It touches no
// database: access tokens are short-lived, so they carry the caller.
func (s *TokenService) ParseAccess(token string) (parley.Caller, error) {
	now := s.Now()
	s.mu.RLock()
	v, ok := s.verified[token]
	s.mu.RUnlock()
	if ok && now.Before(v.exp.Add(leeway)) {
		return v.caller, nil
	}
	c, err := s.parse(token, accessAudience)
	if err != nil {
		return parley.Caller{}, parley.Errorf(parley.EUNAUTHORIZED, "Invalid or expired token.")
	}
	caller := parley.Caller{UserID: c.UserID, UserUUID: c.Subject, CompanyID: c.CompanyID, CompanyUUID: c.CompanyUUID, Role: c.Role}
	s.remember(token, verifiedToken{caller: caller, exp: c.ExpiresAt.Time}, now)
	return caller, nil
}

func (s *TokenService) remember(token string, v verifiedToken, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.verified) >= maxVerified {
		for t, e := range s.verified {
			if !now.Before(e.exp.Add(leeway)) {
				delete(s.verified, t)
			}
		}
		if len(s.verified) >= maxVerified {
			clear(s.verified)
		}
	}
	s.verified[token] = v
}

// Login issues a pair for a freshly authenticated caller, starting a new
// refresh-token family.
func (s *TokenService) Login(ctx context.Context, caller parley.Caller) (*Pair, error) {
	var pair *Pair
	err := s.DB.Write(ctx, func(q store.Querier) error {
		// Expired refresh tokens are useless; drop them while we hold the lock.
		if _, err := q.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ?`, s.Now().Add(-time.Hour).UnixMilli()); err != nil {
			return err
		}
		var err error
		pair, err = s.issue(ctx, q, caller, uuid.NewString())
		return err
	})
	return pair, err
}

func (s *TokenService) issue(ctx context.Context, q store.Querier, c parley.Caller, family string) (*Pair, error) {
	now := s.Now()
	base := claims{UserID: c.UserID, CompanyID: c.CompanyID, CompanyUUID: c.CompanyUUID, Role: c.Role}

	access := base
	access.Type = "access"
	access.RegisteredClaims = jwt.RegisteredClaims{
		Issuer: issuer, Subject: c.UserUUID, Audience: jwt.ClaimStrings{accessAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(AccessTTL)), ID: uuid.NewString(),
	}
	refresh := base
	refresh.Type = "refresh"
	refresh.Family = family
	refresh.RegisteredClaims = jwt.RegisteredClaims{
		Issuer: issuer, Subject: c.UserUUID, Audience: jwt.ClaimStrings{refreshAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(RefreshTTL)), ID: uuid.NewString(),
	}
	at, err := jwt.NewWithClaims(jwt.SigningMethodHS256, access).SignedString(s.key)
	if err != nil {
		return nil, err
	}
	rt, err := jwt.NewWithClaims(jwt.SigningMethodHS256, refresh).SignedString(s.key)
	if err != nil {
		return nil, err
	}
	if _, err := q.Exec(ctx, `INSERT INTO refresh_tokens (jti, family, user_id, company_id, expires_at, revoked, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, refresh.ID, family, c.UserID, c.CompanyID, now.Add(RefreshTTL).UnixMilli(), false, now.UnixMilli()); err != nil {
		return nil, err
	}
	return &Pair{Token: at, RefreshToken: rt}, nil
}

var errRefreshInvalid = parley.Errorf(parley.EUNAUTHORIZED, "Invalid refresh_token.")

// Refresh trades a refresh token for a new pair. Each refresh token works
// once: presenting a used one again means it was stolen or replayed, so the
// whole family is revoked and the legitimate holder must log in again.
func (s *TokenService) Refresh(ctx context.Context, token string) (*Pair, error) {
	c, err := s.parse(token, refreshAudience)
	if err != nil {
		return nil, errRefreshInvalid
	}
	var pair *Pair
	reused := false
	err = s.DB.Write(ctx, func(q store.Querier) error {
		var usedAt sql.NullInt64
		var revoked bool
		var role, companyUUID, userUUID string
		// Concurrent refreshes of one token queue on its row lock here;
		// without it the losers revoke the family all at once and deadlock
		// on its rows.
		query := q.Locking(`SELECT t.used_at, t.revoked, u.role, u.uuid, co.uuid
			FROM refresh_tokens t JOIN users u ON u.id = t.user_id JOIN companies co ON co.id = t.company_id
			WHERE t.jti = ? AND t.user_id = ? AND t.company_id = ?`, "FOR UPDATE OF t")
		err := q.QueryRow(ctx, query, c.ID, c.UserID, c.CompanyID).Scan(&usedAt, &revoked, &role, &userUUID, &companyUUID)
		if errors.Is(err, sql.ErrNoRows) {
			return errRefreshInvalid
		} else if err != nil {
			return err
		}
		if revoked {
			return errRefreshInvalid
		}
		// The conditional update is the claim: of two concurrent refreshes
		// with one token, exactly one sees a row affected.
		res, err := q.Exec(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE jti = ? AND used_at IS NULL AND revoked = ?`,
			s.Now().UnixMilli(), c.ID, false)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 || usedAt.Valid {
			if _, err := q.Exec(ctx, `UPDATE refresh_tokens SET revoked = ? WHERE family = ?`, true, c.Family); err != nil {
				return err
			}
			reused = true
			return nil // commit the revocation, then answer 401
		}
		// The role is read again so that a demoted user's new tokens say so.
		caller := parley.Caller{UserID: c.UserID, UserUUID: userUUID, CompanyID: c.CompanyID, CompanyUUID: companyUUID, Role: role}
		pair, err = s.issue(ctx, q, caller, c.Family)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, errRefreshInvalid
	}
	return pair, nil
}
