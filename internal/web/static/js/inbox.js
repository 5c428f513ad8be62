// The console's inbox (issue 14): rich list items (client, last message,
// waiting time, unread count, labels) from one /v1/inbox call per list,
// search over messages, closed chats and the client's past conversations,
// internal notes, transfers, labels, canned responses ("/shortcut" then
// Tab or space), keyboard shortcuts, and sound plus desktop notifications
// with a per-operator mute. console.js owns the open chat and the stream;
// it hands this module a few hooks (setupInbox).
import { call, el, fmtTime } from "./api.js";
import { t as tx } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let hooks = null;        // from console.js: openChat(id), current(), me(), notify(text)
let canned = [];         // the open chat's canned responses, with text filled in
let readTimer = null;

// WHO is a function: its words follow a language switch.
const WHO = () => ({ client: tx("inbox.customer"), operator: tx("inbox.operator"), virtual_agent: tx("inbox.virtual_agent"), system: tx("inbox.system") });

// ---- list items ----

// waited shows how long ago an ISO time was, tersely.
function waited(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
}

// itemBody is the inside of a list item's button.
export function itemBody(c, isNew) {
  const last = c.last_message;
  const preview = last ? (last.type === "text" || last.type === "transcript" ? last.content : "[" + last.type + "]") : tx("inbox.no_messages_yet");
  return [
    el("span", { class: "item-head" },
      el("span", { class: "client" }, c.client_name || tx("inbox.chat") + c.chat_id),
      c.unread > 0 ? el("span", { class: "badge unread-n", title: c.unread + " unread" }, String(c.unread)) : null,
      isNew ? el("span", { class: "visually-hidden" }, " • new") : null),
    el("span", { class: "muted small preview" }, last ? (WHO()[last.sender_type] || last.sender_type) + ": " + preview : preview),
    el("span", { class: "muted small" }, tx("inbox.chat") + c.chat_id,
      c.waiting_since ? el("span", { class: "waiting", "data-since": c.waiting_since }, " · waiting " + waited(c.waiting_since)) : null,
      c.customer_inactive_since ? el("span", { class: "quiet", "data-since": c.customer_inactive_since }, " · customer inactive " + waited(c.customer_inactive_since)) : null,
      c.labels && c.labels.length ? " · " + c.labels.join(", ") : null),
  ];
}

// Waiting times tick without a reload.
setInterval(() => {
  document.querySelectorAll(".waiting[data-since]").forEach((e) => { e.textContent = " · waiting " + waited(e.dataset.since); });
  document.querySelectorAll(".quiet[data-since]").forEach((e) => { e.textContent = " · customer inactive " + waited(e.dataset.since); });
}, 15000);

// lists reads the queue and the operator's chats: two calls, whatever
// their length (up to 1000 each).
export async function lists(label) {
  const q = label ? "&label=" + encodeURIComponent(label) : "";
  const [queue, mine] = await Promise.all([call("GET", "/v1/inbox?view=queue&limit=1000" + q), call("GET", "/v1/inbox?view=mine&limit=1000" + q)]);
  return { queue: queue.chats, mine: mine.chats };
}

// ---- panels the module adds to the page ----

function build() {
  const nav = document.querySelector("nav.lists");
  nav.prepend(
    el("form", { id: "search", class: "search", role: "search", onsubmit: (e) => { e.preventDefault(); search(); } },
      el("label", { for: "search-q", class: "visually-hidden", "data-i18n": "inbox.search_messages" }, tx("inbox.search_messages")),
      el("input", { id: "search-q", type: "search", placeholder: tx("inbox.search_messages_alt_k"), maxlength: "500", "data-i18n-attr": "placeholder:inbox.search_messages_alt_k" }),
      el("button", { type: "submit", "data-i18n": "inbox.search" }, tx("inbox.search"))),
    el("ul", { id: "search-results", class: "chatlist", "aria-label": tx("inbox.search_results"), hidden: true, "data-i18n-attr": "aria-label:inbox.search_results" }),
    el("label", { class: "row small" }, tx("inbox.label"), el("input", { id: "label-filter", type: "text", size: "10", placeholder: tx("inbox.any"),
      onchange: () => hooks.reload(), "data-i18n-attr": "placeholder:inbox.any" })));
  nav.append(
    el("h2", { id: "closed-h" }, tx("inbox.closed"), el("button", { type: "button", id: "closed-load", class: "small", onclick: loadClosed, "data-i18n": "inbox.show" }, tx("inbox.show"))),
    el("ul", { id: "closed", class: "chatlist", "aria-labelledby": "closed-h" }));

  const actions = document.querySelector("#chat-body .actions");
  actions.append(el("button", { id: "transfer", type: "button", onclick: openTransfer, "data-i18n": "inbox.transfer" }, tx("inbox.transfer")));
  document.querySelector("header.bar #presence").closest("label").after(
    el("span", { id: "presence-timer", class: "muted small", title: tx("inbox.time_in_this_presence"), "data-i18n-attr": "title:inbox.time_in_this_presence" }),
    el("button", { id: "mute", type: "button", "aria-pressed": "false", onclick: toggleMute, "data-i18n": "inbox.mute" }, tx("inbox.mute")),
    el("button", { id: "notify-perm", type: "button", onclick: askPermission, hidden: !("Notification" in window) || Notification.permission !== "default", "data-i18n": "inbox.enable_notifications" }, tx("inbox.enable_notifications")));

  $("reply").append(el("p", { id: "canned-hint", class: "muted small", "aria-live": "polite" }));
  $("chat-body").append(
    el("section", { id: "labels-box", class: "labels", "aria-label": tx("inbox.labels"), "data-i18n-attr": "aria-label:inbox.labels" },
      el("label", { for: "labels-input", "data-i18n": "inbox.labels2" }, tx("inbox.labels2")),
      el("input", { id: "labels-input", type: "text", placeholder: tx("inbox.labels_example"), maxlength: "900", "data-i18n-attr": "placeholder:inbox.labels_example" }),
      el("button", { type: "button", id: "labels-save", onclick: saveLabels, "data-i18n": "inbox.save_labels" }, tx("inbox.save_labels"))),
    el("section", { id: "notes-box", class: "notes", "aria-labelledby": "notes-h" },
      el("h3", { id: "notes-h" }, tx("inbox.internal_notes"), el("span", { class: "muted small", "data-i18n": "inbox.never_shown_to_the_customer" }, tx("inbox.never_shown_to_the_customer"))),
      el("ul", { id: "notes", class: "notes-list" }),
      el("form", { id: "note-form", onsubmit: addNote },
        el("label", { for: "note-text", class: "visually-hidden", "data-i18n": "inbox.note" }, tx("inbox.note")),
        el("textarea", { id: "note-text", rows: "2", maxlength: "10000", placeholder: tx("inbox.note_placeholder"), "data-i18n-attr": "placeholder:inbox.note_placeholder" }),
        el("button", { type: "submit", "data-i18n": "inbox.add_note" }, tx("inbox.add_note")))));
  $("customer").append(el("h3", { "data-i18n": "inbox.past_conversations" }, tx("inbox.past_conversations")), el("ul", { id: "history", class: "chatlist" }));

  document.body.append(el("dialog", { id: "transfer-dialog", "aria-labelledby": "transfer-h" },
    el("form", { method: "dialog", id: "transfer-form", onsubmit: doTransfer },
      el("h2", { id: "transfer-h", "data-i18n": "inbox.transfer_the_chat" }, tx("inbox.transfer_the_chat")),
      el("label", { for: "transfer-to", "data-i18n": "inbox.to_operator" }, tx("inbox.to_operator")),
      el("select", { id: "transfer-to", required: true }),
      el("label", { for: "transfer-note", "data-i18n": "inbox.note_for_them" }, tx("inbox.note_for_them")),
      el("textarea", { id: "transfer-note", rows: "3", maxlength: "10000" }),
      el("p", { id: "transfer-error", class: "error", role: "alert" }),
      el("div", { class: "row" },
        el("button", { type: "submit", class: "primary", "data-i18n": "inbox.transfer2" }, tx("inbox.transfer2")),
        el("button", { type: "button", onclick: () => $("transfer-dialog").close(), "data-i18n": "inbox.cancel" }, tx("inbox.cancel"))))));

  $("reply-text").addEventListener("keydown", expandCanned);
  $("reply-text").addEventListener("input", hintCanned);
  document.addEventListener("keydown", shortcuts);
}

// ---- search, closed chats, history ----

function hitItem(m) {
  return el("li", {}, el("button", { type: "button", "data-chat": m.chat_id, "data-message": m.message_id, onclick: () => hooks.openChat(m.chat_id) },
    el("span", { class: "client" }, m.client_name, " · ", m.chat_status),
    el("span", { class: "small" }, m.content),
    el("span", { class: "muted small" }, tx("inbox.chat") + m.chat_id + " · " + fmtTime(m.sent_time))));
}

async function search() {
  const q = $("search-q").value.trim();
  const ul = $("search-results");
  if (!q) { ul.hidden = true; return; }
  try {
    const res = await call("GET", "/v1/messages/search?q=" + encodeURIComponent(q));
    ul.hidden = false;
    ul.replaceChildren(...(res.messages.length ? res.messages.map(hitItem) : [el("li", { class: "muted small" }, tx("inbox.nothing_found"))]));
  } catch (x) { ul.hidden = false; ul.replaceChildren(el("li", { class: "error" }, x.message)); }
}

function chatItem(c) {
  return el("li", {}, el("button", { type: "button", "data-chat": c.chat_id, onclick: () => hooks.openChat(c.chat_id) }, ...itemBody(c, false)));
}

async function loadClosed() {
  const res = await call("GET", "/v1/inbox?view=closed&limit=50");
  $("closed").replaceChildren(...(res.chats.length ? res.chats.map(chatItem) : [el("li", { class: "muted small" }, tx("inbox.no_closed_chats"))]));
}

// ---- the open chat ----

// opened is called by console.js once a chat is open and its details read.
export async function opened(chat) {
  const id = chat.id;
  $("notes").replaceChildren();
  $("canned-hint").textContent = "";
  const ended = ["finished", "dismissed", "timed_out"].includes(chat.status);
  $("transfer").disabled = ended || chat.status === "va_assigned";
  const gen = ++notesGen;
  const [notes, cr, items] = await Promise.all([
    call("GET", "/v1/chats/" + id + "/notes").catch(() => ({ notes: [] })),
    call("GET", "/v1/chats/" + id + "/canned_responses").catch(() => ({ canned_responses: [] })),
    call("GET", "/v1/inbox?client_id=" + chat.end_user.id + "&limit=20").catch(() => ({ chats: [] })),
  ]);
  if (hooks.current() !== id) return;
  canned = cr.canned_responses;
  if (gen === notesGen) $("notes").replaceChildren(...notes.notes.map(noteItem));
  const mine = items.chats.find((c) => c.chat_id === id);
  $("labels-input").value = mine ? mine.labels.join(", ") : "";
  $("history").replaceChildren(...(items.chats.filter((c) => c.chat_id !== id).map(chatItem)));
  if (!$("history").children.length) $("history").append(el("li", { class: "muted small" }, tx("inbox.none")));
}

function noteItem(n) {
  return el("li", { class: "note" + (n.kind === "transfer" ? " transfer" : ""), "data-note": n.note_id },
    el("span", { class: "muted small" }, (n.kind === "transfer" ? tx("inbox.transfer_note") : tx("inbox.note")) + " · " + fmtTime(n.created_time)), " ", n.content);
}

async function addNote(e) {
  e.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  try {
    await call("POST", "/v1/chats/" + hooks.current() + "/notes", { content: text });
    $("note-text").value = "";
    await reloadNotes();
  } catch (x) { hooks.notify(x.message); }
}

// notesGen numbers the reads of the open chat's notes: only the latest
// one is shown, so a read begun before a note was added (the chat reopened
// while the operator wrote) never replaces the list that holds it.
let notesGen = 0;

async function reloadNotes() {
  const id = hooks.current();
  const gen = ++notesGen;
  const res = await call("GET", "/v1/chats/" + id + "/notes");
  if (id === hooks.current() && gen === notesGen) $("notes").replaceChildren(...res.notes.map(noteItem));
}

async function saveLabels() {
  const labels = $("labels-input").value.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    const res = await call("PUT", "/v1/chats/" + hooks.current() + "/labels", { labels });
    $("labels-input").value = res.labels.join(", ");
    hooks.notify(tx("inbox.labels_saved"));
    hooks.reload();
  } catch (x) { hooks.notify(x.message); }
}

// read moves the read marker after the messages shown (debounced).
export function read(id, seq) {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => { call("POST", "/v1/chats/" + id + "/read", { seq }).then(() => hooks.reload()).catch(() => {}); }, 300);
}

// ---- transfer ----

async function openTransfer() {
  $("transfer-error").textContent = "";
  try {
    const res = await call("GET", "/v1/operators");
    const me = hooks.me();
    const others = res.operators.filter((o) => !me || o.operator_id !== me.operator_id);
    $("transfer-to").replaceChildren(...others.map((o) => el("option", { value: o.operator_id, disabled: o.status === "offline" },
      o.name + " (" + o.status + ", " + o.load + "/" + o.capacity + ")")));
    $("transfer-dialog").showModal();
  } catch (x) { hooks.notify(x.message); }
}

async function doTransfer(e) {
  e.preventDefault();
  const id = hooks.current();
  try {
    await call("POST", "/v1/chats/" + id + "/transfer", { operator_id: Number($("transfer-to").value), note: $("transfer-note").value.trim() });
    $("transfer-dialog").close();
    $("transfer-note").value = "";
    hooks.notify(tx("inbox.chat") + id + tx("inbox.was_transferred"));
    hooks.reload();
  } catch (x) { $("transfer-error").textContent = x.message; }
}

// ---- canned responses ----

function matchCanned(v) {
  const m = /^\/([a-z0-9_-]*)$/i.exec(v);
  return m ? canned.filter((c) => c.shortcut.startsWith(m[1].toLowerCase())) : [];
}

function hintCanned() {
  const found = matchCanned($("reply-text").value);
  $("canned-hint").textContent = found.length ? found.slice(0, 5).map((c) => "/" + c.shortcut).join("  ") + " — Tab inserts" : "";
}

function expandCanned(e) {
  if (e.key !== "Tab" && e.key !== " ") return;
  const v = $("reply-text").value;
  const found = matchCanned(v);
  const exact = found.find((c) => "/" + c.shortcut === v.toLowerCase()) || (e.key === "Tab" && found.length === 1 ? found[0] : null);
  if (!exact) return;
  e.preventDefault();
  $("reply-text").value = exact.text;
  $("canned-hint").textContent = "";
}

// ---- keyboard shortcuts ----
// Alt+J / Alt+ArrowDown: next chat; Alt+K: search; Ctrl+Enter: send;
// Alt+F: finish (after confirmation).

function shortcuts(e) {
  if (e.altKey && (e.key === "j" || e.key === "ArrowDown")) {
    e.preventDefault();
    const all = [...document.querySelectorAll("#queue button[data-chat], #mine button[data-chat]")];
    const i = all.findIndex((b) => Number(b.dataset.chat) === hooks.current());
    const next = all[(i + 1) % Math.max(all.length, 1)];
    if (next) next.click();
  } else if (e.altKey && e.key === "k") {
    e.preventDefault();
    $("search-q").focus();
  } else if (e.ctrlKey && e.key === "Enter" && document.activeElement === $("reply-text")) {
    e.preventDefault();
    $("reply").requestSubmit();
  } else if (e.altKey && e.key === "f") {
    e.preventDefault();
    if (!$("finish").disabled) $("finish").click();
  }
}

// ---- sound and desktop notifications ----

function muteKey() { const me = hooks.me(); return "parley.mute." + (me ? me.operator_id : "0"); }
function muted() { return localStorage.getItem(muteKey()) === "1"; }
function showMute() { $("mute").setAttribute("aria-pressed", muted() ? "true" : "false"); $("mute").textContent = muted() ? tx("inbox.unmute") : tx("inbox.mute"); }
function toggleMute() { localStorage.setItem(muteKey(), muted() ? "0" : "1"); showMute(); }

async function askPermission() {
  if (!("Notification" in window)) return;
  await Notification.requestPermission();
  $("notify-perm").hidden = Notification.permission !== "default";
}

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const o = audio.createOscillator(), g = audio.createGain();
    o.frequency.value = 880; g.gain.value = 0.05;
    o.connect(g).connect(audio.destination);
    o.start(); o.stop(audio.currentTime + 0.15);
  } catch { /* no audio: the desktop notification remains */ }
}

// alert raises a sound and a desktop notification, unless muted; the page
// records the last one (data-last-alert) for tests and screen readers.
export function alert(title, body, chatId) {
  document.body.dataset.lastAlert = title;
  if (muted()) return;
  beep();
  if ("Notification" in window && Notification.permission === "granted" && (document.hidden || !document.hasFocus() || chatId !== hooks.current())) {
    try {
      const n = new Notification(title, { body, tag: "parley-chat-" + chatId });
      n.onclick = () => { window.focus(); if (chatId) hooks.openChat(chatId); };
      document.body.dataset.lastNotification = title;
    } catch { /* some browsers allow notifications from service workers only */ }
  }
}

// onEvent sees every stream frame before console.js does.
export function onEvent(f) {
  const me = hooks.me();
  switch (f.event) {
    case "note.created":
      if (f.chat_id === hooks.current()) reloadNotes().catch(() => {});
      break;
    case "chat.created":
      if (f.data.status === "queued") alert(tx("inbox.new_chat_waiting"), tx("inbox.chat") + f.chat_id + tx("inbox.is_in_the_queue"), f.chat_id);
      break;
    case "chat.status":
      if (f.data.status === "queued" && f.data.previous !== "queued") alert(tx("inbox.new_chat_waiting"), tx("inbox.chat") + f.chat_id + tx("inbox.is_in_the_queue"), f.chat_id);
      if (f.data.status === "assigned" && me && f.data.operator_id === me.operator_id && f.data.previous_operator_id && f.data.previous_operator_id !== me.operator_id)
        alert(tx("inbox.chat_transferred_to_you"), tx("inbox.chat") + f.chat_id + tx("inbox.is_yours_now"), f.chat_id);
      break;
    case "message.created":
      if (f.data.sender_type === "end_user" && (f.chat_id !== hooks.current() || document.hidden))
        alert(tx("inbox.new_message"), f.data.content ? String(f.data.content).slice(0, 120) : tx("inbox.chat") + f.chat_id, f.chat_id);
      break;
  }
}

// ---- presence timer ----

let presenceSince = Date.now();
export function presenceChanged() { presenceSince = Date.now(); tickPresence(); }
function tickPresence() { const e = $("presence-timer"); if (e) e.textContent = waited(new Date(presenceSince).toISOString()); }
setInterval(tickPresence, 1000);

export function setupInbox(h) {
  hooks = h;
  build();
  showMute();
  tickPresence();
}
