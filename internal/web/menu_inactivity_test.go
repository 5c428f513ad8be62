package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// menuInactivity reads a menu's inactivity_minutes through the API (nil:
// the server's default).
func menuInactivity(t *testing.T, env *testenv.Env, tn *testenv.Tenant, name string) *int {
	t.Helper()
	var menus struct {
		Menus []struct {
			Name              string `json:"name"`
			InactivityMinutes *int   `json:"inactivity_minutes"`
		} `json:"menus"`
	}
	env.Do(t, "GET", "/apps/api/v1/menus", tn.Token, nil).JSON(t, &menus)
	for _, m := range menus.Menus {
		if m.Name == name {
			return m.InactivityMinutes
		}
	}
	t.Fatalf("no menu %q in %+v", name, menus)
	return nil
}

func minutes(p *int) string {
	if p == nil {
		return "default"
	}
	return fmt.Sprint(*p)
}

// TestMenuInactivity: on the menus page an admin creates a menu with an
// inactivity rule, changes it, sets it to never (0) and back to the
// server's default (empty); a value out of range or not whole is refused
// on the page with a message and never reaches the API.
func TestMenuInactivity(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Quiet")
	ctx := isolated(t, browser(t))
	logIn(t, ctx, env, tn.Login, tn.Password)
	waitJS(t, ctx, "the supervisor pages", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)
	view(t, ctx, "#/menus", "menus")

	// Refused when created with a bad rule: no menu is made.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#menu-form input[name=name]`), "Support"),
		setValue(`#menu-form input[name=inactivity_minutes]`, "-3"),
		chromedp.Click(chromedp.CSS(`#menu-form button[type=submit]`)))
	waitJS(t, ctx, "the refusal", `document.querySelector("main .error[role=alert]").textContent.includes("whole number from 0 to 10080")`)
	if n := js[int](t, ctx, `document.querySelectorAll("#menus-list input[data-menu]").length`); n != 0 {
		t.Fatalf("%d menus after a refused create", n)
	}

	// Created with 15 minutes.
	do(t, ctx, setValue(`#menu-form input[name=inactivity_minutes]`, "15"), chromedp.Click(chromedp.CSS(`#menu-form button[type=submit]`)))
	waitJS(t, ctx, "the menu", `!!document.querySelector("#menus-list input[data-inactivity]") && document.querySelector("#menus-list input[data-inactivity]").value === "15"`)
	if got := minutes(menuInactivity(t, env, tn, "Support")); got != "15" {
		t.Fatalf("created with inactivity %s, want 15", got)
	}
	shoot(t, ctx, "manage-menus-inactivity.png")

	set := func(v string) {
		t.Helper()
		do(t, ctx, setValue(`#menus-list input[data-inactivity]`, v))
	}
	// Changed to 45, then never (0), then the default (empty).
	for _, c := range []struct{ in, want, said string }{
		{"45", "45", "after 45 silent minutes"},
		{"0", "0", "never closed for silence"},
		{"", "default", "follows the server's default"},
	} {
		set(c.in)
		waitJS(t, ctx, "saved "+c.in, `document.getElementById("status").textContent.includes(`+cJS(c.said)+`)`)
		if got := minutes(menuInactivity(t, env, tn, "Support")); got != c.want {
			t.Fatalf("after %q inactivity is %s, want %s", c.in, got, c.want)
		}
	}

	// Out of range and not whole: refused on the page, the rule unchanged.
	for _, bad := range []string{"10081", "2.5", "-1"} {
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector("main .error[role=alert]").textContent = ""`))
		set(bad)
		waitJS(t, ctx, "the refusal of "+bad, `document.querySelector("main .error[role=alert]").textContent.includes("whole number from 0 to 10080")`)
		if got := minutes(menuInactivity(t, env, tn, "Support")); got != "default" {
			t.Fatalf("after %q inactivity is %s, want default", bad, got)
		}
	}
}
