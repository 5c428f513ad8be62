package api

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/ratelimit"
)

// Authenticator checks a login and password; *auth.UserService is one.
type Authenticator interface {
	Authenticate(ctx context.Context, login, password string) (parley.Caller, error)
}

// LoginLimits bound the failed logins of one login and of one client (an
// IPv4 address or an IPv6 /64). Zero fields take DefaultLoginLimits.
type LoginLimits struct {
	PerLogin, PerClient ratelimit.Backoff
	// NoClientLimit turns the per-client limit off: behind a reverse
	// proxy every client is the proxy's address.
	NoClientLimit bool
}

// DefaultLoginLimits: after 5 failures of a login or 20 of a client, the
// next attempt waits 1 s, and each further failure doubles the wait, up
// to 15 min.
// Failures are forgotten an hour after the last one.
var DefaultLoginLimits = LoginLimits{
	PerLogin:  ratelimit.Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour},
	PerClient: ratelimit.Backoff{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour},
}

// Logins is the one way an API family checks a login and password (the
// External API's /auth, which the web login page also uses). In front of
// the password check it keeps the failures of each login and each client:
// past a few, the next attempt has to wait, twice as long after each
// further failure. Whatever it answers is the same for logins that exist
// and logins that do not: the same codes, messages and waits, and a
// password check of the same cost. Failures are logged at warn with the
// login and the client, never the password.
type Logins struct {
	users     Authenticator
	log       *slog.Logger
	perLogin  *ratelimit.Failures
	perClient *ratelimit.Failures // nil: not limited per client
	// misses and trusted tell people from floods. A client with a recent
	// wrong password or refusal, or asking for a login with recent
	// failures, is a suspect, and its password check waits behind
	// everyone else's (auth.Deprioritize), unless it logged in correctly
	// within the last hour (trusted): a client that keeps guessing, or
	// keeps asking while the gate is full, delays itself, not the people
	// who log in from where they usually do.
	misses, trusted *ratelimit.Failures
}

// suspicion and trust only count; they impose no wait.
var (
	suspicion = ratelimit.Backoff{Free: math.MaxInt32, Base: time.Second, Max: time.Second, Forget: 10 * time.Minute}
	trust     = ratelimit.Backoff{Free: math.MaxInt32, Base: time.Second, Max: time.Second, Forget: time.Hour}
)

// NewLogins returns the login checker of a server.
func NewLogins(users Authenticator, log *slog.Logger, limits LoginLimits) *Logins {
	if log == nil {
		log = slog.Default()
	}
	l := &Logins{users: users, log: log,
		perLogin: ratelimit.NewFailures(limits.PerLogin.Or(DefaultLoginLimits.PerLogin)),
		misses:   ratelimit.NewFailures(suspicion),
		trusted:  ratelimit.NewFailures(trust)}
	if !limits.NoClientLimit {
		l.perClient = ratelimit.NewFailures(limits.PerClient.Or(DefaultLoginLimits.PerClient))
	}
	return l
}

// Authenticate checks login and password for request r. Beyond the errors
// of the Authenticator, it answers ERATELIMITED (with a RetryAfter) while
// the login or the client has to wait.
func (l *Logins) Authenticate(r *http.Request, login, password string) (parley.Caller, error) {
	// Logins are keyed by a digest: every key has the same small size,
	// whatever an attacker sends.
	sum := sha256.Sum256([]byte(login))
	loginKey := string(sum[:16])
	client := ratelimit.ClientKey(r)
	suspect := l.trusted.Count(client) == 0 && (l.misses.Count(client) > 0 || l.perLogin.Count(loginKey) > 0)
	// Counted as failed as it passes, so that concurrent guesses see each
	// other (a burst of them cannot all pass before the first has
	// failed); taken back if the check succeeds or is not made.
	// The client first: an attempt refused for its client must not count
	// against the login (it would let a blocked client keep a victim's
	// login waiting).
	var wait time.Duration
	if l.perClient != nil {
		wait = l.perClient.Try(client)
	}
	if wait == 0 {
		if wait = l.perLogin.Try(loginKey); wait > 0 && l.perClient != nil {
			l.perClient.Refund(client)
		}
	}
	if wait > 0 {
		l.misses.Fail(client)
		l.log.Debug("login refused: waiting after failures", "login", parley.Clip(login), "client", client,
			"request_id", Info(r.Context()).ID, "wait", wait.Round(time.Second))
		return parley.Caller{}, tooManyFailures(wait)
	}
	ctx := r.Context()
	if suspect {
		ctx = auth.Deprioritize(ctx) // its hash waits behind other people's
	}
	caller, err := l.users.Authenticate(ctx, login, password)
	switch parley.ErrorCode(err) {
	case "":
		l.perLogin.Forgive(loginKey)
		if l.perClient != nil {
			l.perClient.Refund(client)
		}
		l.misses.Forgive(client)
		l.trusted.Fail(client) // counts successes
		return caller, nil
	case parley.ECREDENTIALS:
		l.misses.Fail(client)
		l.log.Warn("login failed", "login", parley.Clip(login), "client", client, "request_id", Info(r.Context()).ID)
		if w := l.perLogin.Wait(loginKey); w > 0 {
			l.log.Warn("login throttled", "login", parley.Clip(login), "wait", w.Round(time.Second))
		}
		if l.perClient != nil {
			if w := l.perClient.Wait(client); w > 0 {
				l.log.Warn("login client throttled", "client", client, "wait", w.Round(time.Second))
			}
		}
		return caller, err
	case parley.ERATELIMITED:
		// The hash gate was full: not a guess, so the login is not
		// charged. The client is: one that keeps asking while Parley is
		// busy ends up waiting like one that keeps failing, instead of
		// keeping the gate full at no cost.
		l.perLogin.Refund(loginKey)
		l.misses.Fail(client)
		return caller, err
	default:
		// Not judged (the database failed): not a guess.
		l.perLogin.Refund(loginKey)
		if l.perClient != nil {
			l.perClient.Refund(client)
		}
		return caller, err
	}
}

// tooManyFailures is the refusal while a login or client waits. It does
// not say which of the two, nor whether the login exists.
func tooManyFailures(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return parley.RateLimited(time.Duration(secs)*time.Second,
		"Too many failed logins; try again in %s.", plural(secs, "second"))
}

func plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
