package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
)

// deskProject sets up a project whose menu has no virtual agent: the
// visitor's first message queues the chat for an operator. It answers the
// project UUID.
func deskProject(t *testing.T, env *testenv.Env, tn *testenv.Tenant) string {
	t.Helper()
	var menu struct {
		ID int64 `json:"id"`
	}
	cMust(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Help desk"}), 201).JSON(t, &menu)
	var p struct {
		ProjectUUID string `json:"project_uuid"`
	}
	cMust(t, env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "Site", "menu_id": menu.ID}), 201).JSON(t, &p)
	return p.ProjectUUID
}

// widgetChatID is the widget's chat, from its stored session.
func widgetChatID(t *testing.T, user context.Context, project string) int64 {
	t.Helper()
	return int64(cEval[float64](t, user, `JSON.parse(document.querySelector("#parley-frame").contentWindow.localStorage.getItem("parley.widget.`+project+`")).chatId`))
}

// TestCSATInReport: an operator answers and finishes a visitor's chat; the
// widget then asks for a rating, the visitor gives 4 stars and a comment;
// the supervisor's chat report shows the chat, its first response and the
// rating, per menu and per operator.
func TestCSATInReport(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Shop")
	project := deskProject(t, env, tn)
	user := browser(t)
	frame := openWidget(t, user, env, project)
	widgetSay(t, user, frame, "Is my parcel on its way?")
	id := widgetChatID(t, user, project)

	chat := fmt.Sprintf("/v1/chats/%d", id)
	cMust(t, env.Do(t, "PATCH", chat, tn.OperatorToken, map[string]any{"status": "assigned"}), 200)
	cMust(t, env.Do(t, "POST", chat+"/messages", tn.OperatorToken, map[string]any{"content": "Yes, it left this morning."}), 201)
	cWait(t, user, "the answer", frameHas("#log .msg.from-operator", "it left this morning"))
	// After a reload the notices keep the order of events: the visitor's
	// message, the operator joining, the operator's answer.
	order := `[...` + widgetDoc + `.querySelectorAll("#log .msg")].map((m) => m.classList.contains("system") ? "joined" : m.classList.contains("mine") ? "visitor" : "operator").join(",")`
	if got := cEval[string](t, user, order); got != "visitor,joined,operator" {
		t.Errorf("live order: %q", got)
	}
	cRun(t, user, "reload", chromedp.Reload())
	frame = openWidget(t, user, env, project)
	cWait(t, user, "the history after the reload", frameHas("#log .msg.from-operator", "it left this morning"))
	cWait(t, user, "the join notice after the reload", frameHas("#log .msg.system", "joined the chat"))
	if got := cEval[string](t, user, order); got != "visitor,joined,operator" {
		t.Errorf("order after a reload: %q, want the join notice between the visitor's message and the answer", got)
	}
	cMust(t, env.Do(t, "PATCH", chat, tn.OperatorToken, map[string]any{"status": "finished"}), 200)

	cWait(t, user, "the rating form", `(() => { try { return !!`+widgetDoc+`.querySelector("#csat-form"); } catch (x) { return false; } })()`)
	cRun(t, user, "rate 4 stars",
		chromedp.Click(chromedp.CSS(`#csat .star:nth-child(4)`), chromedp.FromNode(frame)),
		chromedp.SendKeys(chromedp.CSS(`#csat-comment`), "Quick and kind", chromedp.FromNode(frame)),
	)
	shoot(t, user, "widget-csat.png")
	cRun(t, user, "send the rating", chromedp.Click(chromedp.CSS(`#csat-form button[type=submit]`), chromedp.FromNode(frame)))
	cWait(t, user, "the thanks", frameHas("#csat", "You rated this chat 4 of 5"))
	// Stored with the chat, as staff see it.
	var got struct {
		Rating *struct {
			Rating  int    `json:"rating"`
			Comment string `json:"comment"`
		} `json:"rating"`
	}
	cMust(t, env.Do(t, "GET", chat, tn.Token, nil), 200).JSON(t, &got)
	if got.Rating == nil || got.Rating.Rating != 4 || got.Rating.Comment != "Quick and kind" {
		t.Fatalf("the stored rating: %+v", got.Rating)
	}
	// A reload shows the rating given, not the form again.
	cRun(t, user, "reload", chromedp.Reload())
	openWidget(t, user, env, project)
	cWait(t, user, "the rating after a reload", frameHas("#csat", "You rated this chat 4 of 5"))

	sup := isolated(t, user)
	do(t, sup,
		chromedp.Navigate(env.URL()+"/supervisor/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.Login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitJS(t, sup, "the agents view", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)
	do(t, sup, chromedp.Evaluate[chromedp.Void](`location.hash = "#/chats"`))
	waitJS(t, sup, "the chat report", `document.querySelector("main").dataset.ready === "chats" && document.getElementById("chats-summary")`)
	summary := js[string](t, sup, `document.getElementById("chats-summary").textContent`)
	if !strings.Contains(summary, "1 chat ") || !strings.Contains(summary, "CSAT 4 from 1 rating") || !strings.Contains(summary, "0 abandoned") {
		t.Errorf("the report's summary: %q", summary)
	}
	rows := js[[]string](t, sup, `[...document.querySelectorAll("#chat-report tbody tr")].map((r) => [...r.cells].map((c) => c.textContent).join("|"))`)
	var menuRow, opRow bool
	for _, r := range rows {
		menuRow = menuRow || strings.HasPrefix(r, "Menu|Help desk|1|0|") && strings.HasSuffix(r, "|4|1")
		opRow = opRow || strings.HasPrefix(r, "Operator|") && strings.HasSuffix(r, "|4|1")
	}
	if !menuRow || !opRow {
		t.Errorf("the report's rows: %q", rows)
	}
	if n := js[int](t, sup, `document.querySelectorAll("svg.day-bars rect.bar.chats").length`); n != 1 {
		t.Errorf("the chart has %d bars with chats, want 1", n)
	}
	shoot(t, sup, "supervisor-chat-report.png")

	// A menu named like a formula, with a chat: the export must keep it text.
	hostile := hostileCells[0]
	var evil struct {
		ID int64 `json:"id"`
	}
	cMust(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": hostile[0]}), 201).JSON(t, &evil)
	cMust(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"menu_id": evil.ID},
		"end_user": map[string]any{"phone": "+100"}}), 201)

	do(t, sup, chromedp.Evaluate[chromedp.Void](`document.querySelector("main form.toolbar").requestSubmit()`))
	waitJS(t, sup, "the report with the new menu", `document.getElementById("chats-summary") && document.getElementById("chats-summary").textContent.startsWith("2 chats")`)
	rows = js[[]string](t, sup, `[...document.querySelectorAll("#chat-report tbody tr")].map((r) => [...r.cells].map((c) => c.textContent).join("|"))`)

	// The export: one row per table row, the formula-like name as text.
	do(t, sup, chromedp.Evaluate[chromedp.Void](`(() => { const orig = URL.createObjectURL; window.__csv = null;
		URL.createObjectURL = (b) => { b.arrayBuffer().then((buf) => { window.__csv = new TextDecoder("utf-8", { ignoreBOM: true }).decode(buf); }); return orig(b); }; })()`))
	do(t, sup, chromedp.Click(chromedp.CSS(`#chats-export`)))
	waitJS(t, sup, "the CSV", `window.__csv !== null`)
	csvRows := readCSV(t, js[string](t, sup, `window.__csv`))
	if len(csvRows) != len(rows)+1 || csvRows[0][0] != "kind" || csvRows[0][1] != "name" {
		t.Fatalf("the export: %q", csvRows)
	}
	var neutral bool
	for _, r := range csvRows[1:] {
		if strings.HasPrefix(r[1], "=") {
			t.Errorf("a formula cell in the export: %q", r)
		}
		neutral = neutral || r[1] == hostile[1]
	}
	if !neutral {
		t.Errorf("no neutralised menu name %q in the export: %q", hostile[1], csvRows)
	}
}

// TestInactivityCloseInConsole: the online operator answers a visitor in
// the console; the console shows that the customer has been inactive since
// the answer, in the list and in the chat; the menu's inactivity rule then
// closes the chat with a notice the operator sees live, and frees the
// operator.
func TestInactivityCloseInConsole(t *testing.T) {
	// The server's rule is an hour, so the signs are seen whatever the
	// machine's load; then the menu's rule is set to a minute, which the
	// closer's safety poll (2 s here) picks up.
	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Configure: func(c *server.Config) {
		c.ChatInactivity = time.Hour
		c.ChatPoll = 2 * time.Second
	}})
	tn := env.NewTenant(t, "Shop")
	project := deskProject(t, env, tn)
	op := browser(t)
	user := isolated(t, op)
	loginConsole(t, op, env, tn)
	setPresence(t, op, "online")

	frame := openWidget(t, user, env, project)
	widgetSay(t, user, frame, "Hello, anyone there?")
	cWait(t, op, "the chat in My chats", `document.querySelector("#mine button[data-chat]")`)
	cRun(t, op, "open the chat", chromedp.Click(chromedp.CSS(`#mine button[data-chat]`)))
	cWait(t, op, "the message", pageHas("#log", "anyone there"))
	cRun(t, op, "reply", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Yes, how can I help?"),
		chromedp.Click(chromedp.CSS(`#reply button[type=submit]`)))
	cWait(t, op, "the inactivity sign in the chat", pageHas("#chat-info", "Customer inactive since"))
	cWait(t, op, "the closing time", pageHas("#chat-info", "closes at"))
	cWait(t, op, "the inactivity sign in the list", pageHas("#mine", "customer inactive"))
	shoot(t, op, "console-customer-inactive.png")
	var menus struct {
		Menus []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"menus"`
	}
	cMust(t, env.Do(t, "GET", "/apps/api/v1/menus", tn.Token, nil), 200).JSON(t, &menus)
	if len(menus.Menus) != 1 {
		t.Fatalf("menus: %+v", menus)
	}
	cMust(t, env.Do(t, "PATCH", fmt.Sprintf("/apps/api/v1/menus/%d", menus.Menus[0].ID), tn.Token, map[string]any{"inactivity_minutes": 1}), 200)

	cWait(t, op, "the close notice", pageHas("#log .msg.system", "Closed for inactivity"))
	cWait(t, op, "the chat ended", `document.getElementById("finish").disabled`)
	cWait(t, op, "the chat left My chats", `!document.querySelector("#mine button[data-chat]")`)
	cWait(t, user, "the widget sees the end", frameHas("#status", "The chat has ended"))
	var me struct {
		Load int `json:"load"`
	}
	cMust(t, env.Do(t, "GET", "/v1/operators/me", tn.OperatorToken, nil), 200).JSON(t, &me)
	if me.Load != 0 {
		t.Errorf("the operator's load after the close: %d, want 0", me.Load)
	}
}
