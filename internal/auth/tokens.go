package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/jwt"
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
	jwt.Claims
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

	key       []byte
	verifiers map[string]*jwt.Verifier // by audience

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
	s := &TokenService{DB: db, Now: time.Now, key: key, verified: map[string]verifiedToken{}, verifiers: map[string]*jwt.Verifier{}}
	for _, aud := range []string{accessAudience, refreshAudience} {
		// The clock is read through s, so that tests may replace s.Now.
		s.verifiers[aud] = jwt.NewVerifier(jwt.Rules{Issuer: issuer, Audience: aud, Leeway: leeway,
			Now: func() time.Time { return s.Now() }})
	}
	return s, nil
}

// leeway tolerates clock skew between nodes on exp and iat.
const leeway = 5 * time.Second

func (s *TokenService) parse(token, audience string) (*claims, error) {
	c := &claims{}
	if err := s.verifiers[audience].Verify(token, s.key, c); err != nil {
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
		now := s.Now()
		// Expired refresh tokens are useless; drop them while we hold the lock.
		if err := purgeRefreshTokens(ctx, q, now.Add(-RefreshRetention), nil); err != nil {
			return err
		}
		var err error
		pair, err = s.issue(ctx, q, caller, uuid.NewString(), now)
		return err
	})
	return pair, err
}

// RefreshRetention is how long an expired refresh token is kept: a refresh
// that comes a little late is told "invalid", like any other, and the row
// serves nothing after that.
const RefreshRetention = time.Hour

// PurgeRefreshTokens deletes the refresh tokens of every company expired
// before before (the janitor passes now - RefreshRetention).
func (s *TokenService) PurgeRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.DB.Write(ctx, func(q store.Querier) error {
		return purgeRefreshTokens(ctx, q, before, &n)
	})
	return n, err
}

func purgeRefreshTokens(ctx context.Context, q store.Querier, before time.Time, purged *int64) error {
	res, err := q.Exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ?`, before.UnixMilli())
	if err != nil || purged == nil {
		return err
	}
	*purged, err = res.RowsAffected()
	return err
}

// issue signs a new pair for c in family, at the transaction's time now,
// and stores its refresh token.
func (s *TokenService) issue(ctx context.Context, q store.Querier, c parley.Caller, family string, now time.Time) (*Pair, error) {
	base := claims{UserID: c.UserID, CompanyID: c.CompanyID, CompanyUUID: c.CompanyUUID, Role: c.Role}

	access := base
	access.Type = "access"
	access.Claims = jwt.Claims{
		Issuer: issuer, Subject: c.UserUUID, Audience: jwt.Audience{accessAudience},
		IssuedAt: jwt.Date(now), ExpiresAt: jwt.Date(now.Add(AccessTTL)), ID: uuid.NewString(),
	}
	refresh := base
	refresh.Type = "refresh"
	refresh.Family = family
	refresh.Claims = jwt.Claims{
		Issuer: issuer, Subject: c.UserUUID, Audience: jwt.Audience{refreshAudience},
		IssuedAt: jwt.Date(now), ExpiresAt: jwt.Date(now.Add(RefreshTTL)), ID: uuid.NewString(),
	}
	at, err := jwt.Sign(s.key, access)
	if err != nil {
		return nil, err
	}
	rt, err := jwt.Sign(s.key, refresh)
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
		now := s.Now()
		var usedAt *int64
		var revoked bool
		var role, companyUUID, userUUID string
		// Concurrent refreshes of one token queue on its row lock here;
		// without it the losers revoke the family all at once and deadlock
		// on its rows.
		query := q.Locking(`SELECT t.used_at, t.revoked, u.role, u.uuid, co.uuid
			FROM refresh_tokens t JOIN users u ON u.id = t.user_id JOIN companies co ON co.id = t.company_id
			WHERE t.jti = ? AND t.user_id = ? AND t.company_id = ?`, "FOR UPDATE OF t")
		err := q.QueryRow(ctx, query, c.ID, c.UserID, c.CompanyID).Scan(&usedAt, &revoked, &role, &userUUID, &companyUUID)
		if errors.Is(err, store.ErrNoRows) {
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
			now.UnixMilli(), c.ID, false)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 || usedAt != nil {
			if _, err := q.Exec(ctx, `UPDATE refresh_tokens SET revoked = ? WHERE family = ?`, true, c.Family); err != nil {
				return err
			}
			reused = true
			return nil // commit the revocation, then answer 401
		}
		// The role is read again so that a demoted user's new tokens say so.
		caller := parley.Caller{UserID: c.UserID, UserUUID: userUUID, CompanyID: c.CompanyID, CompanyUUID: companyUUID, Role: role}
		pair, err = s.issue(ctx, q, caller, c.Family, now)
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
