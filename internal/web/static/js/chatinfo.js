// The open chat's customer signs in the console (issue 14): since when the
// customer has been inactive after the operator's answer, and when the
// inactivity rule will close the chat; once the chat has ended, the
// customer's rating. Read from GET /v1/chats/{id} and kept live by the
// stream's events for the open chat.
import { call, el } from "./api.js";
import { t as tx } from "./i18n.js";

let shown = 0; // the chat whose signs are shown
let gen = 0;

function box() {
  let e = document.getElementById("chat-info");
  if (!e) {
    e = el("p", { id: "chat-info", class: "chat-info small", role: "status", "aria-live": "polite" });
    document.getElementById("chat-status").closest(".actions").after(e);
  }
  return e;
}

function ago(iso) {
  const m = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
  return m < 1 ? tx("chatinfo.less_than_a_minute") : tx("chatinfo.minutes", { n: m });
}

function time(iso) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }

function render(c) {
  const parts = [];
  if (c.customer_inactive_since) {
    parts.push(el("span", { class: "inactive", "data-since": c.customer_inactive_since },
      tx("chatinfo.customer_inactive_since") + time(c.customer_inactive_since) + " (" + ago(c.customer_inactive_since) + ")"));
    if (c.inactive_close_time) parts.push(" · closes at " + time(c.inactive_close_time) + " without an answer");
  }
  if (c.rating) {
    parts.push(el("span", { class: "rating", "data-rating": c.rating.rating },
      tx("chatinfo.customer_rating") + "★".repeat(c.rating.rating) + "☆".repeat(5 - c.rating.rating) + " " + c.rating.rating + "/5"),
    c.rating.comment ? " — “" + c.rating.comment + "”" : "");
  }
  box().replaceChildren(...parts);
  box().hidden = parts.length === 0;
}

// show reads and shows chat id's signs.
export async function show(id) {
  const mine = ++gen;
  shown = id;
  try {
    const c = await call("GET", "/v1/chats/" + id);
    if (mine === gen && shown === id) render(c);
  } catch (x) { console.warn(x); }
}

// onEvent refreshes the signs on what changes them: a message (the
// operator's starts the wait, the customer's ends it), the status, a rating.
export function onEvent(f, current) {
  if (!current || f.chat_id !== current) return;
  if (f.event === "message.created" || f.event === "chat.status" || f.event === "chat.rated") show(current);
}

// The inactivity time ticks without a reload.
setInterval(() => {
  const e = document.querySelector("#chat-info .inactive[data-since]");
  if (e) e.textContent = e.textContent.replace(/\([^)]*\)/, "(" + ago(e.dataset.since) + ")");
}, 15000);
