// Selections with their progress and the agent's queue: stop, return,
// remove; refreshed every few seconds.
import { call, el } from "../api.js";
import { fmtDateTime, confirmAction } from "../ui.js";
import { t } from "../i18n.js";
import { EXT, q, panel, table, errorText, alertBox, noAgent } from "./util.js";

// WAIT names the reasons of the External API's wait field for the counts.
const WAIT = { calling: "queue.w_calling", stopped: "queue.w_stopped", retry_delay: "queue.w_retry", outside_time_slots: "queue.w_slots",
  channel_limit: "queue.w_channel", no_channels: "queue.w_nochannels", due: "queue.w_due" };

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
    if (cls === "danger" && !b.dataset.armed) { b.dataset.armed = "1"; b.textContent = t("queue.confirm_x", { action: label.toLowerCase() }); return; }
    delete b.dataset.armed; b.textContent = label;
    try { await call("POST", EXT + path + aq); ctx.announce(t("queue.done", { action: label })); await load(); } catch (x) { err.textContent = errorText(x); }
  } }, label);

  const load = async () => {
    const [sels, dialogs, calls] = await Promise.all([
      call("GET", EXT + "/selection" + aq),
      call("GET", EXT + "/queue/dialog" + q({ agent_uuid: ctx.agent, limit: 1000 })),
      call("GET", EXT + "/queue/call" + q({ agent_uuid: ctx.agent, limit: 50 })),
    ]);
    const by = {};
    for (const d of dialogs) { const k = WAIT[d.wait && d.wait.reason] ? t(WAIT[d.wait.reason]) : d.status; by[k] = (by[k] || 0) + 1; }
    counts.textContent = dialogs.length ? Object.entries(by).map(([k, v]) => `${v} ${k}`).join(", ") : t("queue.none_waiting");
    selBox.replaceChildren(table([
      { key: "name", label: t("queue.selection") },
      { key: "started_on", label: t("console.started"), render: (s) => fmtDateTime(s.started_on) },
      { key: "dialogs_count", label: t("queue.dialogs"), num: true },
      { key: "progress", label: t("queue.progress"), render: (s) => {
        const total = s.dialogs_count || 0, done = total - (s.pending_dialogs_count || 0);
        const p = el("progress", { max: total || 1, "aria-label": t("queue.progress_of", { name: s.name }) });
        p.value = s.is_completed ? (total || 1) : done;
        return el("span", { class: "row" }, p, s.is_completed ? t("queue.completed") : t("queue.n_of_done", { done, total }));
      } },
    ], sels, { caption: t("queue.selections"), empty: t("queue.no_selection") }));
    queueBox.replaceChildren(table([
      { key: "msisdn", label: t("queue.number") },
      { key: "status", label: t("live.status"), render: (d) => el("span", { class: "badge" }, d.status) },
      { key: "wait", label: t("queue.why"), render: (d) => d.wait ? el("span", { class: "wait", "data-reason": d.wait.reason }, d.wait.message) : "" },
      { key: "result", label: t("queue.last_result") },
      { key: "attempts", label: t("queue.attempts"), num: true },
      { key: "actions", label: "", render: (d) => d.status === "calling" ? "" : el("button", { type: "button", class: "danger", "aria-label": t("queue.remove_dialog", { number: d.msisdn }),
        onclick: async () => { if (!await confirmAction(t("queue.remove_confirm", { number: d.msisdn }), t("queue.remove"))) return; try { await call("POST", EXT + "/queue/remove" + q({ agent_uuid: ctx.agent, dialog_uuid: d.uuid })); await load(); } catch (x) { err.textContent = errorText(x); } } }, t("queue.remove")) },
    ], dialogs, { caption: t("queue.waiting"), empty: t("console.queue_empty") }));
    callBox.replaceChildren(table([
      { key: "date_added", label: t("console.started"), render: (c) => fmtDateTime(c.date_added) },
      { key: "msisdn", label: t("queue.number") },
      { key: "result", label: t("queue.result") },
      { key: "uuid", label: "", render: (c) => el("a", { href: "#/call/" + c.uuid }, t("queue.listen")) },
    ], calls, { caption: t("queue.recent"), empty: t("queue.no_call") }));
  };
  await load();
  const timer = setInterval(() => load().catch((x) => { err.textContent = errorText(x); }), 3000);
  main.replaceChildren(
    panel(t("queue.selections"), selBox),
    panel(t("nav.queue"), el("div", { class: "toolbar" }, control(t("queue.stop"), "/queue/stop"), control(t("queue.return"), "/queue/return"), control(t("queue.remove_waiting"), "/queue/remove", "danger")),
      el("p", { class: "muted small" }, t("queue.hint")),
      counts, err, queueBox),
    panel(t("queue.recent"), callBox));
  return () => clearInterval(timer);
}
