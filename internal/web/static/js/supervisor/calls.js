// The live phone calls (GET /v1/live-calls): each agent's calls in
// transfer against its routing channel limit, every live call with who
// is on it, and a Listen button: a receive-only WebRTC peer
// (POST /v1/live-calls/{call_id}/listen) that plays the callee and the
// agent or operator, mixed, until the call ends or the supervisor stops.
import { call, el, fmtTime, ApiError } from "../api.js";
import { offer, Meter } from "../rtc.js";
import { table, errorText, alertBox } from "./util.js";

// listening is the one call being listened to: { callId, pc, meter }.
let listening = null;
// window.parleyListen tells tests what the listener hears.
const probe = window.parleyListen = { state: "idle", callId: null, frames: 0, loud: 0, rms: 0, maxRms: 0 };

const STATE = { agent: "With the virtual agent", transfer: "In transfer" };
const TSTATE = { waiting: "waiting for an operator", ringing: "ringing", talking: "talking", held: "on hold", ended: "ended" };

// load renders the live calls into box; an error shows in it.
export async function load(box) {
  let res;
  try {
    res = await call("GET", "/v1/live-calls");
  } catch (x) {
    const msg = x instanceof ApiError && x.status === 404 ? "Live calls are not available on this server." : errorText(x);
    box.replaceChildren(el("p", { class: "error", role: "alert" }, msg));
    return;
  }
  const items = res.items || [];
  if (listening && !items.some((c) => c.call_id === listening.callId)) stop("The call ended.");
  const perAgent = (res.per_agent || []).map((a) => ({ ...a }));
  const err = alertBox();
  box.replaceChildren(
    el("h3", {}, "Calls in transfer per agent"),
    table([
      { key: "agent_name", label: "Agent" },
      { key: "in_transfer", label: "In transfer", num: true, render: (a) => `${a.in_transfer} / ${a.routing_channel_limit || "no limit"}` },
      { key: "m", label: "Limit used", render: (a) => {
        const lim = a.routing_channel_limit || 0;
        const b = el("b", { class: lim && a.in_transfer >= lim ? "full" : null });
        b.style.width = (lim ? Math.min(100, (100 * a.in_transfer) / lim) : 0) + "%";
        return el("span", { class: "meter", role: "img", "aria-label": `${a.in_transfer} of ${lim || "unlimited"}` }, b);
      } },
    ], perAgent, { caption: "Calls in transfer per agent", empty: "No agent has calls in transfer." }),
    el("h3", {}, "Live calls"),
    table([
      { key: "phone", label: "Number" },
      { key: "agent_name", label: "Agent" },
      { key: "state", label: "With", render: (c) => {
        const t = c.transfer;
        if (!t) return STATE[c.state] || c.state;
        return el("span", {}, STATE.transfer, ": ", TSTATE[t.state] || t.state, t.operator_name ? " — " + t.operator_name : "");
      } },
      { key: "started_at", label: "Started", render: (c) => fmtTime(c.started_at) },
      { key: "listen", label: "Listen", render: (c) => listenButton(c, err) },
    ], items, { caption: "Live calls", empty: "No call is live." }),
    err,
    el("p", { id: "listen-status", class: "small muted", role: "status" }, listening ? "Listening to " + listening.what + "." : ""));
}

function listenButton(c, err) {
  const on = listening && listening.callId === c.call_id;
  return el("button", { type: "button", class: on ? "primary" : null, "data-call": c.call_id, "aria-pressed": on ? "true" : "false",
    "aria-label": (on ? "Stop listening to " : "Listen to ") + (c.phone || "call " + c.call_id),
    onclick: async (e) => {
      err.textContent = "";
      if (on) { stop("You stopped listening."); return; }
      try { await listen(c.call_id, c.phone || "call " + c.call_id); refreshButtons(); } catch (x) { err.textContent = errorText(x); }
    } }, on ? "Stop listening" : "Listen");
}

function refreshButtons() {
  for (const b of document.querySelectorAll("#live-calls button[data-call]")) {
    const on = listening && String(listening.callId) === b.dataset.call;
    b.textContent = on ? "Stop listening" : "Listen";
    b.className = on ? "primary" : "";
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }
  const s = document.getElementById("listen-status");
  if (s) s.textContent = listening ? "Listening to " + listening.what + "." : "";
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
    if (pc.connectionState === "failed" || pc.connectionState === "closed") stop("The listening connection ended.");
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
