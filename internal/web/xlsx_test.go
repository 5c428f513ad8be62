package web_test

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// writeXLSX writes a minimal workbook as spreadsheet programs do: shared
// strings for text, a number cell for a phone number, deflated entries.
func writeXLSX(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	files := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`,
		"xl/workbook.xml":     `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="Dialogs" sheetId="1"/></sheets></workbook>`,
		"xl/sharedStrings.xml": `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" uniqueCount="5">` +
			`<si><t>Phone</t></si><si><t>name</t></si><si><t>sim_say</t></si><si><r><t>Zoë</t></r><r><t xml:space="preserve"> Ng</t></r></si><si><t>yes</t></si></sst>`,
		"xl/worksheets/sheet1.xml": `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
			`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>` +
			`<row r="2"><c r="A2"><v>79990000003</v></c><c r="B2" t="s"><v>3</v></c><c r="C2" t="s"><v>4</v></c></row>` +
			`<row r="3"><c r="A3" t="inlineStr"><is><t>+79990000004</t></is></c><c r="C3" t="s"><v>4</v></c></row>` +
			`</sheetData></worksheet>`,
	}
	for name, body := range files {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSupervisorXLSXUpload uploads dialogs from an XLSX workbook: shared
// and inline strings, rich text, a number cell and a missing cell are
// read, the columns mapped by their headers, and both rows imported.
func TestSupervisorXLSXUpload(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Sheet")
	if r := env.Do(t, "POST", "/api/v2/ext/initial-entity/bulk?agent_uuid="+tn.AgentUUID, tn.Token, map[string]any{"entities": []any{
		map[string]any{"name": "msisdn"}, map[string]any{"name": "name", "synthesis": true}}}); r.Status != 200 {
		t.Fatalf("entities: %d %s", r.Status, r.Body)
	}
	book := filepath.Join(t.TempDir(), "dialogs.xlsx")
	writeXLSX(t, book)
	ctx := browser(t)
	do(t, ctx,
		chromedp.Navigate(env.URL()+"/supervisor/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.Login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitJS(t, ctx, "the agents view", `document.querySelector("main").dataset.ready === "agents"`)
	view(t, ctx, "#/upload", "upload")
	do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{book}))
	waitJS(t, ctx, "the column mapping", `document.querySelectorAll("#mapping select").length === 3`)
	mapping := js[[]string](t, ctx, `[...document.querySelectorAll("#mapping select")].map((s) => s.value)`)
	if strings.Join(mapping, ",") != "msisdn,name,sim_say" {
		t.Errorf("guessed mapping %v", mapping)
	}
	preview := js[string](t, ctx, `document.getElementById("preview") ? document.getElementById("preview").innerText : document.body.innerText`)
	for _, want := range []string{"79990000003", "Zoë Ng", "+79990000004"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q:\n%s", want, preview)
		}
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`#upload`)))
	waitJS(t, ctx, "the import done", `document.getElementById("results").dataset.state === "done"`)
	summary := js[string](t, ctx, `document.getElementById("import-summary").textContent`)
	if !strings.HasPrefix(summary, "2 of 2 rows imported") {
		t.Errorf("import summary %q", summary)
	}
}
