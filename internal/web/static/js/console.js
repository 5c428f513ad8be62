// The operator console: presence, the live queue and own chats, one open
// chat with its history, the customer's details, replies (text, photos),
// typing, escalation and finishing. Live updates come from the resumable
// stream (stream.js); messages are always read from the API after the last
// message seq shown, so a reconnection never loses or repeats one.
import { call, requireLogin, session, logout, el, fmtTime, ApiError } from "./api.js";
import { t, onLang } from "./i18n.js";
import { confirmAction, humanError, fmtClock } from "./ui.js";
import { Stream } from "./stream.js";
import * as calls from "./calls.js";
import * as inbox from "./inbox.js";
import * as chatInfo from "./chatinfo.js";

requireLogin();

const $ = (id) => document.getElementById(id);
const state = {
  me: null,
  chats: new Map(),     // chat id -> v1 chat object (queue and mine)
  unread: new Set(),
  current: null,        // open chat id
  shown: new Map(),     // seq -> element, of the open chat
  lastSeq: 0,
  photos: new Map(),    // media key -> signed URL, of the open chat
  loading: Promise.resolve(),
  typingAt: 0,
};


function notify(text) { $("notify").textContent = text; }

function showError(x) { $("reply-error").textContent = x instanceof ApiError || x instanceof Error ? humanError(x) : String(x); }

// notOperator replaces the console with where an admin's work is.
function notOperator() {
  $("chat-title").textContent = t("console.no_chat_open");
  $("chat-empty").replaceChildren(el("span", { id: "wrong-role" }, t("console.not_operator"), " "),
    el("a", { href: "/supervisor/" }, t("console.open_supervisor")));
}

// ---- presence ----

async function loadMe() {
  state.me = await call("GET", "/v1/operators/me");
  $("me").textContent = state.me.name + " (" + session().login + ")";
  $("presence").value = state.me.status;
  $("presence").disabled = false;
}

$("presence").addEventListener("change", async (e) => {
  try {
    state.me = await call("PATCH", "/v1/operators/" + state.me.operator_id, { status: e.target.value });
    notify(t("console.you_are", { status: t("status." + state.me.status).toLowerCase() }));
    inbox.presenceChanged();
    scheduleLists();
  } catch (x) { alert(x.message); e.target.value = state.me.status; }
});

$("logout").addEventListener("click", () => { stream.close(); logout(); });

// ---- chat lists ----

let listTimer = null;
function scheduleLists() { clearTimeout(listTimer); listTimer = setTimeout(loadLists, 100); }

async function loadLists() {
  try {
    // One inbox call per list: client, last message, waiting, unread.
    const { queue, mine } = await inbox.lists($("label-filter").value.trim());
    state.chats.clear();
    for (const c of [...queue, ...mine]) state.chats.set(c.chat_id, c);
    renderList($("queue"), queue, t("console.queue_empty"));
    renderList($("mine"), mine, t("console.mine_empty"));
    $("queue-n").textContent = queue.length;
    $("mine-n").textContent = mine.length;
    document.title = (state.unread.size ? "(" + state.unread.size + ") " : "") + t("console.parley_console");
  } catch (x) { if (!(x instanceof ApiError) || x.status !== 401) console.warn(x); }
}

function renderList(ul, chats, empty) {
  ul.replaceChildren(...(chats.length ? chats.map((c) => el("li", {},
    el("button", { type: "button", "data-chat": c.chat_id, "aria-current": c.chat_id === state.current ? "true" : "false",
      class: state.unread.has(c.chat_id) ? "unread" : null, onclick: () => openChat(c.chat_id) },
      ...inbox.itemBody(c, state.unread.has(c.chat_id))))) :
    [el("li", { class: "muted small" }, empty)]));
}

// ---- the open chat ----

async function openChat(id) {
  if (state.current && state.current !== id) stream.unwatch(state.current);
  state.current = id;
  state.unread.delete(id);
  state.shown.clear(); state.lastSeq = 0; state.photos.clear();
  $("log").replaceChildren();
  $("typing").textContent = "";
  $("chat-title").textContent = t("console.chat_n", { id });
  $("chat-empty").hidden = true;
  $("chat-body").hidden = false;
  stream.watch(id);
  loadLists();
  await Promise.all([loadChat(), loadMessages()]);
  if (state.chat && state.chat.id === id) inbox.opened(state.chat).catch((x) => console.warn(x));
  $("reply-text").focus();
}

async function loadChat() {
  const id = state.current;
  if (!id) return;
  const [c, flags] = await Promise.all([call("GET", "/apps/api/v1/chats/" + id), call("GET", "/apps/api/v1/chats/" + id + "/customer_flag")]);
  if (id !== state.current) return;
  state.chat = c;
  const mine = c.agent && state.me && c.agent.id === state.me.operator_id;
  const ended = ["finished", "dismissed", "timed_out"].includes(c.status);
  $("chat-status").textContent = c.status_text;
  $("chat-status").className = "badge " + (mine ? "online" : ended ? "offline" : "busy");
  $("take").hidden = c.status !== "queued";
  $("escalate").disabled = ended || c.status === "queued";
  $("finish").disabled = ended;
  $("deflection").disabled = ended;
  if (c.deflection_channel) $("deflection").value = c.deflection_channel;
  $("reply").querySelectorAll("textarea, button, input").forEach((x) => { x.disabled = ended; });
  renderCustomer(c, flags);
  chatInfo.show(id);
}

function renderCustomer(c, flags) {
  const dl = (pairs) => el("dl", {}, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const custom = Object.entries(c.custom_data || {}).map(([k, v]) => [v && v.label ? v.label : k, v && typeof v === "object" && "value" in v ? String(v.value) : JSON.stringify(v)]);
  const ctx = Object.entries(c.context || {}).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
  $("customer-body").className = "";
  $("customer-body").replaceChildren(
    dl([[t("console.end_user"), c.end_user.identifier], [t("common.language"), c.lang], [t("console.started"), fmtTime(c.created_at)],
      [t("console.virtual_agents"), c.all_virtual_agents.map((a) => a.name).join(", ") || t("console.none_lc")],
      [t("nav.operators"), c.all_agents.map((a) => a.name).join(", ") || t("console.none_lc")]]),
    el("h3", {}, t("console.flags")),
    el("ul", { class: "flags" },
      el("li", {}, t("console.verified"), ": ", flags.verified_customer ? t("common.yes") : t("common.no")),
      el("li", {}, t("console.repeat"), ": ", flags.repeat_customer ? t("common.yes") : t("common.no")),
      el("li", {}, t("console.bad_actor"), ": ", flags.bad_actor ? t("common.yes") : t("common.no"))),
    el("h3", {}, t("console.custom_data")), custom.length ? dl(custom) : el("p", { class: "muted small" }, t("console.none")),
    el("h3", {}, t("console.context")), ctx.length ? dl(ctx) : el("p", { class: "muted small" }, t("console.none")));
}

// loadMessages reads the open chat's messages after the last one shown;
// calls are serialized, so each message is added once, in seq order.
function loadMessages() {
  state.loading = state.loading.then(fetchMessages, fetchMessages);
  return state.loading;
}

async function fetchMessages() {
  const id = state.current;
  if (!id) return;
  try {
    const res = await call("GET", "/v1/chats/" + id + "/messages?after_seq=" + state.lastSeq);
    if (id !== state.current) return;
    const media = res.messages.filter((m) => (m.type === "photo" || m.type === "video") && !state.photos.has(m.content));
    if (media.length) {
      const [photos, videos] = await Promise.all([call("GET", "/apps/api/v1/chats/" + id + "/photos"), call("GET", "/apps/api/v1/chats/" + id + "/videos")]);
      for (const p of [...photos, ...videos]) state.photos.set(p.s3_path, p.url);
    }
    for (const m of res.messages) addMessage(m);
    if (res.messages.length) inbox.read(id, state.lastSeq);
  } catch (x) { console.warn(x); }
}

const WHO = { client: "console.who_client", virtual_agent: "console.who_va", system: "console.who_system", operator: "console.who_operator" };

function addMessage(m) {
  if (state.shown.has(m.seq)) return;
  const mine = m.sender_type === "operator" && state.me && m.sender_id === state.me.operator_id;
  const who = mine ? t("console.who_you") : WHO[m.sender_type] ? t(WHO[m.sender_type]) : m.sender_type;
  let body;
  if (m.type === "photo") body = el("img", { src: state.photos.get(m.content) || "", alt: t("console.photo_from", { who: who.toLowerCase() }) });
  else if (m.type === "video") body = el("video", { src: state.photos.get(m.content) || "", controls: true });
  else body = m.content;
  const node = el("div", { class: "msg" + (mine ? " mine" : m.sender_type === "system" ? " system" : "") + " from-" + m.sender_type, "data-seq": m.seq },
    el("span", { class: "who" }, who, " · ", fmtClock(m.sent_time)), body);
  // Keep seq order even if an older one arrives late.
  let before = null;
  for (const [seq, e] of state.shown) if (seq > m.seq && (!before || seq < +before.dataset.seq)) before = e;
  $("log").insertBefore(node, before);
  state.shown.set(m.seq, node);
  state.lastSeq = Math.max(state.lastSeq, m.seq);
  $("log").scrollTop = $("log").scrollHeight;
  if (m.sender_type !== "operator") $("typing").textContent = "";
}

// ---- actions ----

async function act(fn) {
  showError("");
  try { await fn(); } catch (x) { showError(x); }
  await loadChat().catch(() => {});
  scheduleLists();
}

$("take").addEventListener("click", () => act(async () => {
  await call("PATCH", "/v1/chats/" + state.current, { status: "assigned" });
  notify(t("console.took", { id: state.current }));
}));

$("escalate").addEventListener("click", () => act(async () => {
  await call("POST", "/apps/api/v1/chats/" + state.current + "/escalations", { reason: "operator_escalated", force_escalate: true });
  notify(t("console.requeued", { id: state.current }));
}));

$("finish").addEventListener("click", async () => {
  const id = state.current;
  if (!await confirmAction(t("console.finish_confirm", { id }), t("console.finish"))) return;
  await act(async () => {
    await call("PATCH", "/apps/api/v1/chats/" + id,
      { chat: { status: "finished", deflection_channel: $("deflection").value } });
    notify(t("console.finished", { id }));
  });
});

$("reply").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return;
  await act(async () => {
    await call("POST", "/apps/api/v1/chats/" + state.current + "/message", { message: { type: "text", content: text } });
    $("reply-text").value = "";
    state.typingAt = 0; // the message ends this burst of typing
    await loadMessages();
  });
  $("reply-text").focus();
});

$("reply-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply").requestSubmit(); }
});

$("reply-text").addEventListener("input", () => {
  const now = Date.now();
  if (!state.current || now - state.typingAt < 3000) return;
  state.typingAt = now;
  call("POST", "/apps/api/v1/chats/" + state.current + "/typing").catch(() => {});
});

$("photo").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  await act(async () => {
    const id = state.current;
    // The form carries the file's type; its fields go back as they are.
    const form = await call("POST", "/apps/api/v1/chats/" + id + "/photos/upload", file.type.startsWith("image/") ? { content_type: file.type } : {});
    const fd = new FormData();
    for (const [k, v] of Object.entries(form.fields)) fd.append(k, v);
    fd.append("file", file);
    const up = await fetch(form.url, { method: "POST", body: fd });
    if (!up.ok) throw new Error(t("console.photo_failed", { status: up.status }));
    await call("POST", "/apps/api/v1/chats/" + id + "/photos", { photo: [{ s3_path: form.fields.key, photo_type: file.type }] });
    await loadMessages();
  });
  e.target.value = "";
});

// ---- live updates ----

let typingTimer = null;
function onEvent(f) {
  const id = f.chat_id;
  inbox.onEvent(f);
  chatInfo.onEvent(f, state.current);
  switch (f.event) {
    case "typing":
      if (id === state.current && f.data.sender_type === "end_user") {
        $("typing").textContent = t("console.typing");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 5000);
      }
      return;
    case "message.created":
    case "chat.media":
      if (id === state.current) { loadMessages(); scheduleLists(); } // the item's last message and inactivity
      else if (f.data.sender_type === "end_user" && state.chats.has(id)) {
        state.unread.add(id);
        notify(t("console.new_message", { id }));
        scheduleLists();
      }
      return;
    case "chat.status":
      if (f.data.status === "queued") notify(t("console.waiting", { id }));
      if (f.data.status === "assigned" && state.me && f.data.operator_id === state.me.operator_id) notify(t("console.assigned", { id }));
      break;
  }
  scheduleLists();
  if (id === state.current) loadChat().catch(() => {});
}

let wasOffline = false;
function onState(s) {
  $("conn").textContent = s === "online" ? t("console.live") : t("console.reconnecting");
  $("conn").className = "badge " + (s === "online" ? "online" : "busy");
  document.body.dataset.stream = s;
  if (s === "offline") {
    wasOffline = true;
    call("GET", "/v1/operators/me").catch(() => {}); // refreshes an expired session
  } else if (wasOffline) {
    // "all" has no replay: read the lists and the open chat again.
    wasOffline = false;
    loadLists(); loadMessages(); loadChat().catch(() => {});
    calls.reload();
  }
}

// The texts this script wrote follow a language switch too.
onLang(() => {
  if (document.body.dataset.stream) $("conn").textContent = document.body.dataset.stream === "online" ? t("console.live") : t("console.reconnecting");
  if (state.current) $("chat-title").textContent = t("console.chat_n", { id: state.current });
  // The lists, the open chat and the calls panel render their words when
  // drawn: draw them again.
  loadLists().catch(() => {});
  if (state.current) { loadMessages(); loadChat().catch(() => {}); }
  calls.reload();
});

const stream = new Stream({ token: () => (session() || {}).token, all: true, onEvent, onState,
  calls: true, onCall: (t) => calls.onTransfer(t),
  onResync: (id) => { if (id === state.current) loadMessages(); } });

calls.init({ me: () => state.me, notify });
inbox.setupInbox({ openChat, current: () => state.current, me: () => state.me, notify, reload: scheduleLists });

loadMe().then(() => { calls.reload(); return loadLists(); }).catch((x) => {
  if (x instanceof ApiError && x.status === 403) notOperator(); else $("me").textContent = humanError(x);
});
