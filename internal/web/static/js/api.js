import { t as tx } from "./i18n.js";
// The pages' one way to reach Parley: its public APIs with the access
// token of the logged-in user, kept in sessionStorage (per tab; never in a
// cookie, so no other site can use it). A 401 refreshes the pair once.

const KEY = "parley.session";

export function session() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch { return null; }
}

function save(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); }

export function logout() { sessionStorage.removeItem(KEY); location.href = "/login?next=" + encodeURIComponent(location.pathname); }

// login asks for a token pair with the user's login and password.
export async function login(user, password) {
  const res = await fetch("/api/v2/ext/auth", { method: "POST", headers: { Authorization: "Basic " + btoa(unescape(encodeURIComponent(user + ":" + password))) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.message || tx("api.login_failed") + res.status + ")", body);
  save({ token: body.token, refresh: body.refresh_token, login: user, role: roleOf(body.token) });
  return session();
}

// roleOf reads the role from an access token's claims, to choose the
// page to land on; the APIs, not this, decide what the user may do.
function roleOf(token) {
  try {
    const b64 = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4))).role || "";
  } catch { return ""; }
}

async function refresh() {
  const s = session();
  if (!s || !s.refresh) return false;
  const res = await fetch("/api/v2/ext/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: s.refresh }) });
  if (!res.ok) return false;
  const body = await res.json();
  save({ ...s, token: body.token, refresh: body.refresh_token, role: roleOf(body.token) });
  return true;
}

// ApiError carries the server's message and status.
export class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

// call sends a JSON request (or a FormData / Blob body as is) and returns
// the decoded answer; errors of every family become ApiError.
export async function call(method, path, body, retried) {
  const s = session();
  const headers = {};
  if (s) headers.Authorization = "Bearer " + s.token;
  let payload = body;
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob) && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (typeof body === "string") {
    headers["Content-Type"] = "text/plain";
  }
  const res = await fetch(path, { method, headers, body: payload });
  if (res.status === 401 && !retried && await refresh()) return call(method, path, body, true);
  if (res.status === 401) { logout(); throw new ApiError(401, tx("api.your_session_ended_log_in")); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    const msg = (data && (data.message || (data.error && data.error.message))) || res.statusText;
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

// requireLogin sends the visitor to the login page unless a session exists.
export function requireLogin() {
  const s = session();
  if (!s) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("not logged in"); }
  return s;
}

// el builds an element: el("button", {class: "primary", onclick}, "Text").
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

// fmtTime shows a timestamp (ISO string, the APIs' UTC "YYYY-MM-DD
// HH:MM:SS", or ms) in the pages' one format (ui.js).
export { fmtDateTime as fmtTime } from "./ui.js";
