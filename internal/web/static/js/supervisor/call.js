// One call: its recording in an audio player (the base64 WAV made into a
// blob URL) beside its transcript.
import { call, el, ApiError } from "../api.js";
import { t as tx } from "../i18n.js";
import { fmtDateTime } from "../ui.js";
import { EXT, q, panel, table, errorText, alertBox, noAgent } from "./util.js";

export async function render(main, ctx, [callUUID]) {
  if (!callUUID) {
    if (!ctx.agent) return noAgent(main);
    const calls = await call("GET", EXT + "/queue/call" + q({ agent_uuid: ctx.agent, limit: 50 }));
    main.replaceChildren(panel(tx("call.calls"), el("p", { class: "muted" }, tx("call.pick")),
      table([
        { key: "date_added", label: tx("console.started"), render: (c) => fmtDateTime(c.date_added) }, { key: "msisdn", label: tx("queue.number") }, { key: "result", label: tx("queue.result") },
        { key: "uuid", label: "", render: (c) => el("a", { href: "#/call/" + c.uuid }, tx("queue.listen")) },
      ], calls, { caption: tx("call.calls"), empty: tx("queue.no_call") })));
    return;
  }
  const err = alertBox();
  let url = "";
  const player = el("div", { id: "player" }, el("p", { class: "muted" }, tx("call.loading")));
  const [rec, tr] = await Promise.all([
    call("GET", EXT + "/statistic/download/call" + q({ call_uuid: callUUID })).catch((x) => x),
    call("GET", EXT + `/statistic/${encodeURIComponent(callUUID)}/transcription` + q({ type: "json" })).catch((x) => (x instanceof ApiError && x.status === 404 ? { data: [] } : x)),
  ]);
  if (rec instanceof Error) player.replaceChildren(el("p", { class: "error", role: "alert" }, errorText(rec)));
  else {
    const bin = atob(rec.data);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    player.replaceChildren(
      el("audio", { controls: true, src: url, preload: "metadata", "aria-label": tx("call.recording_label") }),
      el("p", { class: "small" }, el("a", { href: url, download: rec.file_name }, tx("call.download", { file: rec.file_name })), " · ", tx("call.channels")));
  }
  let turns;
  if (tr instanceof Error) turns = el("p", { class: "error", role: "alert" }, errorText(tr));
  else if (!tr.data.length) turns = el("p", { class: "muted" }, tx("call.no_transcript"));
  else turns = el("div", { class: "messages transcript", id: "transcript", tabindex: 0, "aria-label": tx("call.transcript") }, tr.data.map(turn));
  main.replaceChildren(el("div", { class: "call" },
    panel(tx("call.recording"), el("p", { class: "small muted" }, tx("call.call"), " ", el("code", {}, callUUID)), player, err),
    panel(tx("call.transcript"), turns)));
  return () => { if (url) URL.revokeObjectURL(url); };
}

function turn(t) {
  const d = t.data || {};
  const at = String(t.date).slice(11, 19);
  switch (t.action_alias) {
    case "say": return el("div", { class: "msg mine" }, el("span", { class: "who" }, tx("call.agent") + " · " + at), d.text || "", latency(d.latency_ms));
    case "listen": return el("div", { class: "msg" }, el("span", { class: "who" }, tx("call.callee") + " · " + at), d.text || tx("call.silence"), latency(d.latency_ms));
    case "set": return el("div", { class: "msg system" }, `${at} set ${d.name} = ${d.value}`);
    default: return el("div", { class: "msg system" }, `${at} ${t.action_alias}${d.reason ? ": " + d.reason : ""}${d.message ? ": " + d.message : ""}`);
  }
}

// latency shows a turn's measured stages (SIP calls): how long the end of
// the callee's speech took to detect and transcribe, and how long the
// agent's answer took to reach the wire.
const stages = () => [
  ["endpoint_ms", tx("call.st_endpoint")], ["recognition_ms", tx("call.st_recognition")], ["script_ms", tx("call.st_script")],
  ["synthesis_ms", tx("call.st_synthesis")], ["first_packet_ms", tx("call.st_first_packet")], ["barge_in_ms", tx("call.st_barge_in")], ["turn_ms", tx("call.st_turn")],
];
function latency(l) {
  if (!l || typeof l !== "object") return "";
  const parts = stages().filter(([k]) => typeof l[k] === "number").map(([k, label]) =>
    `${label} ${Math.round(l[k])} ms${k === "endpoint_ms" && l.end ? " (" + l.end + ")" : ""}`);
  return parts.length ? el("span", { class: "latency small muted", title: tx("call.turn_latency_stages") }, parts.join(" · ")) : "";
}
