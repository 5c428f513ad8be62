// What every page shows alike: dates, confirmations and errors people
// understand.
import { t, currentLang } from "./i18n.js";

// fmtDateTime is the pages' one date-time format: the browser's locale
// (the page's language), its timezone, and the zone's name shown.
export function fmtDateTime(v) {
  if (v === null || v === undefined || v === "") return "";
  let d = v;
  if (!(v instanceof Date)) {
    // The APIs answer "YYYY-MM-DD HH:MM:SS" in UTC, ISO strings or ms.
    d = typeof v === "string" && /^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$/.test(v) ? new Date(v.replace(" ", "T") + "Z") : new Date(v);
  }
  if (Number.isNaN(d.getTime())) return String(v);
  // dateStyle cannot be combined with timeZoneName: spell the fields out.
  return new Intl.DateTimeFormat(currentLang(), { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(d);
}

// fmtClock is the time of day alone, for messages of today's chats.
export function fmtClock(v) {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(currentLang(), { timeStyle: "medium" }).format(d);
}

// confirmAction asks before a destructive action in an in-page dialog
// (not window.confirm, which blocks the page and cannot be styled or
// translated); it resolves true when the person confirms.
export function confirmAction(message, okLabel) {
  return new Promise((resolve) => {
    const dlg = document.createElement("dialog");
    dlg.id = "confirm";
    dlg.className = "confirm panel";
    dlg.setAttribute("aria-labelledby", "confirm-text");
    const p = document.createElement("p");
    p.id = "confirm-text";
    p.textContent = message;
    const ok = document.createElement("button");
    ok.type = "button"; ok.id = "confirm-ok"; ok.className = "danger"; ok.textContent = okLabel || t("confirm.ok");
    const cancel = document.createElement("button");
    cancel.type = "button"; cancel.id = "confirm-cancel"; cancel.textContent = t("confirm.cancel");
    const row = document.createElement("div");
    row.className = "row";
    row.append(cancel, ok);
    dlg.append(p, row);
    document.body.append(dlg);
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    dlg.showModal();
    cancel.focus();
  });
}

// humanError turns an API error into a sentence for the person at the
// page: the status says what kind of problem it is; the API's own message
// stays for input problems, where it names the field.
export function humanError(x) {
  const s = x && x.status;
  if (s === 401) return t("err.session");
  if (s === 403) return t("err.forbidden");
  if (s === 404) return t("err.notfound");
  if (s === 409) return x.message || t("err.conflict");
  if (s === 429) return x.message || t("err.busy"); // the server says when to try again
  if (s >= 500) return t("err.server");
  if (s === 400 || s === 422) {
    const f = x.body && (x.body.fields || (x.body.error && x.body.error.fields));
    const detail = f ? Object.entries(f).map(([k, v]) => k + ": " + v).join("; ") : (x.message || "");
    return t("err.input", { detail });
  }
  if (x instanceof TypeError && /fetch|network/i.test(x.message)) return t("err.network");
  return (x && x.message) || t("err.server");
}

// landing is the page a user of a role starts on.
export function landing(role) { return role === "operator" ? "/console/" : "/supervisor/"; }
