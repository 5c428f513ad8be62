// The supervisor views: a hash-routed page over the External API and the
// chat platform API. Each view module exports render(ctx) that fills the
// main element and may return a cleanup function.
import { call, el, logout, requireLogin } from "../api.js";
import * as agents from "./agents.js";
import * as script from "./script.js";
import * as upload from "./upload.js";
import * as queue from "./queue.js";
import * as stats from "./stats.js";
import * as callView from "./call.js";
import * as live from "./live.js";
import * as chats from "./chats.js";
import * as users from "./users.js";
import * as operators from "./operators.js";
import * as menus from "./menus.js";
import * as projects from "./projects.js";
import { t, onLang } from "../i18n.js";
import { humanError } from "../ui.js";

const views = { agents, script, upload, queue, stats, call: callView, live, users, operators, menus, projects, chats };
const AGENT_KEY = "parley.supervisor.agent";

const s = requireLogin();
// Operators work in the console: say so in words, not with the API's 403.
if (s.role === "operator") {
  document.getElementById("view").replaceChildren(el("div", { class: "panel", id: "wrong-role" },
    el("p", {}, t("sup.operator_here")), el("p", {}, el("a", { href: "/console/" }, t("sup.open_console")))));
  throw new Error("operator on the supervisor pages");
}
const main = document.getElementById("view");
const picker = document.getElementById("agent");
document.getElementById("who").textContent = s.login || "";
document.getElementById("logout").addEventListener("click", logout);

export const ctx = {
  agents: [],
  get agent() { return sessionStorage.getItem(AGENT_KEY) || ""; },
  set agent(v) { sessionStorage.setItem(AGENT_KEY, v); },
  // announce tells screen readers (and tests) what just happened.
  announce(text) { document.getElementById("status").textContent = text; },
  async reloadAgents() {
    ctx.agents = await call("GET", "/api/v2/ext/company-agents");
    picker.replaceChildren(...ctx.agents.map((a) => el("option", { value: a.agent_uuid }, a.name)));
    if (!ctx.agents.some((a) => a.agent_uuid === ctx.agent)) ctx.agent = ctx.agents.length ? ctx.agents[0].agent_uuid : "";
    picker.value = ctx.agent;
  },
};

picker.addEventListener("change", () => { ctx.agent = picker.value; route(); });

let cleanup = null;
let seq = 0;

async function route() {
  const [name, ...args] = (location.hash.replace(/^#\/?/, "") || "agents").split("/");
  const view = views[name] ? name : "agents";
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch { /* a view's cleanup must not stop the next one */ } cleanup = null; }
  const mine = ++seq;
  main.replaceChildren(el("p", { class: "muted" }, t("common.loading")));
  main.dataset.view = view;
  main.removeAttribute("data-ready");
  try {
    const c = await views[view].render(main, ctx, args.map(decodeURIComponent));
    if (mine !== seq) { if (typeof c === "function") c(); return; }
    cleanup = typeof c === "function" ? c : null;
    main.dataset.ready = view;
  } catch (x) {
    if (mine !== seq) return;
    main.replaceChildren(el("div", { class: "panel" }, el("p", { class: "error", role: "alert" }, humanError(x))));
  }
  document.title = t("sup.parley_supervisor") + " — " + t("nav." + view);
}

window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });

ctx.reloadAgents().then(route, (x) => {
  main.replaceChildren(el("div", { class: "panel" }, el("p", { class: "error", role: "alert" }, humanError(x))));
});
// A view renders its strings when shown: show it again in the new language.
onLang(() => route());
