package web_test

import (
	"testing"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-cc/parley/internal/testenv"
)

// TestPagesInRussian: switched to Russian, the console's inbox and calls
// panel, an older supervisor view (agents), the chat report and the widget
// (told the host page's language) show their labels from the Russian
// catalogue; English comes back on switching again.
func TestPagesInRussian(t *testing.T) {
	env := testenv.Start(t, testenv.SQLiteDSN(t))
	tn := env.NewTenant(t, "Russian")
	project := shopProject(t, env, tn)
	ctx := isolated(t, browser(t))
	chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			t.Logf("page exception: %s %v", e.ExceptionDetails.Text, e.ExceptionDetails.Exception.Description)
		}
	})

	// Console: the inbox's own controls follow the switch live.
	loginConsole(t, ctx, env, tn)
	waitJS(t, ctx, "the inbox in English", `document.querySelector("#search button[type=submit]").textContent === "Search"`)
	do(t, ctx, setValue(`#lang`, "ru"))
	waitJS(t, ctx, "the inbox in Russian", `document.querySelector("#search button[type=submit]").textContent === "Найти" &&
		document.querySelector("#transfer").textContent === "Передать…" &&
		document.querySelector("#search-q").placeholder === "Поиск по сообщениям (Alt+K)" &&
		document.querySelector("#closed-load").textContent === "Показать" &&
		document.querySelector("#mute").textContent === "Без звука"`)
	shoot(t, ctx, "console-ru.png")

	// Supervisor pages, still Russian (the choice is kept): the agents view
	// and the chat report.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#logout`)))
	waitJS(t, ctx, "the login page", `location.pathname === "/login" && !!document.querySelector("input[name=login]")`)
	logIn(t, ctx, env, tn.Login, tn.Password)
	waitJS(t, ctx, "the supervisor pages", `location.pathname === "/supervisor/" && document.querySelector("main").dataset.ready === "agents"`)
	waitJS(t, ctx, "agents in Russian", `document.documentElement.lang === "ru" && document.body.innerText.includes("Общие настройки")`)
	view(t, ctx, "#/chats", "chats")
	waitJS(t, ctx, "the chat report in Russian", pageHas("main button", "Выгрузить CSV")+` && `+pageHas("main label", "Часовой пояс"))
	shoot(t, ctx, "chat-reports-ru.png")

	// The widget speaks the host page's language.
	openWidget(t, ctx, env, project+"&lang=ru")
	waitJS(t, ctx, "the widget in Russian", `document.querySelector("#parley-launcher").textContent === "Закрыть чат" &&
		`+widgetDoc+`.querySelector("#send button[type=submit]").textContent === "Отправить" &&
		`+widgetDoc+`.querySelector("#text").placeholder === "Напишите сообщение…"`)
	shoot(t, ctx, "widget-ru.png")

	// And back to English on the supervisor pages.
	do(t, ctx, chromedp.Navigate(env.URL()+"/supervisor/#/chats"))
	waitJS(t, ctx, "the chat report", `document.querySelector("main").dataset.ready === "chats"`)
	do(t, ctx, setValue(`#lang`, "en"))
	waitJS(t, ctx, "the chat report in English", pageHas("main button", "Export CSV"))
}
