// Selections with their progress and the agent's queue: stop, return,
// remove; refreshed every few seconds.
import { call, el } from "../api.js";
import { fmtDateTime, confirmAction } from "../ui.js";
import { t } from "../i18n.js";
import { EXT, q, panel, table, errorText, alertBox, noAgent } from "./util.js";

// WAIT names the reasons of the External API's wait field for the counts.
const WAIT = { calling: "calling", stopped: "stopped", retry_delay: "waiting for a retry", outside_time_slots: "outside the time slots",
  channel_limit: "waiting for a free channel", no_channels: "on an agent without channels", due: "due now" };

export async function render(main, ctx) {
  if (!ctx.agent) return noAgent(main);
  const aq = q({ agent_uuid: ctx.agent });
  const err = alertBox();
  const selBox = el("div", { id: "selections" });
  const queueBox = el("div", { id: "queue" });
  const callBox = el("div", { id: "calls" });
  const counts = el("p", { id: "queue-counts", role: "status" });

  const control = (label, path, cls) => el("button", { type: "button", class: cls, onclick: async (e) => {
    const b = e.currentTarget;
    if (cls === "danger" && !b.dataset.armed) { b.dataset.armed = "1"; b.textContent = "Confirm: " + label.toLowerCase(); return; }
    delete b.dataset.armed; b.textContent = label;
    try { await call("POST", EXT + path + aq); ctx.announce(label + ": done"); await load(); } catch (x) { err.textContent = errorText(x); }
  } }, label);

  const load = async () => {
    const [sels, dialogs, calls] = await Promise.all([
      call("GET", EXT + "/selection" + aq),
      call("GET", EXT + "/queue/dialog" + q({ agent_uuid: ctx.agent, limit: 1000 })),
      call("GET", EXT + "/queue/call" + q({ agent_uuid: ctx.agent, limit: 50 })),
    ]);
    const by = {};
    for (const d of dialogs) { const k = WAIT[d.wait && d.wait.reason] || d.status; by[k] = (by[k] || 0) + 1; }
    counts.textContent = dialogs.length ? Object.entries(by).map(([k, v]) => `${v} ${k}`).join(", ") : "No dialog is waiting.";
    selBox.replaceChildren(table([
      { key: "name", label: "Selection" },
      { key: "started_on", label: "Started", render: (s) => fmtDateTime(s.started_on) },
      { key: "dialogs_count", label: "Dialogs", num: true },
      { key: "p", label: "Progress", render: (s) => {
        const total = s.dialogs_count || 0, done = total - (s.pending_dialogs_count || 0);
        const p = el("progress", { max: total || 1, "aria-label": `Progress of ${s.name}` });
        p.value = s.is_completed ? (total || 1) : done;
        return el("span", { class: "row" }, p, s.is_completed ? "completed" : `${done} of ${total} done`);
      } },
    ], sels, { caption: "Selections", empty: "No selection yet." }));
    queueBox.replaceChildren(table([
      { key: "msisdn", label: "Number" },
      { key: "status", label: "Status", render: (d) => el("span", { class: "badge" }, d.status) },
      { key: "wait", label: "Why it waits", render: (d) => d.wait ? el("span", { class: "wait", "data-reason": d.wait.reason }, d.wait.message) : "" },
      { key: "result", label: "Last result" },
      { key: "attempts", label: "Attempts", num: true },
      { key: "x", label: "", render: (d) => d.status === "calling" ? "" : el("button", { type: "button", class: "danger", "aria-label": "Remove dialog " + d.msisdn,
        onclick: async () => { if (!await confirmAction(t("queue.remove_confirm", { number: d.msisdn }), t("queue.remove"))) return; try { await call("POST", EXT + "/queue/remove" + q({ agent_uuid: ctx.agent, dialog_uuid: d.uuid })); await load(); } catch (x) { err.textContent = errorText(x); } } }, "Remove") },
    ], dialogs, { caption: "Waiting dialogs", empty: "The queue is empty." }));
    callBox.replaceChildren(table([
      { key: "date_added", label: "Started", render: (c) => fmtDateTime(c.date_added) },
      { key: "msisdn", label: "Number" },
      { key: "result", label: "Result" },
      { key: "uuid", label: "", render: (c) => el("a", { href: "#/call/" + c.uuid }, "Listen") },
    ], calls, { caption: "Recent calls", empty: "No call yet." }));
  };
  await load();
  const timer = setInterval(() => load().catch((x) => { err.textContent = errorText(x); }), 3000);
  main.replaceChildren(
    panel("Selections", selBox),
    panel("Queue", el("div", { class: "toolbar" }, control("Stop", "/queue/stop"), control("Return", "/queue/return"), control("Remove waiting", "/queue/remove", "danger")),
      el("p", { class: "muted small" }, "Stop pauses the waiting dialogs, Return resumes them, Remove deletes them; calls in progress finish."),
      counts, err, queueBox),
    panel("Recent calls", callBox));
  return () => clearInterval(timer);
}
