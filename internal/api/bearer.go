package api

import (
	"net/http"
	"strings"

	"github.com/parley-cc/parley"
)

// TokenParser checks an access token; *auth.TokenService is one.
type TokenParser interface {
	ParseAccess(token string) (parley.Caller, error)
}

// ErrorWriter writes an error in one API family's format.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Bearer is the one authentication middleware of every API family: it
// requires "Authorization: Bearer <access token>" and puts the caller, and
// so the tenant, into the request context. Failures are written by the
// family's own error writer.
func Bearer(tokens TokenParser, fail ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
			fail(w, r, parley.Errorf(parley.EUNAUTHORIZED, "A Bearer token is required."))
			return
		}
		caller, err := tokens.ParseAccess(strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_token"`)
			fail(w, r, err)
			return
		}
		Info(r.Context()).CompanyID = caller.CompanyID
		next.ServeHTTP(w, r.WithContext(parley.WithCaller(r.Context(), caller)))
	})
}
