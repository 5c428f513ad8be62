package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/ratelimit"
	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// TestLoginPageThrottled: the web login page goes through the login
// limits like the API: after the free failures, even the right password
// is refused and the page says to wait.
func TestLoginPageThrottled(t *testing.T) {
	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Configure: func(c *server.Config) {
		c.Logins = api.LoginLimits{PerLogin: ratelimit.Backoff{Free: 2, Base: time.Hour, Max: time.Hour}}
	}})
	tn := env.NewTenant(t, "Web")
	ctx := browser(t)
	attempt := func(password string) string {
		cRun(t, ctx, "log in",
			chromedp.Navigate(env.URL()+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.OperatorLogin),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)))
		cWait(t, ctx, "an answer", `document.getElementById("error").textContent !== ""`)
		return cEval[string](t, ctx, `document.getElementById("error").textContent`)
	}
	for i := range 2 {
		if msg := attempt("wrong password"); !strings.Contains(msg, "Invalid login or password.") {
			t.Fatalf("failure %d: %q", i+1, msg)
		}
	}
	if msg := attempt(tn.Password); !strings.Contains(msg, "Too many failed logins; try again in ") {
		t.Fatalf("the right password after the failures: %q", msg)
	}
	if loc := cEval[string](t, ctx, `location.pathname`); loc != "/login" {
		t.Fatalf("the page moved on to %s", loc)
	}
}
