package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestLoginPage logs an operator in through the login page in Chromium
// and lands on the console.
func TestLoginPage(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Web")
	ctx := browser(t)
	var url string
	err := chromedp.Do(ctx,
		chromedp.Navigate(env.URL()+"/login?next=/console/"),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.OperatorLogin),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`main`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	url, err = chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(url, "/console/") {
		t.Fatalf("after login at %s", url)
	}
}
