package web_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDemoFirstRun: `parley demo` on an empty data directory gives a
// console where a seeded operator logs in and sees the seeded queue (and
// the virtual agent's turns of a waiting chat), and a supervisor whose
// statistics show the demo's calls and whose queue says why the missed
// calls wait. The binary is built and run as a user would.
func TestDemoFirstRun(t *testing.T) {
	ctx := browser(t) // skips without Chromium, before the build
	bin := filepath.Join(t.TempDir(), "parley")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/parley").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := filepath.Join(t.TempDir(), "parley-data")
	cmd := exec.Command(bin, "demo", "--addr", addr, "--data-dir", data)
	cmd.Env = append(os.Environ(), "PARLEY_DB=", "PARLEY_SIM_TTS=tone")
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	printed := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ctrl-C stops") {
				printed <- all.String()
			}
		}
	}()
	var banner string
	select {
	case banner = <-printed:
	case <-time.After(2 * time.Minute):
		t.Fatal("parley demo printed no addresses")
	}
	base := "http://" + addr
	// The printed logins are the kept ones.
	var passwords map[string]string
	b, err := os.ReadFile(filepath.Join(data, "demo-passwords.json"))
	if err != nil || json.Unmarshal(b, &passwords) != nil {
		t.Fatalf("demo passwords: %v %s", err, b)
	}
	for _, login := range []string{"demo-admin", "demo-op1", "demo-op2", "demo-api"} {
		if passwords[login] == "" || !strings.Contains(banner, login+" / "+passwords[login]) {
			t.Fatalf("the demo did not print %s's kept password:\n%s", login, banner)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "demo-passwords.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("demo-passwords.json: %v %v; want mode 0600", fi, err)
	}

	// The demo's calls finish within the minute: 3 answered, 2 waiting for a retry.
	token := extLogin(t, base, "demo-api", passwords["demo-api"])
	voice := ""
	var agents []struct {
		AgentUUID string `json:"agent_uuid"`
		Name      string `json:"name"`
	}
	extGet(t, base, token, "/api/v2/ext/company-agents", &agents)
	for _, a := range agents {
		if a.Name == "Payment reminder" {
			voice = a.AgentUUID
		}
	}
	if voice == "" {
		t.Fatalf("no demo voice agent: %+v", agents)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var sels []struct {
			Name    string `json:"name"`
			Count   int    `json:"dialogs_count"`
			Pending int    `json:"pending_dialogs_count"`
		}
		extGet(t, base, token, "/api/v2/ext/selection?agent_uuid="+voice, &sels)
		if len(sels) == 1 && sels[0].Count == 5 && sels[0].Pending == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's calls did not finish within a minute: %+v", sels)
		}
	}

	// The console: demo-op1 logs in and sees the two chats waiting, with
	// the shop assistant's turns.
	do(t, ctx,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "demo-op1"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), passwords["demo-op1"]),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitJS(t, ctx, "the console", `location.pathname === "/console/" && document.querySelector("#presence") && !document.querySelector("#presence").disabled`)
	waitJS(t, ctx, "the seeded queue", `document.querySelectorAll("#queue button[data-chat]").length === 2 && document.getElementById("queue-n").textContent === "2"`)
	if me := js[string](t, ctx, `document.getElementById("me").textContent`); !strings.Contains(me, "Olga") {
		t.Errorf("the console's operator: %q, want Olga (demo-op1)", me)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`#queue button[data-chat]`)))
	waitJS(t, ctx, "a waiting chat's history", `[...document.querySelectorAll("#log .msg")].some((m) => m.textContent.includes("Where is my order 1042?"))`)
	waitJS(t, ctx, "the virtual agent's turns", `document.querySelectorAll("#log .msg.from-virtual_agent").length >= 2`)
	shoot(t, ctx, "demo-console.png")

	// The supervisor (the demo admin, in a browser context of its own):
	// statistics of the voice agent, and its queue explained.
	sup := isolated(t, ctx)
	do(t, sup,
		chromedp.Navigate(base+"/supervisor/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "demo-admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), passwords["demo-admin"]),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	waitJS(t, sup, "the supervisor", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)
	do(t, sup, chromedp.Evaluate[chromedp.Void](`(() => { const p = document.getElementById("agent"); p.value = `+jsString(voice)+`; p.dispatchEvent(new Event("change")); })()`))
	view(t, sup, "#/stats", "stats")
	waitJS(t, sup, "the demo's statistics", `document.getElementById("report-count") && document.getElementById("report-count").textContent.startsWith("3 finished dialogs")`)
	waitJS(t, sup, "the will_pay column", `[...document.querySelectorAll("#report th")].some((th) => th.textContent === "will pay")`)
	waitJS(t, sup, "the charts", `document.querySelectorAll("#charts svg").length >= 1`)
	shoot(t, sup, "demo-supervisor-stats.png")
	view(t, sup, "#/queue", "queue")
	waitJS(t, sup, "why the missed calls wait", `[...document.querySelectorAll("#queue .wait")].filter((w) => w.dataset.reason === "retry_delay" && w.textContent.includes("the next attempt is due at")).length === 2`)
	waitJS(t, sup, "the queue's counts", `document.getElementById("queue-counts").textContent.includes("2 waiting for a retry")`)
	shoot(t, sup, "demo-supervisor-queue.png")
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

func extLogin(t *testing.T, base, login, password string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v2/ext/auth", nil)
	req.SetBasicAuth(login, password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct{ Token string }
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&p) != nil {
		t.Fatalf("login %s: status %d", login, res.StatusCode)
	}
	return p.Token
}

func extGet(t *testing.T, base, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(v) != nil {
		t.Fatalf("GET %s: status %d", path, res.StatusCode)
	}
}
