// Package jwt is the one place where Parley signs and verifies JSON Web
// Tokens: the access and refresh tokens (internal/auth), the end-user
// stream and widget tokens (internal/realtime) and the custom data a
// company signs with its secret (internal/chat). Every token is HS256; the
// algorithm is pinned, so "none" and RS/ES key confusions are refused, exp
// is required and iat, when present, must not be in the future.
package jwt

import (
	"errors"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Claims are the registered claims (iss, sub, aud, exp, iat, jti). A
// token's claims type embeds them and adds its own.
type Claims = gojwt.RegisteredClaims

// Audience is the aud claim.
type Audience = gojwt.ClaimStrings

// Date is a time as a claim (seconds since the epoch).
func Date(t time.Time) *gojwt.NumericDate { return gojwt.NewNumericDate(t) }

// Sign signs claims (a struct embedding Claims) with key.
func Sign(key []byte, claims gojwt.Claims) (string, error) {
	return gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString(key)
}

// Rules are what a Verifier checks besides the signature and exp.
type Rules struct {
	Issuer   string // required iss; "" checks none
	Audience string // required aud; "" checks none
	// Leeway tolerates clock skew on exp, nbf and iat.
	Leeway time.Duration
	// RequireIssuedAt refuses tokens without iat.
	RequireIssuedAt bool
	// Now is the verifier's clock; nil is time.Now.
	Now func() time.Time
}

// Verifier checks tokens against one set of rules. It is safe for
// concurrent use.
type Verifier struct {
	parser *gojwt.Parser
	rules  Rules
}

// NewVerifier builds a verifier of the rules.
func NewVerifier(r Rules) *Verifier {
	opts := []gojwt.ParserOption{
		gojwt.WithValidMethods([]string{gojwt.SigningMethodHS256.Alg()}),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithLeeway(r.Leeway),
	}
	if r.Issuer != "" {
		opts = append(opts, gojwt.WithIssuer(r.Issuer))
	}
	if r.Audience != "" {
		opts = append(opts, gojwt.WithAudience(r.Audience))
	}
	if r.Now != nil {
		opts = append(opts, gojwt.WithTimeFunc(r.Now))
	}
	return &Verifier{parser: gojwt.NewParser(opts...), rules: r}
}

// ErrNoIssuedAt is Verify's error for a token without iat when the rules
// require one.
var ErrNoIssuedAt = errors.New("jwt: token has no iat claim")

// Verify checks token's signature under key and the rules, and decodes its
// claims into claims (a pointer to a struct embedding Claims). The error
// says what is wrong, for logs and for callers who show it; it is never a
// parley.Error: each caller decides what a bad token means to its client.
func (v *Verifier) Verify(token string, key []byte, claims gojwt.Claims) error {
	if _, err := v.parser.ParseWithClaims(token, claims, func(*gojwt.Token) (any, error) { return key, nil }); err != nil {
		return err
	}
	if v.rules.RequireIssuedAt {
		if iat, err := claims.GetIssuedAt(); err != nil || iat == nil {
			return ErrNoIssuedAt
		}
	}
	return nil
}
