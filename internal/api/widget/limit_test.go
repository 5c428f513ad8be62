package widget

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStartLimitIPv6Prefix: chat starts are limited per client, and an
// IPv6 client is its /64, not each address of it. A single host is
// routinely given a whole /64, so keying on the full address let one
// client start chats without limit (and grow the limiter's map with every
// address it picked).
func TestStartLimitIPv6Prefix(t *testing.T) {
	mux := http.NewServeMux()
	(&Handler{}).Register(mux)
	limited := false
	for i := range 20 {
		// A malformed project UUID is refused after the limiter, before
		// any store is touched.
		r := httptest.NewRequest("POST", "/v1/widget/projects/not-a-uuid/chats", strings.NewReader(`{}`))
		r.RemoteAddr = fmt.Sprintf("[2001:db8:1:2::%x]:4242", i+1)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code == http.StatusTooManyRequests {
			limited = true
			break
		}
		if w.Code != http.StatusBadRequest {
			t.Fatalf("start %d: status %d: %s", i, w.Code, w.Body)
		}
	}
	if !limited {
		t.Fatal("20 chat starts from one IPv6 /64 (distinct addresses) were not rate-limited")
	}
	// Another /64, and IPv4, have their own budgets.
	for _, addr := range []string{"[2001:db8:1:3::1]:1", "192.0.2.7:1", "[::ffff:192.0.2.8]:1"} {
		r := httptest.NewRequest("POST", "/v1/widget/projects/not-a-uuid/chats", strings.NewReader(`{}`))
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400 (own budget): %s", addr, w.Code, w.Body)
		}
	}
}
