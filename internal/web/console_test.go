package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/server"
	"github.com/parley-cc/parley/internal/testenv"
	"github.com/parley-cc/parley/internal/web"
)

// humanScript greets, listens, and hands over to a person on "human".
const humanScript = `def main(s):
    s.say("Hi! I am the shop assistant. How can I help?")
    while True:
        q = s.listen()
        if "human" in q:
            s.say("Connecting you to a person.")
            s.transfer("customer_asked")
        s.say("I can tell you about orders. Type human to talk to a person.")
`

func cMust(t *testing.T, r *testenv.Response, want int) *testenv.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// shop sets up a tenant whose project's menu has the virtual agent of
// humanScript; it returns the project UUID.
func shopProject(t *testing.T, env *testenv.Env, tn *testenv.Tenant) string {
	t.Helper()
	cMust(t, env.Do(t, "PUT", "/api/v2/ext/agent-settings/script?agent_uuid="+tn.AgentUUID, tn.Token,
		map[string]any{"name": "main", "source": humanScript}), 200)
	var menu struct {
		ID int64 `json:"id"`
	}
	cMust(t, env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Shop", "agent_uuid": tn.AgentUUID}), 201).JSON(t, &menu)
	var p struct {
		ProjectUUID string `json:"project_uuid"`
	}
	cMust(t, env.Do(t, "POST", "/apps/api/v1/projects", tn.Token, map[string]any{"name": "Site", "menu_id": menu.ID}), 201).JSON(t, &p)
	return p.ProjectUUID
}

func cRun(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// cWait waits until the JavaScript expression is truthy.
func cWait(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(90*time.Second),
		chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		dump, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const d = document.querySelector("#parley-frame") ? document.querySelector("#parley-frame").contentDocument : document; return d.body.innerText.slice(0, 3000); })()`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, dump)
	}
}

func cEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func cJS(s string) string { b, _ := json.Marshal(s); return string(b) }

// loginConsole logs the operator in and waits for the console.
func loginConsole(t *testing.T, ctx context.Context, env *testenv.Env, tn *testenv.Tenant) {
	t.Helper()
	cRun(t, ctx, "log in",
		chromedp.Navigate(env.URL()+"/login?next=/console/"),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.OperatorLogin),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#presence`)),
	)
	cWait(t, ctx, "the stream", `document.body.dataset.stream === "online"`)
}

// setPresence picks a presence in the console's select, as a keyboard
// user would, and waits for the server's answer.
func setPresence(t *testing.T, ctx context.Context, status string) {
	t.Helper()
	cRun(t, ctx, "presence", chromedp.Focus(chromedp.CSS(`#presence`)),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("presence"); s.value = `+cJS(status)+`; s.dispatchEvent(new Event("change")); })()`))
	cWait(t, ctx, "presence "+status, `document.getElementById("notify").textContent === "You are `+status+`."`)
}

// widgetDoc is the widget iframe's document, from the host page.
const widgetDoc = `document.querySelector("#parley-frame").contentDocument`

func frameHas(sel, text string) string {
	return `(() => { try { return [...` + widgetDoc + `.querySelectorAll(` + cJS(sel) + `)].some((e) => e.textContent.includes(` + cJS(text) + `)); } catch (x) { return false; } })()`
}

func pageHas(sel, text string) string {
	return `[...document.querySelectorAll(` + cJS(sel) + `)].some((e) => e.textContent.includes(` + cJS(text) + `))`
}

// openWidget opens the demo page and the widget, and waits for it to be ready.
func openWidget(t *testing.T, ctx context.Context, env *testenv.Env, project string) *chromedp.Node {
	t.Helper()
	cRun(t, ctx, "open the demo page",
		chromedp.Navigate(env.URL()+"/widget/demo/?project="+project),
		chromedp.WaitVisible(chromedp.CSS(`#parley-launcher`)),
	)
	if open := cEval[bool](t, ctx, `!!document.querySelector("#parley-frame") && document.querySelector("#parley-frame").style.display !== "none"`); !open {
		cRun(t, ctx, "open the widget", chromedp.Click(chromedp.CSS(`#parley-launcher`)))
	}
	cWait(t, ctx, "the widget", `(() => { try { return `+widgetDoc+`.body.dataset.ready === "1"; } catch (x) { return false; } })()`)
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`#parley-frame`)))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("widget iframe: %v", err)
	}
	return nodes[0]
}

// widgetSay types a message in the widget and sends it.
func widgetSay(t *testing.T, ctx context.Context, frame *chromedp.Node, text string) {
	t.Helper()
	cRun(t, ctx, "type in the widget",
		chromedp.SendKeys(chromedp.CSS(`#text`), text+"\r", chromedp.FromNode(frame)), // Enter sends
	)
	cWait(t, ctx, "the widget shows "+text, frameHas("#log .msg.mine", text))
}

// pngFile writes a 160x100 PNG, a photo the end user sends.
func pngFile(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{R: uint8(60 + x), G: uint8(90 + y), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cShot saves a screenshot into the test's temp dir, and into
// docs/screenshots when PARLEY_SCREENSHOTS=1.
func cShot(t *testing.T, name string, png []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(t.TempDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PARLEY_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleEscalation: an end user (one browser context) chats with the
// virtual agent in the widget and asks for a human; the online operator
// (another context) sees the chat arrive in the console, opens it, reads
// the virtual agent's turns and the customer's details, replies; the end
// user sees the operator join and the reply, sends a photo that the
// operator sees; the operator finishes the chat with a deflection channel.
func TestConsoleEscalation(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Shop")
	project := shopProject(t, env, tn)
	op := browser(t)
	user := isolated(t, op)

	loginConsole(t, op, env, tn)
	setPresence(t, op, "online")

	frame := openWidget(t, user, env, project)
	widgetSay(t, user, frame, "I want a human")
	cWait(t, user, "the hand-over", frameHas("#log", "Connecting you to a person."))

	// The router gives the chat to the online operator: it appears in the console without a reload.
	cWait(t, op, "the chat in My chats", `document.querySelector("#mine button[data-chat]")`)
	cRun(t, op, "open the chat", chromedp.Click(chromedp.CSS(`#mine button[data-chat]`)))
	cWait(t, op, "the history", pageHas("#log", "Connecting you to a person."))
	for _, want := range []string{"I am the shop assistant", "I want a human"} {
		cWait(t, op, want, pageHas("#log", want))
	}
	cWait(t, op, "virtual agent turns", `document.querySelectorAll("#log .msg.from-virtual_agent").length === 2`)
	cWait(t, op, "the customer's context", pageHas("#customer-body", "widget"))
	cWait(t, op, "the customer's flags", pageHas("#customer-body", "Verified customer: no"))

	// Typing reaches the end user; the reply too, with the operator's join.
	cRun(t, op, "reply", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "Hello, I am here to help."))
	cWait(t, user, "typing", frameHas("#typing", "is typing"))
	cRun(t, op, "send", chromedp.Click(chromedp.CSS(`#reply button[type=submit]`)))
	cWait(t, op, "own reply", pageHas("#log .msg.mine", "Hello, I am here to help."))
	cWait(t, user, "the operator joined", frameHas("#log", "joined the chat."))
	cWait(t, user, "the reply", frameHas("#log .msg.from-operator", "Hello, I am here to help."))
	cWait(t, user, "the status", frameHas("#status", "You are chatting with"))

	// The end user sends a photo; the operator sees it.
	cRun(t, user, "photo", chromedp.SetUploadFiles(chromedp.CSS(`#photo`), []string{pngFile(t)}, chromedp.FromNode(frame)))
	cWait(t, user, "own photo", `(() => { const i = `+widgetDoc+`.querySelector("#log .msg.mine img"); return i && i.complete && i.naturalWidth > 0; })()`)
	cWait(t, op, "the photo in the console", `(() => { const i = document.querySelector("#log .msg.from-client img"); return i && i.complete && i.naturalWidth > 0; })()`)

	// The end user types; the console says so.
	cRun(t, user, "type", chromedp.SendKeys(chromedp.CSS(`#text`), "Th", chromedp.FromNode(frame)))
	cWait(t, op, "the customer typing", pageHas("#typing", "customer is typing"))
	widgetSay(t, user, frame, "anks!")
	cWait(t, op, "the thanks", pageHas("#log", "Thanks!"))

	if png, err := chromedp.Run(op, chromedp.CaptureScreenshot()); err == nil {
		cShot(t, "console.png", png)
	} else {
		t.Fatal(err)
	}
	if png, err := chromedp.Run(user, chromedp.CaptureScreenshot()); err == nil {
		cShot(t, "widget.png", png)
	} else {
		t.Fatal(err)
	}
	cRun(t, user, "phone width", chromedp.EmulateViewport(390, 780, chromedp.EmulateMobile))
	cWait(t, user, "the full-screen widget", `innerWidth < 480 && document.querySelector("#parley-frame").getBoundingClientRect().width === innerWidth`)
	if png, err := chromedp.Run(user, chromedp.CaptureScreenshot()); err == nil {
		cShot(t, "widget-phone.png", png)
	} else {
		t.Fatal(err)
	}

	// Finish with a deflection channel.
	cRun(t, op, "finish",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("deflection").value = "email"`),
		chromedp.Click(chromedp.CSS(`#finish`)),
		chromedp.Click(chromedp.CSS(`#confirm-ok`))) // Finish asks first (issue 14)
	cWait(t, op, "finished", pageHas("#chat-status", "Finished"))
	cWait(t, user, "the end", frameHas("#status", "The chat has ended"))
	var chats struct {
		Chats []struct {
			Status            string `json:"status"`
			DeflectionChannel string `json:"deflection_channel"`
		} `json:"chats"`
	}
	cMust(t, env.Do(t, "GET", "/apps/api/v1/chats", tn.Token, nil), 200).JSON(t, &chats)
	if len(chats.Chats) != 1 || chats.Chats[0].Status != "finished" || chats.Chats[0].DeflectionChannel != "email" {
		t.Fatalf("chats after finishing: %+v", chats.Chats)
	}
}

// TestConsoleSurvivesRestart: the server stops and another starts on the
// same database and address; the console reconnects by itself and shows a
// message posted afterwards exactly once, with nothing lost or repeated.
func TestConsoleSurvivesRestart(t *testing.T) {
	dsn := testenv.SQLiteDSN(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	opts := testenv.Options{Configure: func(c *server.Config) { c.Addr = addr }}
	env := testenv.StartWith(t, dsn, opts)
	tn := env.NewTenant(t, "Shop")
	var me struct {
		OperatorID int64 `json:"operator_id"`
	}
	cMust(t, env.Do(t, "GET", "/v1/operators/me", tn.OperatorToken, nil), 200).JSON(t, &me)
	cMust(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", me.OperatorID), tn.OperatorToken, map[string]any{"status": "online"}), 200)
	var c struct {
		ID int64 `json:"id"`
	}
	cMust(t, env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"context": map[string]any{"plan": "gold"}},
		"end_user": map[string]any{"identifier": "restart-user"}}), 201).JSON(t, &c)
	chatPath := fmt.Sprintf("/apps/api/v1/chats/%d/message", c.ID)
	cMust(t, env.Do(t, "POST", chatPath, tn.Token, map[string]any{"message": map[string]any{"type": "text", "content": "before restart"}}), 200)

	op := browser(t)
	loginConsole(t, op, env, tn)
	cWait(t, op, "the chat in My chats", fmt.Sprintf(`document.querySelector('#mine button[data-chat="%d"]')`, c.ID))
	cRun(t, op, "open the chat", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#mine button[data-chat="%d"]`, c.ID))))
	cWait(t, op, "the first message", pageHas("#log", "before restart"))
	cWait(t, op, "the context", pageHas("#customer-body", "gold"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.Close(ctx); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	cWait(t, op, "the console noticing", `document.body.dataset.stream === "offline"`)

	env2 := testenv.StartWith(t, dsn, opts)
	cWait(t, op, "the console reconnecting", `document.body.dataset.stream === "online"`)
	cMust(t, env2.Do(t, "POST", chatPath, tn.Token, map[string]any{"message": map[string]any{"type": "text", "content": "after restart"}}), 200)
	cWait(t, op, "the message after the restart", pageHas("#log", "after restart"))
	// And one more live one, to catch a duplicate of the last.
	cMust(t, env2.Do(t, "POST", chatPath, tn.Token, map[string]any{"message": map[string]any{"type": "text", "content": "and again"}}), 200)
	cWait(t, op, "the next message", pageHas("#log", "and again"))
	got := cEval[[]string](t, op, `[...document.querySelectorAll("#log .msg")].map((m) => m.lastChild.textContent)`)
	want := []string{"before restart", "after restart", "and again"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("console shows %q, want %q", got, want)
	}
}

// TestScriptBudget: no page loads more than 300 KB of script.
func TestScriptBudget(t *testing.T) {
	total := 0
	err := fs.WalkDir(web.Static, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Static, p)
		total += len(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 300<<10 {
		t.Fatalf("the pages' scripts weigh %d bytes together, over 300 KB", total)
	}
}
