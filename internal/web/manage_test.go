package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// logIn logs a user in through /login with no ?next=, so the page chooses
// where they land.
func logIn(t *testing.T, ctx context.Context, env *testenv.Env, login, password string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(env.URL()+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
}

// setValue sets a form control's value and fires change, as a person
// picking an option does.
func setValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector(` + cJS(sel) + `); e.value = ` + cJS(value) + `; e.dispatchEvent(new Event("change")); })()`)
}

// TestLandingByRole: after logging in without a ?next=, an operator lands
// in the console and an API user on the supervisor pages; each wrong page
// tells them in plain words where to go instead of the API's 403 text.
func TestLandingByRole(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Land")
	root := browser(t)
	op := isolated(t, root)
	logIn(t, op, env, tn.OperatorLogin, tn.Password)
	waitJS(t, op, "the console", `location.pathname === "/console/"`)
	do(t, op, chromedp.Navigate(env.URL()+"/supervisor/"))
	waitJS(t, op, "the wrong-role notice", `document.getElementById("wrong-role")`)
	if text := js[string](t, op, `document.getElementById("wrong-role").innerText`); strings.Contains(text, "External API") || !strings.Contains(text, "console") {
		t.Fatalf("operator on the supervisor pages reads %q", text)
	}
	admin := isolated(t, root)
	logIn(t, admin, env, tn.Login, tn.Password)
	waitJS(t, admin, "the supervisor pages", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)
	do(t, admin, chromedp.Navigate(env.URL()+"/console/"))
	waitJS(t, admin, "the wrong-role notice", `document.getElementById("wrong-role")`)
	if text := js[string](t, admin, `document.getElementById("wrong-role").innerText`); strings.Contains(text, "Only operator users") || !strings.Contains(text, "supervisor") {
		t.Fatalf("admin in the console reads %q", text)
	}
}

// TestManagePages: an API user creates a user and resets its password, an
// operator and the menus it serves, a menu deleted after a confirmation
// (cancelled once), and a project whose embed snippet is shown; then
// switches the pages to Russian (kept across a reload) and sees them dark
// when the system asks for it.
func TestManagePages(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Mgr")
	ctx := isolated(t, browser(t))
	chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			t.Logf("page exception: %s %v", e.ExceptionDetails.Text, e.ExceptionDetails.Exception.Description)
		}
	})
	logIn(t, ctx, env, tn.Login, tn.Password)
	waitJS(t, ctx, "the supervisor pages", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)

	// Users: create an operator user, then reset its password (confirmed).
	view(t, ctx, "#/users", "users")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#user-form input[name=login]`), "mgr-olga"),
		chromedp.SendKeys(chromedp.CSS(`#user-form input[name=password]`), "first password"),
		setValue(`#user-form select[name=role]`, "operator"),
		chromedp.Click(chromedp.CSS(`#user-form button[type=submit]`)),
	)
	waitJS(t, ctx, "the new user", pageHas("#users-list td", "mgr-olga"))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#users-list tr")].find((r) => r.textContent.includes("mgr-olga")).querySelector("[data-reset]").click()`))
	waitJS(t, ctx, "the confirmation", `document.querySelector("dialog#confirm") && document.querySelector("dialog#confirm").open`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#confirm-ok`)))
	waitJS(t, ctx, "the new password", `document.getElementById("new-password")`)
	pw := js[string](t, ctx, `document.getElementById("new-password").textContent`)
	if len(pw) != 16 {
		t.Fatalf("generated password %q", pw)
	}
	if tok, _ := env.Login(t, "mgr-olga", pw); tok == "" {
		t.Fatal("the shown password does not log in")
	}
	shoot(t, ctx, "manage-users.png")

	// Menus: create two; delete one, cancelling the first confirmation.
	view(t, ctx, "#/menus", "menus")
	for _, name := range []string{"Billing", "Sales"} {
		do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#menu-form input[name=name]`), name), chromedp.Click(chromedp.CSS(`#menu-form button[type=submit]`)))
		waitJS(t, ctx, "menu "+name, `[...document.querySelectorAll("#menus-list input[data-menu]")].some((i) => i.value === `+cJS(name)+`)`)
	}
	shoot(t, ctx, "manage-menus.png")
	deleteBilling := chromedp.Evaluate[chromedp.Void](`document.querySelector("[aria-label='Delete menu Billing']").click()`)
	do(t, ctx, deleteBilling)
	waitJS(t, ctx, "the confirmation", `document.querySelector("dialog#confirm") && document.querySelector("dialog#confirm").open && document.getElementById("confirm-text").textContent.includes("Billing")`)
	shoot(t, ctx, "manage-confirm.png")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#confirm-cancel`)))
	waitJS(t, ctx, "the dialog closed", `!document.querySelector("dialog#confirm")`)
	var menus struct {
		Menus []struct {
			ID          int64   `json:"id"`
			Name        string  `json:"name"`
			OperatorIDs []int64 `json:"operator_ids"`
		} `json:"menus"`
	}
	env.Do(t, "GET", "/apps/api/v1/menus", tn.Token, nil).JSON(t, &menus)
	if len(menus.Menus) != 2 {
		t.Fatalf("a cancelled delete deleted: %+v", menus)
	}
	do(t, ctx, deleteBilling)
	waitJS(t, ctx, "the confirmation", `document.querySelector("dialog#confirm") && document.querySelector("dialog#confirm").open`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#confirm-ok`)))
	waitJS(t, ctx, "Billing gone", `![...document.querySelectorAll("#menus-list input[data-menu]")].some((i) => i.value === "Billing")`)
	env.Do(t, "GET", "/apps/api/v1/menus", tn.Token, nil).JSON(t, &menus)
	if len(menus.Menus) != 1 || menus.Menus[0].Name != "Sales" {
		t.Fatalf("menus after the delete: %+v", menus)
	}

	// Operators: create one, give it capacity and the Sales menu.
	view(t, ctx, "#/operators", "operators")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#operator-form input[name=name]`), "Pavel"), chromedp.Click(chromedp.CSS(`#operator-form button[type=submit]`)))
	waitJS(t, ctx, "Pavel", pageHas("#operators-list td", "Pavel"))
	do(t, ctx, setValue(`[aria-label='Most chats at once for Pavel']`, "7"))
	waitJS(t, ctx, "capacity saved", pageHas("#status", "Saved for Pavel"))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("status").textContent = ""`),
		chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#operators-list tr")].find((r) => r.textContent.includes("Pavel")).querySelector("label.check input").click()`))
	waitJS(t, ctx, "the menu saved", pageHas("#status", "Saved for Pavel"))
	var ops struct {
		Operators []struct {
			ID       int64  `json:"operator_id"`
			Name     string `json:"name"`
			Capacity int    `json:"capacity"`
		} `json:"operators"`
	}
	env.Do(t, "GET", "/v1/operators", tn.Token, nil).JSON(t, &ops)
	pavel := int64(0)
	for _, o := range ops.Operators {
		if o.Name == "Pavel" && o.Capacity == 7 {
			pavel = o.ID
		}
	}
	env.Do(t, "GET", "/apps/api/v1/menus", tn.Token, nil).JSON(t, &menus)
	if pavel == 0 || len(menus.Menus[0].OperatorIDs) != 1 || menus.Menus[0].OperatorIDs[0] != pavel {
		t.Fatalf("Pavel (%d) with capacity 7 serving Sales: operators %+v, menus %+v", pavel, ops, menus)
	}
	shoot(t, ctx, "manage-operators.png")

	// A user moved off the operator role: the page says so instead of
	// offering a presence the API would refuse.
	var users struct {
		Users []struct {
			ID    int64  `json:"user_id"`
			Login string `json:"login"`
		} `json:"users"`
	}
	env.Do(t, "GET", "/v1/users", tn.Token, nil).JSON(t, &users)
	olga := int64(0)
	for _, u := range users.Users {
		if u.Login == "mgr-olga" {
			olga = u.ID
		}
	}
	if r := env.Do(t, "PATCH", fmt.Sprintf("/v1/users/%d", olga), tn.Token, map[string]any{"role": "api"}); r.Status != 200 {
		t.Fatalf("mgr-olga (%d) to the api role: %d", olga, r.Status)
	}
	view(t, ctx, "#/users", "users")
	view(t, ctx, "#/operators", "operators")
	olgaRow := `[...document.querySelectorAll("#operators-list tr")].find((r) => r.textContent.includes("mgr-olga"))`
	waitJS(t, ctx, "mgr-olga marked", olgaRow+` && `+olgaRow+`.textContent.includes("Not an operator any more") && !`+olgaRow+`.querySelector("select")`)

	// Projects: create one on Sales; its embed snippet is on the page.
	view(t, ctx, "#/projects", "projects")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#project-form input[name=name]`), "Shop site"),
		setValue(`#project-form select[name=menu]`, fmt.Sprint(menus.Menus[0].ID)),
		chromedp.Click(chromedp.CSS(`#project-form button[type=submit]`)))
	waitJS(t, ctx, "the project", pageHas("#projects-list h3", "Shop site"))
	var projects struct {
		Projects []struct {
			UUID string `json:"project_uuid"`
			Name string `json:"name"`
		} `json:"projects"`
	}
	env.Do(t, "GET", "/apps/api/v1/projects", tn.Token, nil).JSON(t, &projects)
	want := `<script src="` + env.URL() + `/widget.js" data-project="` + projects.Projects[len(projects.Projects)-1].UUID + `" async></script>`
	if got := js[string](t, ctx, `document.querySelector("#projects-list article:last-child textarea.snippet").value`); got != want {
		t.Fatalf("embed snippet %q, want %q", got, want)
	}
	if !js[bool](t, ctx, `!!document.querySelector("#projects-list article:last-child button.copy")`) {
		t.Fatal("no Copy button beside the snippet")
	}
	shoot(t, ctx, "manage-projects.png")

	// Russian, kept across a reload.
	do(t, ctx, setValue(`#lang`, "ru"))
	waitJS(t, ctx, "Russian", `document.querySelector("#nav a[data-view=users]").textContent === "Пользователи" && document.querySelector("main").dataset.ready === "projects" && document.querySelector("#project-form button").textContent === "Создать проект"`)
	do(t, ctx, chromedp.Reload())
	waitJS(t, ctx, "Russian after a reload", `document.documentElement.lang === "ru" && document.querySelector("#logout").textContent === "Выйти" && document.querySelector("main").dataset.ready === "projects"`)
	shoot(t, ctx, "manage-projects-ru.png")
	do(t, ctx, setValue(`#lang`, "en"))
	waitJS(t, ctx, "English", `document.querySelector("#logout").textContent === "Log out"`)

	// Dark mode: the page's background follows the system's scheme.
	light := js[string](t, ctx, `getComputedStyle(document.documentElement).backgroundColor`)
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "dark", `getComputedStyle(document.documentElement).backgroundColor === "rgb(18, 22, 28)"`)
	if light == "rgb(18, 22, 28)" {
		t.Fatalf("the light page was already dark: %s", light)
	}
	shoot(t, ctx, "manage-projects-dark.png")
}

// TestConsoleActionsInReach: at a phone's width, an operator who scrolls
// down to the reply box still has the chat's actions (Finish) on screen.
func TestConsoleActionsInReach(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Reach")
	var client struct {
		ID int64 `json:"client_id"`
	}
	cMust(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "Ivan"}), 201).JSON(t, &client)
	var chat struct {
		ID int64 `json:"chat_id"`
	}
	cMust(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": client.ID}), 201).JSON(t, &chat)
	cMust(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/chats/%d", chat.ID), tn.OperatorToken, map[string]any{"status": "assigned"}), 200)
	for i := range 20 {
		cMust(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", chat.ID), tn.OperatorToken, map[string]any{"content": fmt.Sprintf("line %d", i)}), 201)
	}
	ctx := isolated(t, browser(t))
	do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	logIn(t, ctx, env, tn.OperatorLogin, tn.Password)
	waitJS(t, ctx, "my chat", fmt.Sprintf(`document.querySelector("#mine button[data-chat='%d']")`, chat.ID))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector("#mine button[data-chat='%d']").click()`, chat.ID)))
	waitJS(t, ctx, "the chat open", `!document.getElementById("chat-body").hidden && !document.getElementById("finish").disabled`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("reply-text").scrollIntoView({ block: "start" })`))
	if y := js[float64](t, ctx, `window.scrollY`); y == 0 {
		t.Fatal("the page did not scroll: the test would prove nothing")
	}
	inView := `(() => { const r = document.getElementById("finish").getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && r.width > 0; })()`
	if !js[bool](t, ctx, inView) {
		t.Fatalf("Finish is off screen at 390 px: %s", js[string](t, ctx, `JSON.stringify(document.getElementById("finish").getBoundingClientRect())`))
	}
	shoot(t, ctx, "console-phone-actions.png")
}
