package ext_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/ratelimit"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// syncBuffer is a log sink tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// clientFrom is an HTTP client whose connections come from a loopback
// address of its own (127.0.0.0/8 is all loopback on Linux), so that one
// test can be several clients.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}}
}

type loginAnswer struct {
	Status     int
	RetryAfter string
	Code       string
	Message    string
}

func postLogin(t *testing.T, c *http.Client, base, login, password string) loginAnswer {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v2/ext/auth", nil)
	req.SetBasicAuth(login, password)
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("login %s: %v", login, err)
	}
	defer res.Body.Close()
	var body struct{ Code, Message string }
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("login %s: status %d, not the family's error format: %s", login, res.StatusCode, b)
		}
	}
	return loginAnswer{Status: res.StatusCode, RetryAfter: res.Header.Get("Retry-After"), Code: body.Code, Message: body.Message}
}

// TestLoginBackoff: failed logins of one login are free a few times, then
// each makes the next attempt wait (429, Retry-After, the family's error
// format), the correct password included, so guessing cannot go on at
// speed. A login that exists and one that does not get the very same
// answers. Failures are logged at warn with the login, never the password.
func TestLoginBackoff(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		logs := &syncBuffer{}
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			c.Logins = api.LoginLimits{
				PerLogin:  ratelimit.Backoff{Free: 3, Base: time.Second, Max: time.Minute},
				PerClient: ratelimit.Backoff{Free: 100},
			}
		}})
		ten := env.NewTenant(t, "Acme")
		c, base := env.Client, env.URL()

		var known, unknown []loginAnswer
		for i := range 5 {
			pw := fmt.Sprintf("guess-%d-secret", i)
			known = append(known, postLogin(t, c, base, ten.Login, pw))
			unknown = append(unknown, postLogin(t, c, base, "nobody-"+ten.Login, pw))
		}
		for i := range known {
			if known[i] != unknown[i] {
				t.Errorf("attempt %d: known login %+v, unknown login %+v", i+1, known[i], unknown[i])
			}
		}
		for i, a := range known {
			switch {
			case i < 3 && (a.Status != 422 || a.Code != "bad_credentials" || a.RetryAfter != ""):
				t.Errorf("free failure %d: %+v", i+1, a)
			case i >= 3 && (a.Status != 429 || a.Code != "rate_limited" || a.RetryAfter != "1" ||
				a.Message != "Too many failed logins; try again in 1 second."):
				t.Errorf("failure %d past the free ones: %+v", i+1, a)
			}
		}
		// While it waits, the right password is refused like a wrong one.
		if a := postLogin(t, c, base, ten.Login, ten.Password); a.Status != 429 {
			t.Errorf("correct password while waiting: %+v", a)
		}
		// Another login of the same client is not held up.
		if a := postLogin(t, c, base, ten.OperatorLogin, ten.Password); a.Status != 200 {
			t.Errorf("another login: %+v", a)
		}
		// Once the wait is over, the right password works, and forgives.
		var a loginAnswer
		for a = postLogin(t, c, base, ten.Login, ten.Password); a.Status == 429; a = postLogin(t, c, base, ten.Login, ten.Password) {
			secs, err := strconv.Atoi(a.RetryAfter)
			if err != nil || secs < 1 || secs > 60 {
				t.Fatalf("Retry-After %q", a.RetryAfter)
			}
			time.Sleep(time.Duration(secs) * time.Second)
		}
		if a.Status != 200 {
			t.Fatalf("correct password after the wait: %+v", a)
		}
		if a := postLogin(t, c, base, ten.Login, "wrong again"); a.Status != 422 {
			t.Errorf("a failure after a success is free again: %+v", a)
		}

		out := logs.String()
		for i := range 5 {
			if strings.Contains(out, fmt.Sprintf("guess-%d-secret", i)) {
				t.Fatalf("a password is in the log:\n%s", out)
			}
		}
		if strings.Contains(out, ten.Password) {
			t.Fatalf("the password is in the log")
		}
		if !strings.Contains(out, `level=WARN msg="login failed" login=`+ten.Login) ||
			!strings.Contains(out, `level=WARN msg="login failed" login=nobody-`+ten.Login) ||
			!strings.Contains(out, "login throttled") {
			t.Errorf("failures not logged at warn:\n%s", out)
		}
	})
}

// TestLoginPerClientLimit: one client trying many logins is held up after
// its free failures, even for a correct password of another user; other
// clients are not.
func TestLoginPerClientLimit(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.Logins = api.LoginLimits{PerClient: ratelimit.Backoff{Free: 4, Base: time.Hour, Max: time.Hour}}
		}})
		ten := env.NewTenant(t, "Acme")
		attacker, other := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
		for i := range 4 {
			if a := postLogin(t, attacker, env.URL(), fmt.Sprintf("spray-%d", i), "password1"); a.Status != 422 {
				t.Fatalf("free failure %d: %+v", i+1, a)
			}
		}
		if a := postLogin(t, attacker, env.URL(), "spray-5", "password1"); a.Status != 429 {
			t.Fatalf("fifth failure: %+v", a)
		}
		a := postLogin(t, attacker, env.URL(), ten.Login, ten.Password)
		if a.Status != 429 || a.RetryAfter != "3600" {
			t.Fatalf("correct password from the held-up client: %+v", a)
		}
		if a := postLogin(t, other, env.URL(), ten.Login, ten.Password); a.Status != 200 {
			t.Fatalf("correct password from another client: %+v", a)
		}
	})
}

// TestLoginFloodBounded: a flood of concurrent bad logins from many
// clients (each its own address) computes at most the configured number
// of password hashes at once; past the short queue the rest are refused
// at once with 429 and Retry-After, never with a 5xx; and a correct login
// still succeeds once the flood is over.
func TestLoginFloodBounded(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Configure: func(c *server.Config) {
			c.HashConcurrency, c.HashQueue = 2, 2
		}})
		ten := env.NewTenant(t, "Acme")
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for i := range 100 {
			wg.Go(func() {
				c := clientFrom(fmt.Sprintf("127.0.1.%d", i+1))
				defer c.CloseIdleConnections()
				login := ten.Login // a known login with wrong passwords, and unknown ones
				if i%2 == 1 {
					login = fmt.Sprintf("nobody-%d", i)
				}
				for j := range 3 {
					req, _ := http.NewRequestWithContext(ctx, "POST", env.URL()+"/api/v2/ext/auth", nil)
					req.SetBasicAuth(login, fmt.Sprintf("wrong-%d", j))
					res, err := c.Do(req)
					if err != nil {
						t.Errorf("client %d: %v", i, err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode == 429 && res.Header.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After")
					}
					mu.Lock()
					counts[res.StatusCode]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		st := env.Users.Hashes.Stats()
		t.Logf("answers %v, gate %+v", counts, st)
		if st.PeakRunning > 2 {
			t.Errorf("%d hashes at once, want at most 2", st.PeakRunning)
		}
		if counts[422]+counts[429] != 300 || counts[429] == 0 || counts[422] == 0 {
			t.Errorf("answers %v: want only 422 and 429, both", counts)
		}
		if st.Refused == 0 {
			t.Errorf("the gate refused nothing: %+v", st)
		}
		if a := postLogin(t, env.Client, env.URL(), ten.OperatorLogin, ten.Password); a.Status != 200 {
			t.Errorf("a correct login after the flood: %+v", a)
		}
	})
}
