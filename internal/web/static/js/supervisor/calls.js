// The live phone calls (GET /v1/live-calls): each agent's calls in
// transfer against its routing channel limit, every live call with who
// is on it, and a Listen button: a receive-only WebRTC peer
// (POST /v1/live-calls/{call_id}/listen) that plays the callee and the
// agent or operator, mixed, until the call ends or the supervisor stops.
import { call, el, fmtTime, ApiError } from "../api.js";
import { offer, Meter } from "../rtc.js";
import { table, errorText, alertBox } from "./util.js";
import { t as tx } from "../i18n.js";

// listening is the one call being listened to: { callId, pc, meter }.
let listening = null;
// window.parleyListen tells tests what the listener hears.
const probe = window.parleyListen = { state: "idle", callId: null, frames: 0, loud: 0, rms: 0, maxRms: 0 };

// STATE is a function: its words follow a language switch.
const STATE = () => ({ agent: tx("supcalls.with_the_virtual_agent"), transfer: tx("supcalls.in_transfer") });
const TSTATE = () => ({ waiting: tx("supcalls.ts_waiting"), ringing: tx("supcalls.ts_ringing"), talking: tx("supcalls.ts_talking"), held: tx("supcalls.ts_held"), ended: tx("supcalls.ts_ended") });

// load renders the live calls into box; an error shows in it.
export async function load(box) {
  let res;
  try {
    res = await call("GET", "/v1/live-calls");
  } catch (x) {
    const msg = x instanceof ApiError && x.status === 404 ? tx("supcalls.live_calls_are_not_available") : errorText(x);
    box.replaceChildren(el("p", { class: "error", role: "alert" }, msg));
    return;
  }
  const items = res.items || [];
  if (listening && !items.some((c) => c.call_id === listening.callId)) stop(tx("supcalls.the_call_ended"));
  const perAgent = (res.per_agent || []).map((a) => ({ ...a }));
  const err = alertBox();
  box.replaceChildren(
    el("h3", {}, tx("supcalls.calls_in_transfer_per_agent")),
    table([
      { key: "agent_name", label: tx("supcalls.agent") },
      { key: "in_transfer", label: tx("supcalls.in_transfer"), num: true, render: (a) => `${a.in_transfer} / ${a.routing_channel_limit || tx("supcalls.no_limit")}` },
      { key: "m", label: tx("supcalls.limit_used"), render: (a) => {
        const lim = a.routing_channel_limit || 0;
        const b = el("b", { class: lim && a.in_transfer >= lim ? "full" : null });
        b.style.width = (lim ? Math.min(100, (100 * a.in_transfer) / lim) : 0) + "%";
        return el("span", { class: "meter", role: "img", "aria-label": tx("supcalls.n_of", { n: a.in_transfer, limit: lim || tx("supcalls.unlimited") }) }, b);
      } },
    ], perAgent, { caption: tx("supcalls.calls_in_transfer_per_agent"), empty: tx("supcalls.no_agent_has_calls_in") }),
    el("h3", {}, tx("supcalls.live_calls")),
    table([
      { key: "phone", label: tx("supcalls.number") },
      { key: "agent_name", label: tx("supcalls.agent") },
      { key: "state", label: tx("supcalls.with"), render: (c) => {
        const t = c.transfer;
        if (!t) return STATE()[c.state] || c.state;
        return el("span", {}, STATE().transfer, ": ", TSTATE()[t.state] || t.state, t.operator_name ? " — " + t.operator_name : "");
      } },
      { key: "started_at", label: tx("supcalls.started"), render: (c) => fmtTime(c.started_at) },
      { key: "listen", label: tx("supcalls.listen"), render: (c) => listenButton(c, err) },
    ], items, { caption: tx("supcalls.live_calls"), empty: tx("supcalls.no_call_is_live") }),
    err,
    el("p", { id: "listen-status", class: "small muted", role: "status" }, listening ? tx("supcalls.listening_to") + listening.what + "." : ""));
}

function listenButton(c, err) {
  const on = listening && listening.callId === c.call_id;
  return el("button", { type: "button", class: on ? "primary" : null, "data-call": c.call_id, "aria-pressed": on ? "true" : "false",
    "aria-label": (on ? tx("supcalls.stop_listening_to") : tx("supcalls.listen_to")) + (c.phone || "call " + c.call_id),
    onclick: async (e) => {
      err.textContent = "";
      if (on) { stop(tx("supcalls.you_stopped_listening")); return; }
      try { await listen(c.call_id, c.phone || "call " + c.call_id); refreshButtons(); } catch (x) { err.textContent = errorText(x); }
    } }, on ? tx("supcalls.stop_listening") : tx("supcalls.listen"));
}

function refreshButtons() {
  for (const b of document.querySelectorAll("#live-calls button[data-call]")) {
    const on = listening && String(listening.callId) === b.dataset.call;
    b.textContent = on ? tx("supcalls.stop_listening") : tx("supcalls.listen");
    b.className = on ? "primary" : "";
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }
  const s = document.getElementById("listen-status");
  if (s) s.textContent = listening ? tx("supcalls.listening_to") + listening.what + "." : "";
}

async function listen(callId, what) {
  stop();
  const pc = new RTCPeerConnection();
  pc.addTransceiver("audio", { direction: "recvonly" });
  const audio = new Audio();
  audio.autoplay = true;
  const me = { callId, what, pc, meter: null, audio };
  listening = me;
  probe.state = "connecting"; probe.callId = callId;
  pc.ontrack = (e) => {
    const stream = e.streams[0] || new MediaStream([e.track]);
    audio.srcObject = stream;
    audio.play().catch(() => {});
    if (listening === me) me.meter = new Meter(stream, probe);
  };
  pc.onconnectionstatechange = () => {
    if (listening !== me) return;
    probe.state = pc.connectionState;
    if (pc.connectionState === "failed" || pc.connectionState === "closed") stop(tx("supcalls.the_listening_connection_ended"));
  };
  try {
    const sdp = await offer(pc);
    const res = await call("POST", "/v1/live-calls/" + callId + "/listen", { sdp });
    await pc.setRemoteDescription({ type: "answer", sdp: res.sdp });
  } catch (x) {
    if (listening === me) stop();
    throw x;
  }
}

// stop ends the listening, if any.
export function stop(why) {
  if (!listening) return;
  const l = listening;
  listening = null;
  if (l.meter) l.meter.stop();
  l.pc.close();
  l.audio.srcObject = null;
  probe.state = "idle";
  refreshButtons();
  const s = document.getElementById("listen-status");
  if (s && why) s.textContent = why;
}
