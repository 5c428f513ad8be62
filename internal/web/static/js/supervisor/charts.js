// Charts as inline SVG built with DOM calls (no inline styles: colours
// come from classes in supervisor.css).
import { el } from "../api.js";
import { parseUTC } from "./util.js";
import { t as tx } from "../i18n.js";

const NS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const KNOWN = ["completed", "hangup", "transfer", "failed", "no_answer", "busy", "fail", "interrupted"];
const cls = (r) => "r-" + (KNOWN.includes(r) ? r : "other");

// hourlyBars stacks the calls of each hour of [from, to] by result.
export function hourlyBars(calls, from, to) {
  const start = new Date(from); start.setMinutes(0, 0, 0);
  let hours = Math.max(1, Math.ceil((to - start) / 3600e3));
  // Keep the chart readable: at most 48 bars; trim empty hours at the ends.
  const buckets = new Map();
  for (const c of calls) {
    const h = Math.floor((parseUTC(c.date_added) - start) / 3600e3);
    if (h < 0 || h >= hours) continue;
    const b = buckets.get(h) || {};
    b[c.result] = (b[c.result] || 0) + 1;
    buckets.set(h, b);
  }
  let first = 0, last = hours - 1;
  if (buckets.size) { first = Math.min(...buckets.keys()); last = Math.max(...buckets.keys()); }
  if (last - first >= 48) first = last - 47;
  first = Math.max(0, Math.min(first, last - 5)); hours = last - first + 1;
  const W = 600, H = 240, L = 34, B = 40, T = 10;
  const max = Math.max(1, ...[...buckets.values()].map((b) => Object.values(b).reduce((x, y) => x + y, 0)));
  const bw = (W - L - 10) / hours;
  const y = (v) => H - B - (v / max) * (H - B - T);
  const bars = [];
  for (let i = 0; i < hours; i++) {
    const b = buckets.get(first + i) || {};
    let acc = 0;
    const x = L + i * bw + bw * 0.1;
    for (const r of Object.keys(b).sort()) {
      const y0 = y(acc), y1 = y(acc + b[r]);
      bars.push(s("rect", { x: x.toFixed(1), y: y1.toFixed(1), width: (bw * 0.8).toFixed(1), height: Math.max(0.5, y0 - y1).toFixed(1), class: cls(r) },
        s("title", {}, `${hourLabel(start, first + i)}: ${b[r]} ${r}`)));
      acc += b[r];
    }
    if (hours <= 12 || i % Math.ceil(hours / 12) === 0) {
      bars.push(s("text", { x: (x + bw * 0.4).toFixed(1), y: H - B + 14, "text-anchor": "middle" }, hourLabel(start, first + i)));
    }
  }
  const ticks = [0, Math.ceil(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const total = calls.length;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": tx("charts.calls_by_result_per_hour", { total }) },
    s("line", { x1: L, y1: H - B, x2: W - 5, y2: H - B, class: "axis" }),
    ticks.map((v) => [s("line", { x1: L - 4, y1: y(v), x2: W - 5, y2: y(v), class: "axis" }), s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, String(v))]),
    bars);
  const seen = [...new Set(calls.map((c) => c.result))].sort();
  return el("div", {}, svg, el("p", { class: "legend" }, seen.length ? seen.map((r) => el("span", {}, el("i", { class: cls(r) }), r)) : el("span", { class: "muted" }, tx("charts.no_calls_in_this_window"))));
}

function hourLabel(start, h) {
  const d = new Date(+start + h * 3600e3);
  return String(d.getHours()).padStart(2, "0") + ":00";
}

// gauge is a labelled horizontal bar: part of whole as a percentage.
export function gauge(label, part, whole, explain) {
  const pct = whole ? Math.round((part / whole) * 100) : 0;
  const W = 300;
  return el("div", { class: "gauge" },
    el("p", { class: "row" }, el("strong", {}, label), el("span", {}, whole ? `${pct}%` : "—"), el("span", { class: "muted small" }, tx("charts.part_of", { part, whole, explain }))),
    s("svg", { viewBox: `0 0 ${W} 16`, role: "img", "aria-label": `${label}: ${whole ? pct + "%" : tx("charts.no_data")}` },
      s("rect", { x: 0, y: 0, width: W, height: 16, rx: 4, class: "gauge-bg" }),
      s("rect", { x: 0, y: 0, width: (W * pct) / 100, height: 16, rx: 4, class: "gauge-fg" })));
}
