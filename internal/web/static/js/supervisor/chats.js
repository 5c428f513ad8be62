// Chat reports (issue 14): per menu and per operator over a window of days
// in a timezone, from GET /apps/api/v1/stats/chats: chats, first response
// and handle times (average, median, 90th percentile), CSAT and abandoned
// chats; chats per day as an inline SVG chart; the table exported as CSV
// through the pages' one formula-safe writer (csv.js).
import { call, el } from "../api.js";
import { q, panel, table, errorText, alertBox, download } from "./util.js";
import { toCSV } from "./csv.js";
import { t as tx } from "../i18n.js";

const REPORT = "/apps/api/v1/stats/chats";

function ymd(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// dur shows seconds as "42s", "3m 05s" or "1h 02m"; "" for none.
export function dur(sec) {
  if (sec === null || sec === undefined) return "";
  const s = Math.round(sec);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
}

const COLS = [
  { key: "kind", label: tx("chatrep.row") },
  { key: "name", label: tx("chatrep.name") },
  { key: "chats", label: tx("chatrep.chats"), num: true },
  { key: "abandoned", label: tx("chatrep.abandoned"), num: true },
  { key: "frt_avg", label: tx("chatrep.first_response_average"), num: true, time: true },
  { key: "frt_p50", label: tx("chatrep.first_response_median"), num: true, time: true },
  { key: "frt_p90", label: tx("chatrep.first_response_90th_percentile"), num: true, time: true },
  { key: "handle_avg", label: tx("chatrep.handle_time_average"), num: true, time: true },
  { key: "handle_p90", label: tx("chatrep.handle_time_90th_percentile"), num: true, time: true },
  { key: "csat_avg", label: "CSAT, average (1–5)", num: true },
  { key: "csat_count", label: "CSAT, ratings", num: true },
];

function flat(kind, r) {
  return { kind, name: r.name || (kind === tx("chatrep.operator") ? tx("chatrep.operator2") + r.id : "—"), chats: r.chats, abandoned: r.abandoned,
    frt_avg: r.first_response_seconds.avg, frt_p50: r.first_response_seconds.p50, frt_p90: r.first_response_seconds.p90,
    handle_avg: r.handle_seconds.avg, handle_p90: r.handle_seconds.p90,
    csat_avg: r.csat.avg, csat_count: r.csat.count };
}

const NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// dayBars draws chats per day, the abandoned part darker.
export function dayBars(days) {
  const W = 640, H = 180, pad = 28, n = Math.max(days.length, 1);
  const max = Math.max(1, ...days.map((d) => d.chats));
  const bw = (W - pad * 2) / n;
  const y = (v) => H - pad - (v / max) * (H - pad * 2);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "day-bars", "aria-label": tx("chatrep.chats_per_day") + days.map((d) => d.date + " " + d.chats).join(", ") });
  svg.append(s("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: "axis" }));
  svg.append(s("text", { x: 2, y: pad, class: "tick" }, String(max)));
  days.forEach((d, i) => {
    const x = pad + i * bw + bw * 0.15, w = bw * 0.7;
    const g = s("g", { "data-date": d.date });
    g.append(s("title", {}, tx("chatrep.day_title", { date: d.date, chats: d.chats, abandoned: d.abandoned }) + (d.csat.avg ? `, CSAT ${d.csat.avg}` : "")));
    if (d.chats) g.append(s("rect", { x, y: y(d.chats), width: w, height: H - pad - y(d.chats), class: "bar chats" }));
    if (d.abandoned) g.append(s("rect", { x, y: y(d.abandoned), width: w, height: H - pad - y(d.abandoned), class: "bar abandoned" }));
    if (n <= 31 && (n <= 10 || i % Math.ceil(n / 10) === 0)) g.append(s("text", { x: x + w / 2, y: H - 8, class: "tick", "text-anchor": "middle" }, d.date.slice(5)));
    svg.append(g);
  });
  return svg;
}

export async function render(main, ctx) {
  const now = new Date();
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const form = el("form", { class: "toolbar", "aria-label": tx("chatrep.report_window") },
    el("label", {}, tx("chatrep.from"), el("input", { type: "date", name: "from", value: ymd(new Date(+now - 6 * 864e5)), required: true })),
    el("label", {}, tx("chatrep.to"), el("input", { type: "date", name: "to", value: ymd(now), required: true })),
    el("label", {}, tx("chatrep.timezone"), el("input", { name: "tz", value: zone, size: 18, required: true, spellcheck: "false" })),
    el("button", { class: "primary", type: "submit" }, tx("chatrep.apply")),
    el("button", { type: "button", id: "chats-export" }, tx("chatrep.export_csv")));
  const err = alertBox();
  const out = el("div", { id: "chat-report" });
  const chart = el("figure", { class: "panel chart" }, el("figcaption", {}, el("h3", {}, tx("chatrep.chats_per_day2"))));
  let rows = [];

  const load = async () => {
    err.textContent = "";
    const rep = await call("GET", REPORT + q({ from: form.from.value, to: form.to.value, tz: form.tz.value.trim() }));
    rows = [flat(tx("chatrep.all"), rep.totals), ...rep.menus.map((m) => flat(tx("chatrep.menu"), m)), ...rep.operators.map((o) => flat(tx("chatrep.operator"), o))];
    const t = rep.totals;
    out.replaceChildren(
      el("p", { id: "chats-summary", role: "status" },
        tx(t.chats === 1 ? "chatrep.summary_one" : "chatrep.summary", { chats: t.chats, from: form.from.value, to: form.to.value, tz: rep.tz, abandoned: t.abandoned, median: dur(t.first_response_seconds.p50) || "—" }) +
        tx(t.csat.count === 1 ? "chatrep.summary_csat_one" : "chatrep.summary_csat", { csat: t.csat.avg ?? "—", ratings: t.csat.count })),
      table(COLS.map((c) => ({ key: c.key, label: c.label, num: c.num, render: c.time ? (r) => dur(r[c.key]) : (r) => r[c.key] ?? "" })),
        rows, { caption: tx("chatrep.chat_report"), empty: tx("chatrep.no_chats_in_this_window") }));
    chart.replaceChildren(el("figcaption", {}, el("h3", {}, tx("chatrep.chats_per_day2"))), dayBars(rep.days),
      el("p", { class: "muted small legend" }, el("span", { class: "key chats" }), " chats ", el("span", { class: "key abandoned" }), " abandoned"));
  };

  form.addEventListener("submit", (e) => { e.preventDefault(); load().catch((x) => { err.textContent = errorText(x); }); });
  form.querySelector("#chats-export").addEventListener("click", () => {
    // Times in seconds: a spreadsheet computes with numbers.
    download("chat-report.csv", toCSV(COLS.map((c) => c.key), rows), "text/csv");
    ctx.announce("CSV exported");
  });
  await load().catch((x) => { err.textContent = errorText(x); });
  main.replaceChildren(panel(tx("chatrep.chat_report"), form, err, out), chart);
}
