package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/testenv"
)

// grantNotifications lets the pages of ctx's browser context raise
// desktop notifications, as a user who clicked "Allow" would.
func grantNotifications(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	c := chromedp.FromContext(ctx)
	var info struct {
		TargetInfo struct {
			BrowserContextID string `json:"browserContextId"`
		} `json:"targetInfo"`
	}
	if err := c.Browser.Call(ctx, "Target.getTargetInfo", map[string]any{"targetId": c.Target.TargetID}, &info); err != nil {
		t.Fatalf("target info: %v", err)
	}
	if err := c.Browser.Call(ctx, "Browser.grantPermissions", map[string]any{"permissions": []string{"notifications"},
		"origin": origin, "browserContextId": info.TargetInfo.BrowserContextID}, nil); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
}

// TestConsoleInbox drives the inbox as two operators and a widget visitor
// would: the list item shows the visitor's last message and unread count;
// "/greet" then Tab expands a canned response with the visitor's name,
// which is sent; an internal note never reaches the widget; a transfer
// with a note reaches the second operator (another browser context) live,
// with a desktop notification; after finishing, search finds the closed
// chat's message and neither another company's nor a colleague's.
func TestConsoleInbox(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Shop")
	project := shopProject(t, env, tn)
	bg := context.Background()
	if _, err := env.Users.CreateUser(bg, tn.CompanyID, "olga", tn.Password, parley.RoleOperator); err != nil {
		t.Fatal(err)
	}
	olgaToken, _ := env.Login(t, "olga", tn.Password)
	var olgaOp struct {
		OperatorID int64 `json:"operator_id"`
	}
	cMust(t, env.Do(t, "GET", "/v1/operators/me", olgaToken, nil), 200).JSON(t, &olgaOp)
	cMust(t, env.Do(t, "PATCH", fmt.Sprintf("/v1/operators/%d", olgaOp.OperatorID), olgaToken, map[string]any{"status": "busy"}), 200)
	cMust(t, env.Do(t, "POST", "/v1/canned_responses", tn.Token, map[string]any{"shortcut": "greet", "content": "Hello {{customer.name}}, how can I help?"}), 201)

	op := browser(t)
	user := isolated(t, op)
	olga := isolated(t, op)

	loginConsole(t, op, env, tn)
	setPresence(t, op, "online")
	frame := openWidget(t, user, env, project)
	widgetSay(t, user, frame, "I want a human about order 7781 delivery")
	cWait(t, user, "the hand-over", frameHas("#log", "Connecting you to a person."))

	// The list item: the visitor's last message, unread.
	cWait(t, op, "the chat in My chats", `document.querySelector("#mine button[data-chat]")`)
	item := `document.querySelector("#mine button[data-chat]")`
	cWait(t, op, "the last message in the item", item+`.textContent.includes("Connecting you to a person.")`)
	cWait(t, op, "the unread count", `(() => { const b = `+item+`.querySelector(".unread-n"); return b && Number(b.textContent) >= 1; })()`)
	chatID := cEval[string](t, op, item+`.dataset.chat`)
	cRun(t, op, "open the chat", chromedp.Click(chromedp.CSS(`#mine button[data-chat]`)))
	cWait(t, op, "the history", pageHas("#log", "order 7781"))
	cWait(t, op, "unread cleared", `!document.querySelector("#mine .unread-n")`)

	// The canned response, expanded with the visitor's name and sent.
	var cr struct {
		CannedResponses []struct {
			Shortcut string `json:"shortcut"`
			Text     string `json:"text"`
		} `json:"canned_responses"`
	}
	cMust(t, env.Do(t, "GET", "/v1/chats/"+chatID+"/canned_responses", tn.OperatorToken, nil), 200).JSON(t, &cr)
	if len(cr.CannedResponses) != 1 || strings.Contains(cr.CannedResponses[0].Text, "{{") {
		t.Fatalf("canned responses for the chat: %+v", cr)
	}
	greeting := cr.CannedResponses[0].Text
	cWait(t, op, "canned responses loaded", `document.getElementById("reply-text").disabled === false`)
	cRun(t, op, "type the shortcut", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "/gre"))
	cWait(t, op, "the hint", pageHas("#canned-hint", "/greet"))
	cRun(t, op, "expand", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "\t"))
	cWait(t, op, "expanded", `document.getElementById("reply-text").value === `+cJS(greeting))
	cRun(t, op, "send", chromedp.Click(chromedp.CSS(`#reply button[type=submit]`)))
	cWait(t, user, "the greeting in the widget", frameHas("#log .msg.from-operator", greeting))

	// An internal note, then a reply: the widget gets the reply, never the note.
	cRun(t, op, "note", chromedp.SendKeys(chromedp.CSS(`#note-text`), "Secret remark: VIP since 2019"),
		chromedp.Click(chromedp.CSS(`#note-form button[type=submit]`)))
	cWait(t, op, "the note shown", pageHas("#notes", "Secret remark: VIP since 2019"))
	cRun(t, op, "reply after the note", chromedp.SendKeys(chromedp.CSS(`#reply-text`), "One moment please\r"))
	cWait(t, user, "the reply after the note", frameHas("#log", "One moment please"))
	if cEval[bool](t, user, `(() => `+widgetDoc+`.body.textContent.includes("Secret remark"))()`) {
		t.Fatal("the widget shows the internal note")
	}

	// Transfer to Olga, who works in another browser context, with
	// desktop notifications allowed.
	grantNotifications(t, olga, env.URL())
	cRun(t, olga, "Olga logs in", chromedp.Navigate(env.URL()+"/login?next=/console/"),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), tn.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#presence`)))
	cWait(t, olga, "Olga's stream", `document.body.dataset.stream === "online"`)
	cRun(t, op, "open the transfer dialog", chromedp.Click(chromedp.CSS(`#transfer`)))
	cWait(t, op, "the dialog", `document.getElementById("transfer-dialog").open && document.querySelector("#transfer-to option[value='`+fmt.Sprint(olgaOp.OperatorID)+`']")`)
	cRun(t, op, "transfer", chromedp.Evaluate[chromedp.Void](`document.getElementById("transfer-to").value = "`+fmt.Sprint(olgaOp.OperatorID)+`"`),
		chromedp.SendKeys(chromedp.CSS(`#transfer-note`), "Over to you: asks about order 7781"),
		chromedp.Click(chromedp.CSS(`#transfer-form button[type=submit]`)))
	cWait(t, op, "transferred", pageHas("#notify", "was transferred"))
	cWait(t, olga, "the chat in Olga's list, live", `document.querySelector('#mine button[data-chat="`+chatID+`"]')`)
	cWait(t, olga, "the desktop notification", `document.body.dataset.lastNotification === "Chat transferred to you"`)
	cRun(t, olga, "open the chat", chromedp.Click(chromedp.CSS(`#mine button[data-chat="`+chatID+`"]`)))
	cWait(t, olga, "the transfer note", pageHas("#notes .note.transfer", "Over to you: asks about order 7781"))
	cWait(t, olga, "the earlier note", pageHas("#notes", "Secret remark"))
	cWait(t, olga, "the history", pageHas("#log", greeting))
	if png, err := chromedp.Run(olga, chromedp.CaptureScreenshot()); err == nil {
		cShot(t, "console-inbox.png", png)
	}

	// Olga finishes; search finds the closed chat's message, and not
	// another company's, nor a chat of the first operator's.
	other := env.NewTenant(t, "Other")
	var oc struct {
		ClientID int64 `json:"client_id"`
	}
	cMust(t, env.Do(t, "POST", "/v1/clients", other.Token, map[string]any{"name": "Elsewhere"}), 201).JSON(t, &oc)
	var och struct {
		ChatID int64 `json:"chat_id"`
	}
	cMust(t, env.Do(t, "POST", "/v1/chats", other.Token, map[string]any{"client_id": oc.ClientID}), 201).JSON(t, &och)
	cMust(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", och.ChatID), other.Token, map[string]any{"sender_type": "client", "content": "order 7781 elsewhere"}), 201)
	var mc struct {
		ChatID int64 `json:"chat_id"`
	}
	cMust(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": oc.ClientID}), 404) // another company's client
	var c2 struct {
		ClientID int64 `json:"client_id"`
	}
	cMust(t, env.Do(t, "POST", "/v1/clients", tn.Token, map[string]any{"name": "Private"}), 201).JSON(t, &c2)
	cMust(t, env.Do(t, "POST", "/v1/chats", tn.Token, map[string]any{"client_id": c2.ClientID}), 201).JSON(t, &mc)
	cMust(t, env.Do(t, "POST", fmt.Sprintf("/v1/chats/%d/messages", mc.ChatID), tn.OperatorToken, map[string]any{"content": "order 7781 private"}), 201)

	cRun(t, olga, "finish", chromedp.Click(chromedp.CSS(`#finish`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)))
	cWait(t, olga, "finished", pageHas("#notify", "finished"))
	cRun(t, olga, "search", chromedp.SendKeys(chromedp.CSS(`#search-q`), "ORDER 7781\r"))
	cWait(t, olga, "a result", `document.querySelector("#search-results button[data-chat]")`)
	got := cEval[[]string](t, olga, `[...document.querySelectorAll("#search-results button[data-chat]")].map((b) => b.dataset.chat + ":" + b.textContent)`)
	if len(got) != 1 || !strings.HasPrefix(got[0], chatID+":") || !strings.Contains(got[0], "closed") {
		t.Fatalf("Olga's search results: %q", got)
	}
}
