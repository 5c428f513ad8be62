package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestPagesFitAPhone opens every staff page at a phone's width (390 px)
// after logging in: nothing may overflow sideways, and each page's main
// controls stay on screen.
func TestPagesFitAPhone(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Phone")
	for _, tc := range []struct {
		page, login, ready string
		views              []string
	}{
		{"/console/", tn.OperatorLogin, `document.querySelector("main")`, nil},
		{"/supervisor/", tn.Login, `document.querySelector("main").dataset.ready === "agents"`,
			[]string{"#/script", "#/upload", "#/queue", "#/stats", "#/live", "#/users", "#/operators", "#/menus", "#/projects"}},
	} {
		t.Run(strings.Trim(tc.page, "/"), func(t *testing.T) {
			ctx := isolated(t, browser(t))
			do(t, ctx,
				chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
				chromedp.Navigate(env.URL()+tc.page),
				chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
				chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tc.login),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
				chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			)
			waitJS(t, ctx, "the page", tc.ready)
			check := func(where string) {
				overflow := js[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`)
				if overflow > 1 {
					t.Errorf("%s overflows a 390 px screen by %.0f px", where, overflow)
				}
			}
			check(tc.page)
			if tc.page == "/supervisor/" {
				// The views' links stay one row (it scrolls sideways), not three.
				if rows := js[float64](t, ctx, `document.getElementById("nav").getBoundingClientRect().height / document.querySelector("#nav a").getBoundingClientRect().height`); rows >= 1.5 {
					t.Errorf("the supervisor's navigation wraps: %.1f rows high", rows)
				}
			}
			shoot(t, ctx, strings.Trim(tc.page, "/")+"-phone.png")
			for _, v := range tc.views {
				name := strings.TrimPrefix(v, "#/")
				view(t, ctx, v, name)
				check(tc.page + v)
			}
		})
	}
}
