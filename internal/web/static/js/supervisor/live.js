// Operators' live load and chat queue lengths per menu, from
// GET /apps/api/v1/stats/live, and the live phone calls with the calls in
// transfer per agent, from GET /v1/live-calls: refreshed when the stream
// reports a chat or call change and every few seconds anyway. Any live
// call can be listened to (calls.js).
import { call, el, session } from "../api.js";
import { fmtClock } from "../ui.js";
import { t } from "../i18n.js";
import { Stream } from "../stream.js";
import { panel, table, errorText, alertBox } from "./util.js";
import * as calls from "./calls.js";

export async function render(main) {
  const err = alertBox();
  const menus = el("div", { id: "live-menus" });
  const ops = el("div", { id: "live-operators" });
  const totals = el("p", { id: "live-totals", role: "status" });
  const state = el("span", { class: "badge offline", id: "live-state" }, t("live.connecting"));
  const updated = el("span", { class: "muted small" });

  const load = async () => {
    const st = await call("GET", "/apps/api/v1/stats/live");
    totals.textContent = t("live.totals", st.totals);
    menus.replaceChildren(table([
      { key: "name", label: t("live.menu") },
      { key: "queued", label: t("live.queued"), num: true },
      { key: "va", label: t("live.va"), num: true },
      { key: "assigned", label: t("live.assigned"), num: true },
    ], st.menus, { caption: t("nav.menus"), empty: t("menus.none") }));
    ops.replaceChildren(table([
      { key: "name", label: t("live.operator") },
      { key: "status", label: t("live.status"), render: (o) => el("span", { class: "badge " + o.status }, t("status." + o.status)) },
      { key: "load", label: t("live.load"), num: true, render: (o) => `${o.load} / ${o.capacity}` },
      { key: "share", label: t("live.share"), render: (o) => {
        const b = el("b", { class: o.capacity && o.load >= o.capacity ? "full" : null });
        b.style.width = (o.capacity ? Math.min(100, (100 * o.load) / o.capacity) : 0) + "%";
        return el("span", { class: "meter", role: "img", "aria-label": t("live.of", o) }, b);
      } },
    ], st.operators, { caption: t("nav.operators"), empty: t("ops.none") }));
    updated.textContent = t("live.updated", { time: fmtClock(new Date()) });
  };
  const callsBox = el("div", { id: "live-calls" });
  const loadCalls = () => calls.load(callsBox);
  await Promise.all([load(), loadCalls()]);

  let pending = 0;
  const soon = () => { if (!pending) pending = setTimeout(() => { pending = 0; load().catch((x) => { err.textContent = errorText(x); }); }, 300); };
  let pendingCalls = 0;
  const soonCalls = () => { if (!pendingCalls) pendingCalls = setTimeout(() => { pendingCalls = 0; loadCalls(); }, 200); };
  const stream = new Stream({
    token: () => (session() || {}).token || "", all: true, onEvent: soon, onResync: soon, calls: true, onCall: soonCalls,
    onState: (s) => { state.textContent = s === "online" ? t("live.live") : t("live.connecting"); state.className = "badge " + (s === "online" ? "online" : "offline"); },
  });
  const timer = setInterval(() => { load().catch((x) => { err.textContent = errorText(x); }); loadCalls(); }, 5000);
  main.replaceChildren(
    panel(t("live.title"), el("p", { class: "row" }, state, updated), totals, err),
    panel(t("live.calls"), callsBox),
    el("div", { class: "cols" }, panel(t("live.queues"), menus), panel(t("nav.operators"), ops)));
  return () => { clearInterval(timer); clearTimeout(pending); clearTimeout(pendingCalls); stream.close(); calls.stop(); };
}
