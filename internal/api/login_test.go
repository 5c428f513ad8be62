package api

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/auth"
)

// fakeUsers answers from a script of errors and records whether each
// check was deprioritized.
type fakeUsers struct {
	next []error
	low  []bool
}

func (f *fakeUsers) Authenticate(ctx context.Context, login, password string) (parley.Caller, error) {
	f.low = append(f.low, auth.Deprioritized(ctx))
	err := f.next[0]
	f.next = f.next[1:]
	return parley.Caller{}, err
}

// TestLoginSuspects: who waits behind whom at the hash gate. A client with
// a recent wrong password or gate refusal is a suspect, and so is anyone
// asking for a login that failed recently; a client that logged in
// correctly within the hour is not, whatever happens next.
func TestLoginSuspects(t *testing.T) {
	wrong := parley.Errorf(parley.ECREDENTIALS, "Invalid login or password.")
	busy := parley.RateLimited(0, "Too many logins at once; try again in a moment.")
	users := &fakeUsers{next: []error{nil, wrong, wrong, busy, nil, wrong, wrong, nil}}
	l := NewLogins(users, nil, LoginLimits{})
	try := func(client, login string) {
		r := httptest.NewRequest("POST", "/auth", nil)
		r.RemoteAddr = client + ":1234"
		_, _ = l.Authenticate(r, login, "pw")
	}
	try("192.0.2.1", "ann")  // clean: checked first
	try("192.0.2.2", "bob")  // clean, fails
	try("192.0.2.2", "carl") // the client failed: suspect, fails again
	try("192.0.2.3", "dora") // clean, the gate is full
	try("192.0.2.3", "dora") // refused by the gate before: suspect, then succeeds
	try("192.0.2.3", "eve")  // logged in from here within the hour: trusted, fails
	try("192.0.2.3", "eve")  // still trusted
	try("192.0.2.4", "carl") // clean client, but carl failed recently: suspect
	want := []bool{false, false, true, false, true, false, false, true}
	for i := range want {
		if users.low[i] != want[i] {
			t.Errorf("attempt %d: deprioritized %v, want %v", i+1, users.low[i], want[i])
		}
	}
}
