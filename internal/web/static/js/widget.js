// The end-user chat widget (in an iframe of the company's page, see
// widget-loader.js). It talks only to the public widget API
// (/v1/widget/projects/{project}/...) with its chat's widget token, which
// also opens the realtime stream. The session (visitor id, chat, token)
// lives in localStorage, so the conversation survives a reload. No chat
// exists before the visitor's first message: the widget only resumes a
// live chat when it opens, and the first message starts one.
import { el } from "./api.js";
import { Stream } from "./stream.js";
import { showRating, hideRating } from "./widget-csat.js";
import { t as tx } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const project = new URLSearchParams(location.search).get("project") || "";
const base = "/v1/widget/projects/" + encodeURIComponent(project);
const KEY = "parley.widget." + project;

const state = { sess: null, shown: new Map(), lastSeq: 0, loading: Promise.resolve(), operator: null, status: "", typingAt: 0, stream: null };

function load() { try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch { return {}; } }
function save(s) { localStorage.setItem(KEY, JSON.stringify(s)); }

function visitorID() {
  const s = load();
  if (s.visitor) return s.visitor;
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// startSession resumes the visitor's live chat of the project and keeps
// the fresh token; with text (the first message) it opens the chat with
// it. Without text and without a live chat it answers false: the session
// then has no chat.
async function startSession(text) {
  const visitor = visitorID();
  const req = text ? { visitor_id: visitor, text } : { visitor_id: visitor, resume_only: true };
  const res = await fetch(base + "/chats", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req) });
  const body = await res.json().catch(() => ({}));
  if (res.status === 404 && !text) {
    state.sess = { visitor };
    save(state.sess);
    return false;
  }
  if (!res.ok) throw new Error((body.error && body.error.message) || tx("widget.the_chat_could_not_start") + res.status + ").");
  state.sess = { visitor, chatId: body.chat_id, token: body.token, expires: Date.parse(body.expires_at) };
  save(state.sess);
  return true;
}

// api calls the widget API for the session's chat; an expired token is
// renewed once.
async function api(method, path, body, retried) {
  const opts = { method, headers: { Authorization: "Bearer " + state.sess.token } };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const res = await fetch(base + "/chats/" + state.sess.chatId + path, opts);
  if (res.status === 401 && !retried) {
    const chatId = state.sess.chatId;
    await startSession();
    if (state.sess.chatId !== chatId) { location.reload(); throw new Error(tx("widget.the_chat_has_ended")); }
    return api(method, path, body, true);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.error && data.error.message) || tx("widget.request_failed") + res.status + ").");
  return data;
}

function setStatus(text) { $("status").textContent = text; }
function showError(x) { $("error").textContent = x ? (x.message || String(x)) : ""; }

function enable(on) {
  $("send").querySelectorAll("textarea, button[type=submit], input").forEach((x) => { x.disabled = !on; });
  $("photo").disabled = !on || !state.sess || !state.sess.chatId; // a photo goes into a chat: the first message opens it
}

// ---- messages ----

function loadMessages() {
  state.loading = state.loading.then(fetchMessages, fetchMessages);
  return state.loading;
}

async function fetchMessages() {
  try {
    const res = await api("GET", "/messages?after_seq=" + state.lastSeq);
    for (const m of res.messages) addMessage(m);
  } catch (x) { showError(x); }
}

// WHO is a function: its words follow a language switch.
const WHO = () => ({ virtual_agent: tx("widget.assistant"), operator: tx("widget.agent"), end_user: tx("widget.you") });

function addNode(node, seq) {
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
  if (seq) state.shown.set(seq, node);
}

function addMessage(m) {
  if (state.shown.has(m.seq)) return;
  const mine = m.sender_type === "end_user";
  const who = m.sender_type === "operator" && state.operator ? state.operator : WHO()[m.sender_type] || m.sender_type;
  let body = m.content;
  if (m.type === "photo") body = el("img", { src: m.url, alt: mine ? tx("widget.your_photo") : tx("widget.photo") });
  else if (m.type === "video") body = el("video", { src: m.url, controls: true });
  addNode(el("div", { class: "msg from-" + m.sender_type + (mine ? " mine" : ""), "data-seq": m.seq },
    el("span", { class: "who" }, who), body), m.seq);
  state.lastSeq = Math.max(state.lastSeq, m.seq);
  if (!mine) $("typing").textContent = "";
}

function note(text) { addNode(el("div", { class: "msg system" }, text)); }

// joinedNote says the operator joined where it happened: before the first
// operator message after seq floor (they join, then write; floor is the
// last message shown when the status change was seen, 0 for a history read
// after a reload), else at the end, so that notices keep the order of
// events whichever answer comes back first.
function joinedNote(text, floor) {
  const first = [...$("log").querySelectorAll(".msg.from-operator")].find((m) => Number(m.dataset.seq) > floor);
  if (first) first.before(el("div", { class: "msg system" }, text));
  else note(text);
}

// ---- the chat's state ----

async function loadChat(floor = state.lastSeq) {
  const c = await api("GET", "");
  const name = c.operator ? c.operator.name : null;
  if (name && name !== state.operator) joinedNote(name + tx("widget.joined_the_chat"), floor);
  state.operator = name;
  state.status = c.status;
  const ended = ["finished", "dismissed", "timed_out"].includes(c.status);
  setStatus(ended ? tx("widget.the_chat_has_ended_thank") : c.status === "assigned" ? tx("widget.you_are_chatting_with") + name + "."
    : c.status === "queued" ? tx("widget.waiting_for_an_agent_to") : tx("widget.our_assistant_is_here_to"));
  enable(!ended);
  $("restart").hidden = !ended;
  endButton().hidden = ended;
  if (ended) showRating(c.rating, api);
}

// endButton is the visitor's "End chat" (built here: the page has no
// markup for it); the chat then asks for a rating.
function endButton() {
  let b = $("end");
  if (!b) {
    b = el("button", { id: "end", type: "button", hidden: true }, tx("widget.end_chat"));
    b.addEventListener("click", async () => {
      showError();
      try { await api("POST", "/end"); await loadChat(); } catch (x) { showError(x); }
    });
    $("close").before(b);
  }
  return b;
}

// idle is the widget before the first message: nothing to load, the
// composer ready.
function idle() {
  setStatus(tx("widget.write_us_a_message_we"));
  enable(true);
  $("restart").hidden = true;
  endButton().hidden = true;
}

// openChat watches the session's chat and shows it: the history first,
// then its state, so the notices fall where they happened.
async function openChat() {
  state.stream = new Stream({ token: () => state.sess.token, onEvent, onState, onResync: () => loadMessages() });
  state.stream.watch(state.sess.chatId);
  await loadMessages();
  await loadChat(0).catch(showError);
}

// ---- live updates ----

let typingTimer = null;
function onEvent(f) {
  if (!state.sess || f.chat_id !== state.sess.chatId) return;
  switch (f.event) {
    case "typing":
      if (f.data.sender_type === "operator") {
        $("typing").textContent = (state.operator || tx("widget.the_agent")) + tx("widget.is_typing");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 5000);
      }
      return;
    case "message.created":
    case "chat.media":
      loadMessages();
      return;
    case "chat.status":
      loadChat(state.lastSeq).catch(showError); // the floor as of the change, before any answer arrives
      loadMessages();
  }
}

let wasOffline = false;
function onState(s) {
  document.body.dataset.stream = s;
  if (s === "offline") {
    wasOffline = true;
    if (state.sess.expires - 60000 < Date.now()) startSession().catch(() => {}); // the stream needs a fresh token
    return;
  }
  if (wasOffline) { wasOffline = false; loadChat().catch(showError); loadMessages(); }
}

// ---- sending ----

$("send").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  showError();
  try {
    if (!state.sess.chatId) {
      // The first message opens the chat (or goes into the live one).
      await startSession(text);
      $("text").value = "";
      await openChat();
      $("text").focus();
      return;
    }
    await api("POST", "/messages", { text });
    $("text").value = "";
    state.typingAt = 0; // the message ends this burst of typing: the next key announces a new one
    await loadMessages();
  } catch (x) { showError(x); }
  $("text").focus();
});

$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("send").requestSubmit(); }
});

$("text").addEventListener("input", () => {
  if (!state.sess || !state.sess.chatId) return; // no chat yet: nobody to tell
  const now = Date.now();
  if (now - state.typingAt < 3000) return;
  state.typingAt = now;
  api("POST", "/typing").catch(() => {});
});

$("photo").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  showError();
  try {
    // The form carries the file's type; its fields go back as they are.
    const form = await api("POST", "/photos/upload", file.type.startsWith("image/") ? { content_type: file.type } : {});
    const fd = new FormData();
    for (const [k, v] of Object.entries(form.fields)) fd.append(k, v);
    fd.append("file", file);
    const up = await fetch(form.url, { method: "POST", body: fd });
    if (!up.ok) throw new Error(tx("widget.the_photo_was_not_sent") + up.status + ").");
    await api("POST", "/photos", { key: form.fields.key });
    await loadMessages();
  } catch (x) { showError(x); }
  e.target.value = "";
});

$("close").addEventListener("click", () => { if (window.parent !== window) window.parent.postMessage({ parley: "close" }, "*"); });

$("restart").addEventListener("click", () => {
  const s = load();
  save({ visitor: s.visitor });
  hideRating();
  location.reload();
});

// ---- start ----

async function main() {
  if (!project) { setStatus(tx("widget.this_widget_needs_a_project")); return; }
  const s = load();
  try {
    if (s.chatId && s.token && s.expires - 60000 > Date.now()) state.sess = s;
    else await startSession();
  } catch (x) { setStatus(x.message); return; }
  if (state.sess.chatId) await openChat();
  else idle();
  document.body.dataset.ready = "1";
}

main();
