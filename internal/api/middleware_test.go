package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-cc/parley/internal/api"
)

func TestObserveRecoversPanics(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	mux := http.NewServeMux()
	api.Route(mux, "GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	srv := httptest.NewServer(api.Observe(log, api.NewMetrics(), mux))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Message, Code string }
	if res.StatusCode != 500 || json.NewDecoder(res.Body).Decode(&body) != nil || body.Code != "internal" {
		t.Fatalf("panic answered %d %+v", res.StatusCode, body)
	}
	if id := res.Header.Get("X-Request-Id"); len(id) < 8 || !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "kaboom") {
		t.Fatalf("panic not logged with its request id %q:\n%s", id, logs.String())
	}
}

func TestRequestIDs(t *testing.T) {
	mux := http.NewServeMux()
	api.Route(mux, "GET /x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(api.Info(r.Context()).ID))
	}))
	h := api.Observe(slog.New(slog.DiscardHandler), api.NewMetrics(), mux)
	for in, keep := range map[string]bool{"abc-123_XYZ.9": true, "short": false, "has space in it": false, strings.Repeat("a", 65): false} {
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("X-Request-Id", in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if got != rec.Body.String() || (got == in) != keep || len(got) < 8 {
			t.Errorf("incoming id %q: got %q (body %q), keep=%v", in, got, rec.Body.String(), keep)
		}
	}
}
