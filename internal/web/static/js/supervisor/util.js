// Small helpers shared by the supervisor views.
import { el } from "../api.js";
import { t } from "../i18n.js";

export const EXT = "/api/v2/ext";

// q builds a query string from an object, skipping empty values.
export function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}

export function panel(title, ...children) {
  return el("section", { class: "panel", "aria-label": title }, el("h2", {}, title), ...children);
}

// table renders rows (objects) with columns [{key, label, num, render}].
export function table(columns, rows, { caption, empty } = {}) {
  if (!rows.length) return el("p", { class: "muted" }, empty || t("util.nothing_yet"));
  return el("div", { class: "table-wrap" }, el("table", {},
    caption ? el("caption", { class: "visually-hidden" }, caption) : null,
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null }, c.label || el("span", { class: "visually-hidden" }, t("col.actions")))))),
    el("tbody", {}, rows.map((r) => el("tr", {}, columns.map((c) => el("td", { class: c.num ? "num" : null },
      c.render ? c.render(r) : (r[c.key] ?? ""))))))));
}

// errorBox shows an ApiError (with its fields) in an alert.
export function errorText(x) {
  const fields = x && x.body && x.body.fields ? Object.entries(x.body.fields).map(([k, v]) => k + ": " + v).join("; ") : "";
  return fields && !String(x.message).includes(fields) ? x.message + " (" + fields + ")" : x.message;
}

export function alertBox() { return el("p", { class: "error", role: "alert" }); }

// noAgent is the view for a company without agents.
export function noAgent(main) {
  main.replaceChildren(panel(t("util.no_agent"), el("p", {}, t("util.this_company_has_no_agent"))));
}

// utc formats a Date as the External API's "YYYY-MM-DD HH:MM:SS" in UTC.
export function utc(d) { return d.toISOString().slice(0, 19).replace("T", " "); }

// localInput formats a Date for a datetime-local input.
export function localInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// parseUTC reads the API's "YYYY-MM-DD HH:MM:SS" (UTC) as a Date.
export function parseUTC(s) { return new Date(String(s).replace(" ", "T") + "Z"); }

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
