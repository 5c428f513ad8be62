package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// waitJS waits until a JavaScript expression is truthy in the page. The
// test's context bounds the wait; there is no timing threshold of its own.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")",
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
		if err == nil {
			return
		}
		// A poll does not survive a navigation (the login page's redirect):
		// poll again in the new page until the test's context ends.
		if ctx.Err() == nil && (strings.Contains(err.Error(), "navigated") || strings.Contains(err.Error(), "context")) {
			continue
		}
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText : ""`))
		t.Fatalf("waiting for %s: %v\npage: %.2000s", what, err, body)
	}
}

func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// shoot saves a screenshot of the page to docs/screenshots when
// PARLEY_SCREENSHOTS=1.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("PARLEY_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// view opens a supervisor view and waits until it has rendered.
func view(t *testing.T, ctx context.Context, hash, name string) {
	t.Helper()
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`location.hash = "`+hash+`"`))
	waitJS(t, ctx, "view "+name, `document.querySelector("main").dataset.ready === "`+name+`" && location.hash === "`+hash+`"`)
}

// setSource replaces the script editor's text as typing would.
func setSource(t *testing.T, ctx context.Context, src string) {
	t.Helper()
	b, _ := json.Marshal(src)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const a = document.getElementById("source"); a.value = `+string(b)+`; a.dispatchEvent(new Event("input")); })()`))
}

const goodScript = `def main(s):
    s.say("Hello " + s.entities.get("name", "there") + ", will you pay today?")
    a = s.listen(timeout=5, expect=["yes", "no"])
    if a and "yes" in a:
        s.set("answer", "yes")
        s.say("Thank you, goodbye.")
    else:
        s.set("answer", "no")
    s.hangup()
`

// TestSupervisor walks the supervisor views as an API user: agent
// settings, the script editor (an error at its line, then a save), a CSV
// upload with column mapping whose dialogs get called, the queue, the
// statistics, a call's recording and transcript, and the live load.
func TestSupervisor(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Super")
	ext := "/api/v2/ext"
	q := "?agent_uuid=" + tn.AgentUUID
	if r := env.Do(t, "POST", ext+"/initial-entity/bulk"+q, tn.Token, map[string]any{"entities": []any{
		map[string]any{"name": "msisdn"}, map[string]any{"name": "name", "synthesis": true}}}); r.Status != 200 {
		t.Fatalf("entities: %d %s", r.Status, r.Body)
	}
	ctx := browser(t)

	// Log in through the shared page.
	do(t, ctx,
		chromedp.Navigate(env.URL()+"/supervisor/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.Login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitJS(t, ctx, "the agents view", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)

	// Agents: an output entity added and a temporary one removed; a time
	// slot added and removed (with none, the agent calls at any time).
	waitJS(t, ctx, "the agent's settings", `document.querySelector("form[aria-label='General settings'] input[name=total_channel_limit]")`)
	for _, name := range []string{"answer", "tmp"} {
		do(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`form[aria-label="New output entity"] input[name=name]`), name),
			chromedp.Click(chromedp.CSS(`form[aria-label="New output entity"] button[type=submit]`)))
		waitJS(t, ctx, "output entity "+name, `document.querySelector("[aria-label='Remove output entity `+name+`']")`)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`[aria-label="Remove output entity tmp"]`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)))
	waitJS(t, ctx, "tmp removed", `!document.querySelector("[aria-label='Remove output entity tmp']") && document.querySelector("[aria-label='Remove output entity answer']")`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`form[aria-label="New time slot"] button[type=submit]`)))
	waitJS(t, ctx, "a time slot", `document.querySelector("[aria-label^='Delete Monday']")`)
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`form[aria-label="General settings"] input[name=total_channel_limit]`), "7"),
		chromedp.Click(chromedp.CSS(`form[aria-label="General settings"] button[type=submit]`)))
	waitJS(t, ctx, "settings saved", `document.querySelector("form[aria-label='General settings'] [role=status]").textContent === "Saved."`)
	shoot(t, ctx, "supervisor-agents.png")
	do(t, ctx, chromedp.Click(chromedp.CSS(`[aria-label^="Delete Monday"]`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)))
	waitJS(t, ctx, "the slot deleted", `!document.querySelector("[aria-label^='Delete Monday']")`)
	var general struct {
		TotalChannelLimit int `json:"total_channel_limit"`
	}
	env.Do(t, "GET", ext+"/agent-settings/general"+q, tn.Token, nil).JSON(t, &general)
	if general.TotalChannelLimit != 7 {
		t.Errorf("total_channel_limit after saving: %d", general.TotalChannelLimit)
	}

	// Script: a compile error shown at its line, not saved; then a good
	// script saved.
	view(t, ctx, "#/script", "script")
	setSource(t, ctx, "def main(s):\n    s.say(\"hello\")\n    s.listen(timeout=5\n    s.hangup()\n")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#check`)))
	waitJS(t, ctx, "the compile error", `document.querySelector("#problems li")`)
	line := js[string](t, ctx, `document.querySelector("#problems li").dataset.line`)
	marked := js[string](t, ctx, `document.querySelector(".gutter span.bad").textContent`)
	if line != "4" || marked != "4" {
		t.Errorf("compile error at line %s, gutter marks %s; want 4", line, marked)
	}
	shoot(t, ctx, "supervisor-script.png")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#save`)))
	waitJS(t, ctx, "the refusal", `document.getElementById("status").textContent.includes("not saved")`)
	if r := env.Do(t, "GET", ext+"/agent-settings/script"+q+"&name=main", tn.Token, nil); r.Status != 404 && r.Status != 403 && r.Status != 409 {
		t.Errorf("a broken script was saved: %d %s", r.Status, r.Body)
	}
	setSource(t, ctx, goodScript)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#save`)))
	waitJS(t, ctx, "the script saved", `document.getElementById("verdict").dataset.saved === "main"`)
	if n := js[int](t, ctx, `document.querySelectorAll("#problems li").length`); n != 0 {
		t.Errorf("%d problems shown for a good script", n)
	}
	var saved struct {
		Source string `json:"source"`
	}
	env.Do(t, "GET", ext+"/agent-settings/script"+q+"&name=main", tn.Token, nil).JSON(t, &saved)
	if saved.Source != goodScript {
		t.Errorf("saved source: %q", saved.Source)
	}

	// Upload: a CSV with a header, mapped by name; one row fails.
	csv := filepath.Join(t.TempDir(), "dialogs.csv")
	content := "Phone;name;sim_say;note\n+79990000001;Ann;yes sure;x\n+79990000002;\"Bob; Jr\";no;y\nnot-a-number;Eve;yes;z\n"
	if err := os.WriteFile(csv, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	view(t, ctx, "#/upload", "upload")
	do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}))
	waitJS(t, ctx, "the column mapping", `document.querySelectorAll("#mapping select").length === 4`)
	mapping := js[[]string](t, ctx, `[...document.querySelectorAll("#mapping select")].map((s) => s.value)`)
	if strings.Join(mapping, ",") != "msisdn,name,sim_say," {
		t.Errorf("guessed mapping %v", mapping)
	}
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`input[name=selection_name]`), "November"),
		chromedp.Click(chromedp.CSS(`#upload`)))
	waitJS(t, ctx, "the import done", `document.getElementById("results").dataset.state === "done"`)
	summary := js[string](t, ctx, `document.getElementById("import-summary").textContent`)
	if !strings.HasPrefix(summary, "2 of 3 rows imported, 1 failed") {
		t.Errorf("import summary %q", summary)
	}
	if v := js[float64](t, ctx, `document.getElementById("progress").value / document.getElementById("progress").max`); v != 1 {
		t.Errorf("progress at %v after the import", v)
	}
	failedRow := js[string](t, ctx, `document.querySelector("#results tbody tr").innerText`)
	if !strings.HasPrefix(failedRow, "4") || !strings.Contains(failedRow, "not-a-number") {
		t.Errorf("failed row %q", failedRow)
	}
	shoot(t, ctx, "supervisor-upload.png")

	// The workers call both dialogs; the queue view shows the selection.
	view(t, ctx, "#/queue", "queue")
	waitJS(t, ctx, "the selection completed", `[...document.querySelectorAll("#selections tr")].some((r) => r.innerText.includes("November") && r.innerText.includes("completed"))`)
	waitJS(t, ctx, "two calls", `document.querySelectorAll("#calls tbody tr").length === 2`)

	// Statistics: both dialogs with their outputs.
	view(t, ctx, "#/stats", "stats")
	waitJS(t, ctx, "the report", `document.getElementById("report-count").textContent.startsWith("2 finished dialogs")`)
	table := js[string](t, ctx, `document.querySelector("#report table").innerText`)
	for _, want := range []string{"answer", "yes", "no", "+79990000001", "+79990000002", "hangup"} {
		if !strings.Contains(table, want) {
			t.Errorf("report table lacks %q:\n%s", want, table)
		}
	}
	if n := js[int](t, ctx, `document.querySelectorAll("#charts svg rect[class^='r-']").length`); n == 0 {
		t.Errorf("no bars in the hourly chart")
	}
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name=result]`), "busy"), chromedp.Click(chromedp.CSS(`form[aria-label=Filters] button[type=submit]`)))
	waitJS(t, ctx, "the filtered report", `document.getElementById("report-count").textContent.startsWith("0 finished")`)
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name=result]`), ""), chromedp.Click(chromedp.CSS(`form[aria-label=Filters] button[type=submit]`)))
	waitJS(t, ctx, "the report again", `document.getElementById("report-count").textContent.startsWith("2 finished dialogs")`)
	shoot(t, ctx, "supervisor-stats.png")

	// A call: the recording as a blob URL beside the transcript.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#report a[href^="#/call/"]`)))
	waitJS(t, ctx, "the call view", `document.querySelector("main").dataset.ready === "call"`)
	waitJS(t, ctx, "the recording", `document.querySelector("audio") && document.querySelector("audio").src.startsWith("blob:")`)
	waitJS(t, ctx, "the recording's metadata", `document.querySelector("audio").readyState >= 1 && document.querySelector("audio").duration > 0`)
	transcript := js[string](t, ctx, `document.getElementById("transcript").innerText`)
	if !strings.Contains(transcript, "will you pay today?") || !strings.Contains(transcript, "Callee") {
		t.Errorf("transcript %q", transcript)
	}
	shoot(t, ctx, "supervisor-call.png")

	// Live load: a menu with a queued chat, refreshed from the stream.
	var menu struct {
		ID int64 `json:"id"`
	}
	env.Do(t, "POST", "/apps/api/v1/menus", tn.Token, map[string]any{"name": "Orders"}).JSON(t, &menu)
	view(t, ctx, "#/live", "live")
	waitJS(t, ctx, "the menu", `document.getElementById("live-menus").innerText.includes("Orders")`)
	if r := env.Do(t, "POST", "/apps/api/v1/chats", tn.Token, map[string]any{"chat": map[string]any{"menu_id": menu.ID},
		"end_user": map[string]any{"phone": "+390600"}}); r.Status != 201 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	waitJS(t, ctx, "the queued chat", `[...document.querySelectorAll("#live-menus tbody tr")].some((r) => r.cells[0].textContent === "Orders" && r.cells[1].textContent === "1")`)
	waitJS(t, ctx, "the stream", `document.getElementById("live-state").textContent === "live"`)
	shoot(t, ctx, "supervisor-live.png")
}
