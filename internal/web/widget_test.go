package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestWidgetKeepsConversation: the widget opens no chat before the
// visitor's first message, even across a reload; the first message starts
// it, and the conversation survives a reload of the host page.
func TestWidgetKeepsConversation(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Shop")
	project := shopProject(t, env, tn)
	user := browser(t)
	frame := openWidget(t, user, env, project)
	noChats := func(when string) {
		t.Helper()
		var chats struct {
			Chats []any `json:"chats"`
		}
		cMust(t, env.Do(t, "GET", "/apps/api/v1/chats", tn.Token, nil), 200).JSON(t, &chats)
		if len(chats.Chats) != 0 {
			t.Fatalf("%s: %d chats, want none before the first message", when, len(chats.Chats))
		}
	}
	noChats("the widget open")
	cWait(t, user, "the composer", `!`+widgetDoc+`.getElementById("text").disabled`)
	cRun(t, user, "reload before writing", chromedp.Reload())
	frame = openWidget(t, user, env, project)
	noChats("the widget reloaded")
	widgetSay(t, user, frame, "Where is my order?")
	cWait(t, user, "the greeting", frameHas("#log", "I am the shop assistant"))
	cWait(t, user, "the answer", frameHas("#log", "I can tell you about orders."))
	before := cEval[[]string](t, user, `[...`+widgetDoc+`.querySelectorAll("#log .msg")].map((m) => m.lastChild.textContent)`)

	cRun(t, user, "reload", chromedp.Reload())
	openWidget(t, user, env, project)
	cWait(t, user, "the history after the reload", frameHas("#log", "I can tell you about orders."))
	after := cEval[[]string](t, user, `[...`+widgetDoc+`.querySelectorAll("#log .msg")].map((m) => m.lastChild.textContent)`)
	if strings.Join(before, "|") != strings.Join(after, "|") || len(after) != 3 {
		t.Fatalf("before the reload %q, after %q", before, after)
	}
	var chats struct {
		Chats []any `json:"chats"`
	}
	cMust(t, env.Do(t, "GET", "/apps/api/v1/chats", tn.Token, nil), 200).JSON(t, &chats)
	if len(chats.Chats) != 1 {
		t.Fatalf("%d chats after a reload, want 1", len(chats.Chats))
	}

	// The visitor ends the chat: the widget says so and asks for a rating.
	frame = openWidget(t, user, env, project)
	cRun(t, user, "end the chat", chromedp.Click(chromedp.CSS(`#end`), chromedp.FromNode(frame)))
	cWait(t, user, "the chat ended", frameHas("#status", "The chat has ended"))
	cWait(t, user, "the rating form", `(() => { try { return !!`+widgetDoc+`.querySelector("#csat-form"); } catch (x) { return false; } })()`)
}
