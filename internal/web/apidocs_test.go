package web_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestAPIReference opens the API reference in Chromium: it renders every
// family's OpenAPI document from /openapi/ (a known operation of each),
// an operation's fragment opens it with its parameters and schemas, the
// filter narrows the list, nothing breaks the pages' CSP, and the console
// and the supervisor link to it from their footers.
func TestAPIReference(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	for _, page := range []string{"/console/", "/supervisor/"} {
		if r := env.Do(t, "GET", page, "", nil); r.Status != 200 || !strings.Contains(string(r.Body), `<footer class="foot"><a href="/docs/api/"`) {
			t.Errorf("%s: status %d, no footer link to /docs/api/", page, r.Status)
		}
	}
	r := env.Do(t, "GET", "/docs/api/", "", nil)
	if csp := r.Header.Get("Content-Security-Policy"); r.Status != 200 || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") {
		t.Fatalf("/docs/api/: status %d, CSP %q", r.Status, csp)
	}

	ctx := browser(t)
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && (e.Entry.Level == cdplog.EntryLevelError || strings.Contains(e.Entry.Text, "Content Security Policy")) {
			mu.Lock()
			problems = append(problems, e.Entry.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	cRun(t, ctx, "open the reference", chromedp.Navigate(env.URL()+"/docs/api/"))
	cWait(t, ctx, "the documents rendered", `document.body.dataset.ready === "true"`)

	// A known operation of each family, in its family's section.
	for _, op := range []struct{ id, method, path string }{
		{"ext-login", "POST", "/api/v2/ext/auth"},
		{"ext-createTrunk", "POST", "/api/v2/ext/trunks"},
		{"v1-listChats", "GET", "/v1/chats"},
		{"livechat-sendOperatorMessage", "POST", "/v1/projects/{projectUuid}/livechat/conversations/{conversationUuid}/messages/operator"},
		{"apps-createWebhook", "POST", "/apps/api/v1/webhooks"},
		{"apps-receiveEvent", "WEBHOOK POST", "event"},
		{"widget-startChat", "POST", "/v1/widget/projects/{projectUuid}/chats"},
	} {
		got := cEval[string](t, ctx, `(() => { const d = document.getElementById(`+cJS(op.id)+`); return d ? d.querySelector("summary").innerText : "missing"; })()`)
		if !strings.Contains(got, op.method) || !strings.Contains(got, op.path) {
			t.Errorf("operation %s: %q, want %s %s", op.id, got, op.method, op.path)
		}
		fam, _, _ := strings.Cut(op.id, "-")
		if in := cEval[bool](t, ctx, `!!document.querySelector("section.family#`+fam+` #`+op.id+`")`); !in {
			t.Errorf("operation %s is not in the %s section", op.id, fam)
		}
	}
	if n := cEval[int](t, ctx, `document.querySelectorAll("section.family").length`); n != 5 {
		t.Errorf("%d families rendered, want 5", n)
	}

	// A fragment opens its operation: parameters, the request body's
	// fields (with the required ones marked) and every response.
	cRun(t, ctx, "open an operation", chromedp.Navigate(env.URL()+"/docs/api/#v1-createClient"))
	cWait(t, ctx, "the operation opened", `document.body.dataset.ready === "true" && document.getElementById("v1-createClient").open`)
	text := cEval[string](t, ctx, `(() => { const d = document.getElementById("v1-createClient"); d.querySelectorAll("details").forEach((x) => x.open = true); return d.innerText; })()`)
	for _, want := range []string{"Request body", "NewClient", "contact_info", "name *", "201", "Client", "client_id", "400", "401", "413", "WWW-Authenticate"} {
		if !strings.Contains(text, want) {
			t.Errorf("v1 createClient does not show %q:\n%s", want, text)
		}
	}
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		cShot(t, "api-reference.png", png)
	}
	text = cEval[string](t, ctx, `(() => { const d = document.getElementById("livechat-listMessages"); d.open = true; return d.innerText; })()`)
	for _, want := range []string{"Parameters", "projectUuid", "conversationUuid", "afterSeq", "limit", "query", "path"} {
		if !strings.Contains(text, want) {
			t.Errorf("livechat listMessages does not show %q:\n%s", want, text)
		}
	}

	// The filter keeps the matching operations only.
	cRun(t, ctx, "filter", chromedp.SendKeys(chromedp.CSS(`#filter`), "redeliver"))
	visible := cEval[[]string](t, ctx, `[...document.querySelectorAll("details.op")].filter((d) => !d.hidden).map((d) => d.id)`)
	if len(visible) != 1 || visible[0] != "apps-redeliverWebhookDelivery" {
		t.Errorf("filtered on redeliver: %v", visible)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(problems, "\n"))
	}
}
