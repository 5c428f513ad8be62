package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
)

type testFamily struct{ failures []string }

func (h *testFamily) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.failures = append(h.failures, parley.ErrorCode(err))
	w.WriteHeader(api.HTTPStatus(parley.ErrorCode(err)))
}

func (h *testFamily) echo(w http.ResponseWriter, r *http.Request) error {
	b, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	_, _ = w.Write(b)
	return nil
}

// TestFamilyRegister: routes know their pattern; Auth guards all but the
// public routes; the family's body limit applies unless a route sets its
// own; Wrap wraps every route; unmatched paths below the mount get the
// family's errors.
func TestFamilyRegister(t *testing.T) {
	f := &api.Family[testFamily]{Name: "test family", Prefix: "/t/{tenant}", Mount: "/t/", BodyLimit: 4,
		Auth: func(h *testFamily, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "" {
					h.fail(w, r, parley.Errorf(parley.EUNAUTHORIZED, "no"))
					return
				}
				next.ServeHTTP(w, r)
			})
		},
		Fail: (*testFamily).fail,
		Wrap: func(_ *testFamily, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Family", "test")
				next.ServeHTTP(w, r)
			})
		}}
	routes := f.Routes([]api.RouteSpec[testFamily]{
		{Method: "POST", Path: "/open", Public: true, Handle: (*testFamily).echo},
		{Method: "POST", Path: "/closed", Handle: (*testFamily).echo},
		{Method: "POST", Path: "/big", Public: true, BodyLimit: 64, Handle: (*testFamily).echo},
	})
	if got := routes[0].Pattern(); got != "POST /t/{tenant}/open" {
		t.Fatalf("pattern %q", got)
	}
	h := &testFamily{}
	mux := http.NewServeMux()
	f.Register(mux, h, routes)
	for _, c := range []struct {
		path, body string
		auth       bool
		status     int
	}{
		{"/t/a/open", "1234", false, 200},
		{"/t/a/open", "12345", false, 413}, // over the family's limit
		{"/t/a/big", "12345", false, 200},  // the route's own limit
		{"/t/a/closed", "1", false, 401},
		{"/t/a/closed", "1", true, 200},
		{"/t/a/nothing", "", true, 404},
	} {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		if c.auth {
			req.Header.Set("Authorization", "yes")
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != c.status {
			t.Errorf("%s %q: %d %s, want %d", c.path, c.body, rec.Code, body, c.status)
		}
		if c.status == 200 && string(body) != c.body {
			t.Errorf("%s: echoed %q", c.path, body)
		}
		if c.status != 404 && rec.Header().Get("X-Family") != "test" {
			t.Errorf("%s: not wrapped", c.path)
		}
	}
	if len(h.failures) != 3 {
		t.Errorf("failures written by the family: %v, want 3", h.failures)
	}
}
