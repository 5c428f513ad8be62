// Package api holds what every API family's HTTP adapter shares: request
// ids, logging, metrics, panic recovery, body limits, bearer authentication
// and JSON decoding. Each family turns domain errors into its own format.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// RequestInfo is filled in as a request passes through the stack, so that
// the outermost middleware can log and count what the inner ones learned.
type RequestInfo struct {
	ID        string
	Route     string // the ServeMux pattern, e.g. "GET /api/v2/ext/company-agents"
	CompanyID int64
	Err       error // the error a handler answered with, for the log
}

type infoKey struct{}

// Info returns the request's info; a zero value outside the stack.
func Info(ctx context.Context) *RequestInfo {
	if ri, ok := ctx.Value(infoKey{}).(*RequestInfo); ok {
		return ri
	}
	return &RequestInfo{}
}

func newRequestID(incoming string) string {
	if n := len(incoming); n >= 8 && n <= 64 && strings.Trim(incoming, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return incoming
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Route registers h on mux under pattern and records the pattern in the
// request info, which metrics and logs use as a bounded label.
func Route(mux *http.ServeMux, pattern string, h http.Handler) {
	mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Info(r.Context()).Route = pattern
		h.ServeHTTP(w, r)
	}))
}
