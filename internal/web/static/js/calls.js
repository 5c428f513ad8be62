// The console's phone calls: a virtual agent hands a live call to this
// operator. An offer rings (a tone and a card with the number, the
// agent, the call's entities and what was said so far) until the
// operator accepts or declines, or the offer moves on (ring timeout,
// another operator, the caller hung up). Accepting opens a two-way
// WebRTC call with the browser's microphone (see rtc.js for the
// signalling); the in-call bar mutes, holds, sends keypad tones and
// hangs up; after the call a form records the results and a note.
// Changes arrive as {"type":"call_transfer"} stream frames (console.js
// owns the stream and hands them to onTransfer).
import { call, el, fmtTime, ApiError } from "./api.js";
import { fmtClock } from "./ui.js";
import { preferPCMU, offer, Meter, codecOf } from "./rtc.js";
import { t as tx } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const base = (id) => "/v1/call-transfers/" + id;

let page = { me: () => null, notify: () => {} };
const offers = new Map(); // transfer id -> transfer ringing for me
let active = null;        // the call being talked: { t, pc, mic, meter, timer }
let wrap = null;          // the ended call whose results are being written
let accepting = null;     // the offer being answered: its frames wait for start()
let early = null;         // the last frame of that offer, applied once the call starts

// window.parleyCall tells tests (and curious operators) what the call
// does: the state, the codec, and the caller's audio level as measured.
const probe = window.parleyCall = { state: "idle", transferId: null, ringing: false, codec: "", frames: 0, loud: 0, rms: 0, maxRms: 0, framesSeen: 0 };
const gone = new Set(); // calls this page ended: a list read before the end must not bring them back

// init binds the page. Frames make offers ring at once; the list is also
// re-read every few seconds while the operator is not offline, so a lost
// frame (frames are not replayed) never leaves a card ringing or missing.
export function init(p) {
  page = p;
  bindBar();
  // The page's one AudioContext, made now: making one can take a
  // moment (the audio device opens), better at load than when a call rings.
  ringer.unlock();
  for (const ev of ["pointerdown", "keydown"]) document.addEventListener(ev, () => { ringer.unlock(); document.querySelectorAll(".sound-hint").forEach((h) => h.remove()); }, { once: true, capture: true });
  setInterval(() => { const m = page.me(); if (m && m.status !== "offline" && !accepting) reload(); }, 5000);
}

function me() { const m = page.me(); return m ? m.operator_id : null; }

const mine = (t) => t.state === "ringing" && t.operator_id === me();

// onTransfer applies one stream frame's transfer.
export function onTransfer(t) {
  if (!me()) return; // reload() reads the list once the operator is known
  probe.framesSeen++;
  probe.frameLog = [...(probe.frameLog || []).slice(-19), new Date().toISOString().slice(11, 23) + " " + t.state + "/" + (t.operator_id || 0)];
  if (accepting === t.id) { early = t; return; }
  if (active && active.t.id === t.id) { update(t); return; }
  if (mine(t)) {
    const fresh = !offers.has(t.id);
    offers.set(t.id, t);
    render();
    if (fresh) page.notify(tx("calls.incoming_call_from") + (t.phone || tx("calls.an_unknown_number")) + ".");
    return;
  }
  if (offers.delete(t.id)) {
    render();
    page.notify(t.state === "ended" ? tx("calls.the_caller_hung_up_before") : tx("calls.the_call_went_to_another"));
  }
}

// reload reads the transfers offered to this operator (after the page
// loads and after the stream reconnects: frames are not replayed).
export async function reload() {
  if (!me()) return;
  try {
    const res = await call("GET", "/v1/call-transfers?state=live&limit=50");
    if (accepting) return; // the answer decides; the next read is after it
    const before = new Set(offers.keys());
    offers.clear();
    for (const t of res.items || []) {
      if (mine(t)) {
        if (!before.has(t.id)) page.notify(tx("calls.incoming_call_from") + (t.phone || tx("calls.an_unknown_number")) + ".");
        offers.set(t.id, t);
      }
      else if (active && active.t.id === t.id) update(t);
      else if (!active && !gone.has(t.id) && t.operator_id === me() && (t.state === "talking" || t.state === "held")) orphan(t);
    }
    if (active && !(res.items || []).some((t) => t.id === active.t.id) && active.pc) {
      // Ended while the stream was away.
      const t = await call("GET", base(active.t.id)).catch(() => null);
      if (t) update(t);
    }
    if ([...before].some((id) => !offers.has(id))) page.notify(tx("calls.the_call_went_to_another2"));
    render();
  } catch (x) { if (!(x instanceof ApiError) || x.status !== 401) console.warn(x); }
}

// ---- ringing ----

// Browsers start an AudioContext suspended until the user interacts with
// the page: the first click or key in the console unlocks the ring, and
// a ringing card asks for that click while the sound is still blocked.
const ringer = {
  ctx: null, timer: null,
  unlock() {
    try {
      if (!this.ctx) { const t0 = performance.now(); this.ctx = new AudioContext(); probe.audioSetupMs = Math.round(performance.now() - t0); }
      this.ctx.resume().catch(() => {});
    } catch { /* no WebAudio */ }
  },
  blocked() { return !!this.ctx && this.ctx.state === "suspended"; },
  start() {
    if (this.timer) return;
    probe.ringing = true;
    const beep = () => {
      try {
        this.unlock();
        const now = this.ctx.currentTime;
        const gain = this.ctx.createGain();
        gain.gain.setValueAtTime(0.0001, now);
        gain.gain.exponentialRampToValueAtTime(0.2, now + 0.05);
        gain.gain.setValueAtTime(0.2, now + 0.9);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + 1);
        gain.connect(this.ctx.destination);
        for (const hz of [440, 480]) { // the North American ring: two tones together
          const o = this.ctx.createOscillator();
          o.frequency.value = hz;
          o.connect(gain);
          o.start(now);
          o.stop(now + 1);
        }
      } catch { /* no sound: the card and the title still show the call */ }
    };
    beep();
    this.timer = setInterval(beep, 3000);
  },
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    probe.ringing = false;
  },
};

// ---- rendering ----

function render() {
  const list = [...offers.values()];
  if (list.length && !active) ringer.start(); else ringer.stop();
  $("offers").replaceChildren(...list.map(card));
  $("calls").hidden = !list.length && !active && !wrap;
  document.body.classList.toggle("in-call", !!active);
  document.body.dataset.offers = String(list.length);
}

function entities(title, obj) {
  const pairs = Object.entries(obj || {});
  if (!pairs.length) return null;
  return el("div", {}, el("h4", {}, title),
    el("dl", { class: "kvlist" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])));
}

// WHO is a function: its words follow a language switch.
const WHO = () => ({ agent: tx("calls.virtual_agent"), callee: tx("calls.caller"), operator: tx("calls.operator") });

function transcript(turns) {
  if (!turns || !turns.length) return el("p", { class: "muted small" }, tx("calls.nothing_was_said_yet"));
  return el("div", { class: "messages transcript", tabindex: 0, "aria-label": tx("calls.what_was_said_so_far") },
    turns.map((x) => el("div", { class: "msg" + (x.who === "callee" ? "" : " mine") },
      el("span", { class: "who" }, (WHO()[x.who] || x.who) + (x.at ? " · " + fmtClock(x.at) : "")), x.text || "")));
}

function card(t) {
  const err = el("p", { class: "error", role: "alert" });
  const accept = el("button", { type: "button", class: "accept", "data-action": "accept" }, tx("calls.answer"));
  const decline = el("button", { type: "button", class: "decline", "data-action": "decline" }, tx("calls.decline"));
  accept.addEventListener("click", () => answer(t.id, err, [accept, decline]));
  decline.addEventListener("click", async () => {
    accept.disabled = decline.disabled = true;
    try {
      await call("POST", base(t.id) + "/decline", {});
      offers.delete(t.id);
      render();
      page.notify(tx("calls.you_declined_the_call_it"));
    } catch (x) { err.textContent = x.message; accept.disabled = decline.disabled = false; }
  });
  const id = "offer-" + t.id;
  return el("article", { class: "offer panel", "data-transfer": t.id, "aria-labelledby": id + "-h" },
    el("div", { class: "offer-head" },
      el("h2", { id: id + "-h" }, tx("calls.incoming_call")),
      el("span", { class: "badge busy ringing" }, tx("calls.ringing"))),
    el("p", { class: "phone" }, t.phone || tx("calls.unknown_number")),
    el("dl", { class: "kvlist" },
      el("dt", {}, tx("calls.from_the_virtual_agent")), el("dd", {}, t.agent_name || "—"),
      t.reason ? [el("dt", {}, tx("calls.why")), el("dd", {}, t.reason)] : null,
      el("dt", {}, tx("calls.waiting_since")), el("dd", {}, fmtTime(t.created_at))),
    el("div", { class: "offer-actions" }, accept, decline),
    ringer.blocked() ? el("p", { class: "muted small sound-hint" }, tx("calls.no_ring_sound_click_anywhere")) : null,
    err,
    el("div", { class: "entities" }, entities(tx("calls.what_we_knew_before_the"), t.initial_entities), entities(tx("calls.what_the_virtual_agent_found"), t.output_entities)),
    el("h4", {}, tx("calls.conversation_so_far")),
    transcript(t.transcript));
}

// ---- answering ----

async function answer(id, err, buttons) {
  if (active) { err.textContent = tx("calls.finish_your_current_call_first"); return; }
  buttons.forEach((b) => { b.disabled = true; });
  err.textContent = "";
  ringer.stop();
  probe.state = "connecting";
  accepting = id; early = null;
  let mic = null, pc = null;
  try {
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (x) {
      throw new Error(tx("calls.the_browser_did_not_give") + (x.message || x.name) + tx("calls.allow_it_and_try_again"));
    }
    pc = new RTCPeerConnection();
    const track = mic.getAudioTracks()[0];
    preferPCMU(pc.addTransceiver(track, { direction: "sendrecv", streams: [mic] }));
    const remote = new Promise((done) => { pc.ontrack = (e) => done(e.streams[0] || new MediaStream([e.track])); });
    const sdp = await offer(pc);
    const res = await call("POST", base(id) + "/accept", { sdp });
    await pc.setRemoteDescription({ type: "answer", sdp: res.sdp });
    offers.delete(id);
    accepting = null;
    start(res.transfer, pc, mic, remote);
    page.notify(tx("calls.you_are_on_the_call") + (res.transfer.phone || tx("calls.the_caller")) + ".");
    if (early && early.state === "ended") finish(early);
    early = null;
  } catch (x) {
    accepting = null; early = null;
    if (pc) pc.close();
    if (mic) mic.getTracks().forEach((tr) => tr.stop());
    probe.state = "idle";
    if (x instanceof ApiError && (x.status === 409 || x.status === 404)) {
      offers.delete(id);
      page.notify(tx("calls.this_call_was_taken_by"));
    } else {
      err.textContent = x.message;
      buttons.forEach((b) => { b.disabled = false; });
    }
    render();
  }
}

// pickCodec reads the codec the caller's audio arrives in; the stats know
// it only once packets have come, which may be just after "connected".
function pickCodec(pc) {
  codecOf(pc).then((c) => {
    if (c) probe.codec = c;
    else if (active && active.pc === pc && pc.connectionState === "connected") setTimeout(() => pickCodec(pc), 200);
  });
}

function start(t, pc, mic, remote) {
  active = { t, pc, mic, meter: null, timer: null, since: Date.parse(t.accepted_at || "") || Date.now() };
  probe.state = "talking";
  probe.transferId = t.id;
  probe.codec = "";
  pc.onconnectionstatechange = () => {
    probe.connection = pc.connectionState;
    if (pc.connectionState === "connected") pickCodec(pc);
    if (active && active.pc === pc && pc.connectionState === "failed") $("incall-error").textContent = tx("calls.the_audio_connection_failed_hang");
  };
  remote.then((stream) => {
    if (!active || active.pc !== pc) return;
    const audio = $("call-audio");
    audio.srcObject = stream;
    audio.play().catch(() => {});
    active.meter = new Meter(stream, probe, (rms) => { $("incall-level").style.width = Math.min(100, rms * 400) + "%"; }, ringer.ctx);
  });
  active.timer = setInterval(tick, 1000);
  $("incall").hidden = false;
  $("incall-error").textContent = "";
  showCall(t);
  tick();
  render();
  $("call-hangup").focus();
}

function tick() {
  if (!active) return;
  const s = Math.max(0, Math.floor((Date.now() - active.since) / 1000));
  $("incall-timer").textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

// STATE is a function: its words follow a language switch.
const STATE = () => ({ talking: tx("calls.talking"), held: tx("calls.on_hold"), ringing: tx("calls.connecting"), waiting: tx("calls.connecting"), ended: tx("calls.ended") });

function showCall(t) {
  active.t = t;
  $("incall-title").textContent = tx("calls.on_a_call_with") + (t.phone || tx("calls.the_caller"));
  $("incall-state").textContent = STATE()[t.state] || t.state;
  $("incall-state").className = "badge " + (t.held ? "busy" : "online");
  const open = !!document.querySelector("#incall-info details[open]");
  $("incall-info").replaceChildren(
    el("span", {}, tx("calls.from"), t.agent_name || tx("calls.the_virtual_agent")),
    el("span", { class: "level", role: "img", "aria-label": tx("calls.caller_s_voice_level") }, el("b", { id: "incall-level" })),
    el("details", { open },
      el("summary", {}, tx("calls.call_details")),
      el("div", { class: "entities" }, entities(tx("calls.what_we_knew_before_the"), t.initial_entities), entities(tx("calls.what_the_virtual_agent_found"), t.output_entities)),
      transcript(t.transcript)));
  const muted = !!t.muted, held = !!t.held;
  $("call-mute").textContent = muted ? tx("calls.unmute") : tx("calls.mute");
  $("call-mute").setAttribute("aria-pressed", String(muted));
  $("call-hold").textContent = held ? tx("calls.resume") : tx("calls.hold");
  $("call-hold").setAttribute("aria-pressed", String(held));
  if (active.mic) active.mic.getAudioTracks().forEach((tr) => { tr.enabled = !muted && !held; });
  probe.muted = muted; probe.held = held;
}

function update(t) {
  if (t.state === "ended") { finish(t); return; }
  showCall(t);
}

// orphan shows a call this operator is still on but whose audio this
// page doesn't have (the page was reloaded): it can only be hung up.
function orphan(t) {
  active = { t, pc: null, mic: null, meter: null, timer: setInterval(tick, 1000), since: Date.parse(t.accepted_at || "") || Date.now() };
  probe.state = "talking"; probe.transferId = t.id;
  $("incall").hidden = false;
  showCall(t);
  $("incall-error").textContent = tx("calls.this_page_was_reloaded_and");
}

// finish ends the call on this page and opens the results form.
function finish(t, why) {
  if (!active) return;
  const a = active;
  active = null;
  gone.add(a.t.id);
  clearInterval(a.timer);
  if (a.meter) a.meter.stop();
  if (a.pc) a.pc.close();
  if (a.mic) a.mic.getTracks().forEach((tr) => tr.stop());
  $("call-audio").srcObject = null;
  $("incall").hidden = true;
  $("keypad").hidden = true;
  $("call-keys").setAttribute("aria-expanded", "false");
  probe.state = "ended";
  // A talked call's result stays "accepted"; who ended it is known here
  // when this page hung up, else from the result when the server says.
  const who = why || (t.result === "callee_hangup" ? tx("calls.the_caller_hung_up") : t.result === "operator_hangup" ? tx("calls.you_hung_up") : tx("calls.the_call_ended"));
  page.notify(who);
  openWrapup(t, who);
  render();
}

// ---- in-call controls ----

function bindBar() {
  const act = async (path, body) => {
    if (!active) return;
    $("incall-error").textContent = "";
    try { update(await call("POST", base(active.t.id) + path, body)); } catch (x) { $("incall-error").textContent = x.message; }
  };
  $("call-mute").addEventListener("click", () => active && act("/mute", { muted: !active.t.muted }));
  $("call-hold").addEventListener("click", () => active && act("/hold", { held: !active.t.held }));
  $("call-hangup").addEventListener("click", async () => {
    if (!active) return;
    const t = active.t;
    try { finish(await call("POST", base(t.id) + "/hangup", {}), tx("calls.you_hung_up")); } catch (x) {
      if (x instanceof ApiError && x.status === 409) finish({ ...t, state: "ended" }, tx("calls.the_call_had_already_ended")); // already over
      else $("incall-error").textContent = x.message;
    }
  });
  $("call-keys").addEventListener("click", () => {
    const open = $("keypad").hidden;
    $("keypad").hidden = !open;
    $("call-keys").setAttribute("aria-expanded", String(open));
  });
  $("keypad").replaceChildren(..."123456789*0#".split("").map((d) =>
    el("button", { type: "button", "data-digit": d, "aria-label": tx("calls.tone") + (d === "*" ? tx("calls.star") : d === "#" ? tx("calls.hash") : d), onclick: () => act("/dtmf", { digits: d }) }, d)));
  $("wrapup-add").addEventListener("click", () => addRow("", ""));
  $("wrapup-skip").addEventListener("click", closeWrapup);
  $("wrapup").addEventListener("submit", saveWrapup);
}

// ---- after the call ----

function addRow(k, v) {
  const row = el("div", { class: "kvrow" },
    el("label", {}, tx("calls.name"), el("input", { name: "key", value: k, maxlength: 100 })),
    el("label", {}, tx("calls.value"), el("input", { name: "value", value: v, maxlength: 1000 })));
  row.append(el("button", { type: "button", class: "danger", "aria-label": tx("calls.remove_this_result"), onclick: () => row.remove() }, tx("calls.remove")));
  $("wrapup-rows").append(row);
}

function openWrapup(t, why) {
  wrap = t;
  $("wrapup-info").textContent = why + tx("calls.call_with") + (t.phone || tx("calls.the_caller")) + (t.talk_seconds ? tx("calls.talked", { s: Math.round(t.talk_seconds) }) : ".");
  $("wrapup-rows").replaceChildren();
  const d = t.disposition || {};
  const out = { ...(t.output_entities || {}), ...(d.output_entities || {}) };
  for (const [k, v] of Object.entries(out)) addRow(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  if (!Object.keys(out).length) addRow("", "");
  $("wrapup-note").value = d.note || "";
  $("wrapup-error").textContent = "";
  $("wrapup").hidden = false;
  $("wrapup-note").focus();
}

function closeWrapup() {
  wrap = null;
  $("wrapup").hidden = true;
  render();
}

async function saveWrapup(e) {
  e.preventDefault();
  if (!wrap) return;
  const out = {};
  for (const row of $("wrapup-rows").querySelectorAll(".kvrow")) {
    const k = row.querySelector("[name=key]").value.trim();
    if (k) out[k] = row.querySelector("[name=value]").value;
  }
  try {
    await call("POST", base(wrap.id) + "/disposition", { output_entities: out, note: $("wrapup-note").value });
    page.notify(tx("calls.the_call_s_results_are"));
    closeWrapup();
  } catch (x) { $("wrapup-error").textContent = x.message; }
}
