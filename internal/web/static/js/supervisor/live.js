// Operators' live load and chat queue lengths per menu, from
// GET /apps/api/v1/stats/live, and the live phone calls with the calls in
// transfer per agent, from GET /v1/live-calls: refreshed when the stream
// reports a chat or call change and every few seconds anyway. Any live
// call can be listened to (calls.js).
import { call, el, session } from "../api.js";
import { fmtClock } from "../ui.js";
import { Stream } from "../stream.js";
import { panel, table, errorText, alertBox } from "./util.js";
import * as calls from "./calls.js";

export async function render(main) {
  const err = alertBox();
  const menus = el("div", { id: "live-menus" });
  const ops = el("div", { id: "live-operators" });
  const totals = el("p", { id: "live-totals", role: "status" });
  const state = el("span", { class: "badge offline", id: "live-state" }, "connecting");
  const updated = el("span", { class: "muted small" });

  const load = async () => {
    const st = await call("GET", "/apps/api/v1/stats/live");
    totals.textContent = `${st.totals.queued} queued, ${st.totals.va} with virtual agents, ${st.totals.assigned} with operators.`;
    menus.replaceChildren(table([
      { key: "name", label: "Menu" },
      { key: "queued", label: "Queued", num: true },
      { key: "va", label: "Virtual agent", num: true },
      { key: "assigned", label: "Assigned", num: true },
    ], st.menus, { caption: "Menus", empty: "No menus." }));
    ops.replaceChildren(table([
      { key: "name", label: "Operator" },
      { key: "status", label: "Status", render: (o) => el("span", { class: "badge " + o.status }, o.status) },
      { key: "load", label: "Load", num: true, render: (o) => `${o.load} / ${o.capacity}` },
      { key: "m", label: "Share of capacity", render: (o) => {
        const b = el("b", { class: o.capacity && o.load >= o.capacity ? "full" : null });
        b.style.width = (o.capacity ? Math.min(100, (100 * o.load) / o.capacity) : 0) + "%";
        return el("span", { class: "meter", role: "img", "aria-label": `${o.load} of ${o.capacity}` }, b);
      } },
    ], st.operators, { caption: "Operators", empty: "No operators." }));
    updated.textContent = "Updated " + fmtClock(new Date());
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
    onState: (s) => { state.textContent = s === "online" ? "live" : s; state.className = "badge " + (s === "online" ? "online" : "offline"); },
  });
  const timer = setInterval(() => { load().catch((x) => { err.textContent = errorText(x); }); loadCalls(); }, 5000);
  main.replaceChildren(
    panel("Live load", el("p", { class: "row" }, state, updated), totals, err),
    panel("Phone calls", callsBox),
    el("div", { class: "cols" }, panel("Chat queues per menu", menus), panel("Operators", ops)));
  return () => { clearInterval(timer); clearTimeout(pending); clearTimeout(pendingCalls); stream.close(); calls.stop(); };
}
