package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
)

// The handover on the built-in sim trunk, as in a demo: the simulated
// callee asks for a person and stays on the line, speaking, until the
// operator hangs up.

// loginConsoleAs logs login into the console and waits for its stream.
func loginConsoleAs(t *testing.T, ctx context.Context, env *testenv.Env, login, password string) {
	t.Helper()
	cRun(t, ctx, "log in "+login,
		chromedp.Navigate(env.URL()+"/login?next=/console/"),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#presence`)),
	)
	cWait(t, ctx, "the stream", `document.body.dataset.stream === "online"`)
}

// simGeneral are the sim agent's general settings: two calls at once,
// two of them with people.
var simGeneral = map[string]any{"total_channel_limit": 2, "routing_channel_limit": 2}

func simDialog(msisdn, name string) map[string]any {
	// The simulated callee stays on the line up to sim_hold seconds.
	return map[string]any{"msisdn": msisdn, "name": name, "sim_say": []string{calleeWants}, "sim_hold": "300"}
}

// TestCallTransferSimConsole: the supervisor sets the agent's transfer
// settings on the Agents page; a sim call asks for a person and rings in
// the console (screenshot of the card); the operator answers and hears
// the simulated callee; the supervisor's live view shows the call in
// transfer against the agent's routing channel limit and listens to it
// (receive-only); the operator mutes, holds, sends a keypad tone and
// hangs up, then saves a result; the statistics say transferred.
func TestCallTransferSimConsole(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			env := voiceEnv(t, testenv.DSN(t, d), false)
			tn := env.NewTenant(t, "Sim")
			opID, opName := operatorID(t, env, tn.OperatorToken)
			b := voiceBrowser(t, espeakWAV(t, operatorSay, 48000, 0.8, 1.2, 0))

			// The supervisor's transfer settings form.
			sup := isolated(t, b)
			do(t, sup,
				chromedp.Navigate(env.URL()+"/supervisor/"),
				chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
				chromedp.SendKeys(chromedp.CSS(`input[name=login]`), tn.Login),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
				chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			)
			waitJS(t, sup, "the transfer settings", `document.querySelector("#transfer-settings")`)
			do(t, sup,
				chromedp.SetValue(chromedp.CSS(`#transfer-settings [name=ring_timeout_seconds]`), "45"),
				chromedp.SetValue(chromedp.CSS(`#transfer-settings [name=transfer_timeout_seconds]`), "100"),
				chromedp.SetValue(chromedp.CSS(`#transfer-settings [name=hold_prompt]`), "Please hold while I connect you."),
				chromedp.Click(chromedp.CSS(`#transfer-settings button[type=submit]`)),
			)
			waitJS(t, sup, "saved", `document.getElementById("status").textContent === "Transfer settings saved"`)
			var set map[string]any
			cMust(t, env.Do(t, "GET", "/api/v2/ext/agent-settings/transfer?agent_uuid="+tn.AgentUUID, tn.Token, nil), 200).JSON(t, &set)
			if set["ring_timeout_seconds"] != 45.0 || set["transfer_timeout_seconds"] != 100.0 || set["hold_prompt"] != "Please hold while I connect you." || set["menu_id"] != nil {
				t.Errorf("transfer settings after the form: %v", set)
			}

			ctx := isolated(t, b)
			loginConsole(t, ctx, env, tn)
			setPresence(t, ctx, "online")
			dialogUUID := shopAgentNoTransfer(t, env, tn, simGeneral, transferScript, simDialog("+15550001", "Bob Sim"))

			id := offerID(t, ctx)
			card := cEval[string](t, ctx, `document.querySelector("#offers .offer").innerText`)
			for _, want := range []string{"+15550001", tn.AgentName, "Bob Sim", "person"} {
				if !strings.Contains(card, want) {
					t.Errorf("the call card lacks %q:\n%s", want, card)
				}
			}
			shoot(t, ctx, "console-call-offer.png")
			answer(t, ctx)
			cWait(t, ctx, "the simulated callee heard", `window.parleyCall.loud >= 5`)
			shoot(t, ctx, "console-in-call.png")

			// The supervisor sees it and listens.
			view(t, sup, "#/live", "live")
			waitJS(t, sup, "the call in transfer", `(() => { const b = document.getElementById("live-calls"); return b && b.innerText.includes("+15550001") && b.innerText.includes("talking") && b.innerText.includes("1 / 2"); })()`)
			do(t, sup, chromedp.Click(chromedp.CSS(`#live-calls button[data-call]`)))
			waitJS(t, sup, "the supervisor hears the call", `window.parleyListen.state === "connected" && window.parleyListen.loud >= 5`)
			shoot(t, sup, "supervisor-live-calls.png")

			// Mute, hold, a keypad tone.
			cRun(t, ctx, "mute", chromedp.Click(chromedp.CSS(`#call-mute`)))
			cWait(t, ctx, "muted", `document.getElementById("call-mute").getAttribute("aria-pressed") === "true"`)
			if tr := getTransfer(t, env, tn.OperatorToken, id); !tr.Muted {
				t.Errorf("after Mute: %+v", tr)
			}
			cRun(t, ctx, "unmute", chromedp.Click(chromedp.CSS(`#call-mute`)))
			cWait(t, ctx, "unmuted", `document.getElementById("call-mute").getAttribute("aria-pressed") === "false"`)
			cRun(t, ctx, "hold", chromedp.Click(chromedp.CSS(`#call-hold`)))
			cWait(t, ctx, "held", `document.getElementById("call-hold").getAttribute("aria-pressed") === "true" && document.getElementById("incall-state").textContent === "On hold"`)
			if tr := getTransfer(t, env, tn.OperatorToken, id); !tr.Held || tr.State != "held" {
				t.Errorf("after Hold: %+v", tr)
			}
			cRun(t, ctx, "resume", chromedp.Click(chromedp.CSS(`#call-hold`)))
			cWait(t, ctx, "resumed", `document.getElementById("call-hold").getAttribute("aria-pressed") === "false"`)
			cRun(t, ctx, "keypad", chromedp.Click(chromedp.CSS(`#call-keys`)), chromedp.Click(chromedp.CSS(`#keypad button[data-digit="5"]`)))
			if msg := cEval[string](t, ctx, `document.getElementById("incall-error").textContent`); msg != "" {
				t.Errorf("keypad tone: %s", msg)
			}

			cRun(t, ctx, "hang up", chromedp.Click(chromedp.CSS(`#call-hangup`)))
			cWait(t, ctx, "the results form", `!document.getElementById("wrapup").hidden`)
			cRun(t, ctx, "save the results",
				chromedp.SetValue(chromedp.CSS(`#wrapup-note`), "Demo call."),
				chromedp.Click(chromedp.CSS(`#wrapup button[type=submit]`)))
			cWait(t, ctx, "the results saved", `document.getElementById("notify").textContent === "The call's results are saved." && document.getElementById("calls").hidden`)
			waitJS(t, sup, "the listening ends with the call", `window.parleyListen.state === "idle" && !document.getElementById("live-calls").innerText.includes("+15550001")`)

			tr := waitTransfer(t, env, tn.OperatorToken, id, "ended", func(x callTransfer) bool { return x.State == "ended" })
			if (tr.Result != "accepted" && tr.Result != "operator_hangup") || tr.Disposition == nil || tr.Disposition.Note != "Demo call." {
				t.Errorf("ended: %+v", tr)
			}
			checkTransferredStats(t, dialogStats(t, env, tn.Token, tn.AgentUUID, dialogUUID), opID, opName)
		})
	}
}

// shopAgentNoTransfer is shopAgent on the tenant's own (sim) agent,
// keeping the transfer settings it has.
func shopAgentNoTransfer(t *testing.T, env *testenv.Env, tn *testenv.Tenant, general map[string]any, script string, dialog map[string]any) string {
	t.Helper()
	ext, q := "/api/v2/ext", "?agent_uuid="+tn.AgentUUID
	cMust(t, env.Do(t, "PUT", ext+"/agent-settings/general"+q, tn.Token, general), 200)
	cMust(t, env.Do(t, "POST", ext+"/initial-entity"+q, tn.Token, map[string]any{"name": "name"}), 201)
	cMust(t, env.Do(t, "POST", ext+"/output-entity"+q, tn.Token, map[string]any{"name": "asked"}), 201)
	cMust(t, env.Do(t, "PUT", ext+"/agent-settings/script"+q, tn.Token, map[string]any{"name": "main", "source": script}), 200)
	var up struct {
		DialogUUID string `json:"dialog_uuid"`
	}
	cMust(t, env.Do(t, "POST", ext+"/dialog/dialog-initial"+q, tn.Token, dialog), 200).JSON(t, &up)
	return up.DialogUUID
}

// TestCallTransferRingTimeout: two operators online in two browser
// contexts; the offer rings for one, who doesn't answer; after the
// agent's ring timeout it rings for the other (and leaves the first's
// console), who answers and hangs up. The second works at a phone's
// width (390 px): the call card and the in-call bar fit, the Answer and
// Hang up buttons are on screen and the bar sits at the bottom, under the
// thumb.
func TestCallTransferRingTimeout(t *testing.T) {
	for _, d := range testenv.Dialects {
		t.Run(d, func(t *testing.T) {
			env := voiceEnv(t, testenv.DSN(t, d), false)
			tn := env.NewTenant(t, "Ring")
			second := "ring-op2"
			actx := parley.WithCaller(context.Background(), parley.Caller{CompanyID: tn.CompanyID, CompanyUUID: tn.CompanyUUID, Role: parley.RoleAdmin})
			if _, err := env.Users.CreateUser(actx, tn.CompanyID, second, tn.Password, parley.RoleOperator); err != nil {
				t.Fatal(err)
			}
			b := voiceBrowser(t, espeakWAV(t, operatorSay, 48000, 0.8, 1.2, 0))
			pages := map[string]context.Context{tn.OperatorLogin: isolated(t, b), second: isolated(t, b)}
			ids := map[string]int64{}
			for login, ctx := range pages {
				loginConsoleAs(t, ctx, env, login, tn.Password)
				setPresence(t, ctx, "online")
				token, _ := env.Login(t, login, tn.Password)
				ids[login], _ = operatorID(t, env, token)
			}
			cMust(t, env.Do(t, "PUT", "/api/v2/ext/agent-settings/transfer?agent_uuid="+tn.AgentUUID, tn.Token,
				map[string]any{"menu_id": nil, "hold_prompt": "Please hold.", "ring_timeout_seconds": 5, "transfer_timeout_seconds": 90, "external_to": ""}), 200)
			shopAgentNoTransfer(t, env, tn, simGeneral, transferScript, simDialog("+15550002", "Cy"))

			// Whoever it rings for first lets it ring.
			hasOffer := `!!document.querySelector("#offers .offer")`
			first, next := "", ""
			// What the API says, to tell a page's lag from the server's.
			var seen []string
			stop := make(chan struct{})
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				last := ""
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					var list struct {
						Items []callTransfer `json:"items"`
					}
					if r := env.Do(t, "GET", "/v1/call-transfers?state=all", tn.Token, nil); r.Status == 200 {
						r.JSON(t, &list)
					}
					for _, x := range list.Items {
						op := int64(0)
						if x.OperatorID != nil {
							op = *x.OperatorID
						}
						if now := fmt.Sprintf("%s/%d", x.State, op); now != last {
							seen, last = append(seen, time.Now().Format("15:04:05.000")+" "+now), now
						}
					}
				}
			}()
			defer func() {
				close(stop)
				<-watched
				t.Logf("operators %v; the transfer as the API saw it: %v", ids, seen)
				for login, ctx := range pages {
					t.Logf("%s's console got frames (UTC) %v", login, cEval[any](t, ctx, `window.parleyCall.frameLog`))
				}
			}()
			for deadline := time.Now().Add(90 * time.Second); first == ""; time.Sleep(100 * time.Millisecond) {
				for login, ctx := range pages {
					if first == "" && cEval[bool](t, ctx, hasOffer) {
						first = login
						t.Logf("%s %s's console rings", time.Now().Format("15:04:05.000"), login)
					}
				}
				if first == "" && time.Now().After(deadline) {
					t.Fatal("no console rang")
				}
			}
			for login := range pages {
				if login != first {
					next = login
				}
			}
			// The second operator works on a phone (390 px).
			do(t, pages[next], chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
			id := offerID(t, pages[first])
			cWait(t, pages[next], "the offer moves to the second operator", hasOffer)
			fitsPhone(t, pages[next], "the call card", "#offers .offer button.accept")
			cWait(t, pages[first], "the offer leaves the first operator", `!document.querySelector("#offers .offer") && document.getElementById("notify").textContent.startsWith("The call went to another operator")`)
			// The consoles follow the stream's call_transfer frames (they
			// also re-read the list every few seconds, as a safety net).
			for login, ctx := range pages {
				if n := cEval[float64](t, ctx, `window.parleyCall.framesSeen`); n == 0 {
					t.Errorf("%s's console got no call_transfer frame", login)
				}
			}
			if got := offerID(t, pages[next]); got != id {
				t.Errorf("the second operator got transfer %d, want %d", got, id)
			}
			answer(t, pages[next])
			fitsPhone(t, pages[next], "the in-call bar", "#call-hangup")
			bottom := cEval[[]float64](t, pages[next], `[document.getElementById("incall").getBoundingClientRect().bottom, window.innerHeight]`)
			if bottom[1]-bottom[0] > 2 {
				t.Errorf("the in-call bar ends %.0f px above the bottom of the screen", bottom[1]-bottom[0])
			}
			shoot(t, pages[next], "console-call-phone.png")
			tr := getTransfer(t, env, tn.Token, id)
			if tr.OperatorID == nil || *tr.OperatorID != ids[next] || tr.State != "talking" {
				t.Errorf("after the second operator answered: %+v (want operator %d)", tr, ids[next])
			}
			cRun(t, pages[next], "hang up", chromedp.Click(chromedp.CSS(`#call-hangup`)))
			cWait(t, pages[next], "the results form", `!document.getElementById("wrapup").hidden`)
			waitTransfer(t, env, tn.Token, id, "ended", func(x callTransfer) bool { return x.State == "ended" && x.Result == "accepted" })
		})
	}
}

// fitsPhone checks that the page doesn't overflow sideways and that sel
// is on screen.
func fitsPhone(t *testing.T, ctx context.Context, where, sel string) {
	t.Helper()
	if o := cEval[float64](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); o > 1 {
		t.Errorf("%s overflows a 390 px screen by %.0f px", where, o)
	}
	r := cEval[[]float64](t, ctx, `(() => { const r = document.querySelector(`+cJS(sel)+`).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight]; })()`)
	if r[0] < 0 || r[1] < 0 || r[2] > r[4] || r[3] > r[5] {
		t.Errorf("%s: %s at %v is not on a %vx%v screen", where, sel, r[:4], r[4], r[5])
	}
}
