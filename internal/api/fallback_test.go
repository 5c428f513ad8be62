package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parley-cc/parley"
)

func TestFallback(t *testing.T) {
	mux := http.NewServeMux()
	var gotCode string
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		gotCode = parley.ErrorCode(err)
		w.WriteHeader(http.StatusTeapot) // the family's own writer decides the status
	}
	Fallback(mux, "/x/", "test family", []Endpoint{
		{Method: "GET", Path: "/x/items"}, {Method: "POST", Path: "/x/items"},
		{Method: "PUT", Path: "/x/items/{id}"}, {Method: "DELETE", Path: "/x/items/{id}"},
	}, fail)
	for _, c := range []struct {
		method, path, code, allow string
	}{
		{"PATCH", "/x/items", parley.EMETHOD, "GET, POST"},
		{"GET", "/x/items/42", parley.EMETHOD, "PUT, DELETE"},
		{"GET", "/x/items/", parley.ENOTFOUND, ""}, // a parameter is never empty
		{"GET", "/x/items/42/more", parley.ENOTFOUND, ""},
		{"GET", "/x/nothing", parley.ENOTFOUND, ""},
	} {
		gotCode = ""
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if gotCode != c.code || rec.Header().Get("Allow") != c.allow || rec.Code != http.StatusTeapot {
			t.Errorf("%s %s: code %q allow %q status %d; want %q %q", c.method, c.path, gotCode, rec.Header().Get("Allow"), rec.Code, c.code, c.allow)
		}
	}
}
