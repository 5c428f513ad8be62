// Statistics: the output entities of finished dialogs (dialog-report)
// joined with their calls, filtered by time window and result, exported to
// CSV in the browser, and charts drawn as inline SVG.
import { call, el } from "../api.js";
import { EXT, q, panel, table, errorText, alertBox, noAgent, utc, localInput, parseUTC, download } from "./util.js";
import { hourlyBars, gauge } from "./charts.js";
import { toCSV } from "./csv.js";
import { t as tx } from "../i18n.js";

const RESULTS = ["completed", "hangup", "transfer", "failed", "no_answer", "busy", "fail", "interrupted"];
const ANSWERED = new Set(["completed", "hangup", "transfer", "failed"]);
const FIXED = ["date", "msisdn", "result", "dialog_uuid", "call_uuid"];

export async function render(main, ctx) {
  if (!ctx.agent) return noAgent(main);
  const now = new Date();
  const form = el("form", { class: "toolbar", "aria-label": tx("stats.filters") },
    el("label", {}, tx("stats.from"), el("input", { type: "datetime-local", name: "from", value: localInput(new Date(now - 24 * 3600e3)), required: true })),
    el("label", {}, tx("stats.to"), el("input", { type: "datetime-local", name: "to", value: localInput(new Date(+now + 3600e3)), required: true })),
    el("label", {}, tx("stats.result"), el("select", { name: "result" }, el("option", { value: "" }, tx("stats.any")), RESULTS.map((r) => el("option", {}, r)))),
    el("button", { class: "primary", type: "submit" }, tx("stats.apply")),
    el("button", { type: "button", id: "export" }, tx("stats.export_csv")));
  const err = alertBox();
  const out = el("div", { id: "report" });
  const charts = el("div", { class: "charts", id: "charts" });
  let shown = { cols: [], rows: [] };

  const load = async () => {
    err.textContent = "";
    const from = new Date(form.from.value), to = new Date(form.to.value);
    // The calls of the window, newest first, for results and charts.
    const calls = [];
    for (let offset = 0; offset < 20000; offset += 1000) {
      const page = await call("GET", EXT + "/queue/call" + q({ agent_uuid: ctx.agent, limit: 1000, offset }));
      calls.push(...page);
      if (page.length < 1000 || parseUTC(page[page.length - 1].date_added) < from) break;
    }
    const inWindow = calls.filter((c) => { const t = parseUTC(c.date_added); return t >= from && t <= to; });
    const byCall = new Map(calls.map((c) => [c.uuid, c]));
    // The finished dialogs of the window with their outputs.
    const rows = [];
    for (let offset = 0; offset < 20000; offset += 1000) {
      const page = await call("POST", EXT + "/statistic/dialog-report", { agent_uuid: ctx.agent, start: utc(from), end: utc(to), limit: 1000, offset });
      rows.push(...page.result);
      if (rows.length >= page.total || !page.result.length) break;
    }
    const outputs = [...new Set(rows.flatMap((r) => Object.keys(r)).filter((k) => !FIXED.includes(k)))].sort();
    const joined = rows.map((r) => {
      const c = byCall.get(r.call_uuid) || {};
      return { ...r, date: c.date_added || "", msisdn: c.msisdn || "", result: c.result || "" };
    }).filter((r) => !form.result.value || r.result === form.result.value);
    const cols = ["date", "msisdn", "result", ...outputs, "dialog_uuid", "call_uuid"];
    shown = { cols, rows: joined };
    out.replaceChildren(
      el("p", { id: "report-count", role: "status" }, tx(joined.length === 1 ? "stats.in_the_window_one" : "stats.in_the_window", { n: joined.length })),
      table(cols.map((k) => ({ key: k, label: k === "date" ? "call (UTC)" : k.replace(/_/g, " "),
        render: k === "call_uuid" ? (r) => r.call_uuid ? el("a", { href: "#/call/" + r.call_uuid }, tx("stats.listen")) : ""
          : k === "dialog_uuid" ? (r) => el("code", { class: "small" }, String(r.dialog_uuid).slice(0, 8)) : null })),
      joined, { caption: tx("stats.dialog_report"), empty: tx("stats.no_finished_dialog_in_this") }));

    const answered = inWindow.filter((c) => ANSWERED.has(c.result));
    const completed = answered.filter((c) => c.result === "completed" || c.result === "hangup");
    charts.replaceChildren(
      el("figure", { class: "panel chart" }, el("figcaption", {}, el("h3", {}, tx("stats.calls_by_result_per_hour"))), hourlyBars(inWindow, from, to)),
      el("figure", { class: "panel chart" }, el("figcaption", {}, el("h3", {}, tx("stats.rates"))),
        gauge(tx("stats.answer_rate"), answered.length, inWindow.length, tx("stats.answered_of_all")),
        gauge(tx("stats.completion_rate"), completed.length, answered.length, tx("stats.answered_calls_the_script_ended"))));
  };

  form.addEventListener("submit", (e) => { e.preventDefault(); load().catch((x) => { err.textContent = errorText(x); }); });
  form.querySelector("#export").addEventListener("click", () => {
    download("dialog-report.csv", toCSV(shown.cols, shown.rows), "text/csv");
    ctx.announce("CSV exported");
  });
  await load().catch((x) => { err.textContent = errorText(x); });
  main.replaceChildren(panel(tx("stats.dialog_report"), form, err, out), charts);
}
