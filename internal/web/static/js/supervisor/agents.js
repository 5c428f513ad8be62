// Agents and their settings: the company's agents, the selected agent's
// general settings, time slots and initial and output entities.
import { call, el } from "../api.js";
import { t as tr } from "../i18n.js";
import { confirmAction } from "../ui.js";
import { EXT, q, panel, table, errorText, alertBox } from "./util.js";

// DAYS is a function: its words follow a language switch.
const DAYS = () => (["", tr("agents.monday"), tr("agents.tuesday"), tr("agents.wednesday"), tr("agents.thursday"), tr("agents.friday"), tr("agents.saturday"), tr("agents.sunday")]);
const EDITABLE = [
  ["delay", tr("agents.delay_between_attempts_hh_mm"), "text"],
  ["recall_count", tr("agents.recall_count"), "number"],
  ["total_channel_limit", tr("agents.total_channel_limit"), "number"],
  ["routing_channel_limit", tr("agents.routing_channel_limit"), "number"],
  ["language", tr("agents.language"), "text"],
  ["asr", "ASR", "text"],
  ["tts", "TTS", "text"],
  ["flag", tr("agents.flag"), "text"],
];
const READONLY = ["name", "agent_uuid", "timezone", "trunk_name", "pool_name"];

export async function render(main, ctx) {
  main.replaceChildren(agentList(ctx), el("div", { id: "agent-detail", class: "grid" }));
  if (ctx.agent) await detail(main.querySelector("#agent-detail"), ctx);
}

function agentList(ctx) {
  const err = alertBox();
  const form = el("form", { class: "toolbar", "aria-label": tr("agents.new_agent") },
    el("label", {}, tr("agents.name"), el("input", { name: "name", required: true, maxlength: 100 })),
    el("label", {}, tr("agents.time_zone"), el("input", { name: "timezone", placeholder: "UTC" })),
    el("button", { class: "primary", type: "submit" }, tr("agents.create_agent")), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      const a = await call("POST", EXT + "/company-agents", { name: form.name.value, timezone: form.timezone.value || undefined });
      ctx.agent = a.agent_uuid;
      await ctx.reloadAgents();
      ctx.announce(tr("agents.agent") + a.name + " created");
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (x) { err.textContent = errorText(x); }
  });
  const rows = ctx.agents.map((a) => ({ ...a }));
  return panel(tr("agents.agents"),
    table([
      { key: "name", label: tr("agents.agent2"), render: (a) => a.agent_uuid === ctx.agent ? el("strong", {}, a.name, " (selected)") : a.name },
      { key: "agent_uuid", label: "UUID", render: (a) => el("code", { class: "small" }, a.agent_uuid) },
      { key: "pick", label: "", render: (a) => el("button", { type: "button", disabled: a.agent_uuid === ctx.agent, onclick: () => {
        ctx.agent = a.agent_uuid; document.getElementById("agent").value = a.agent_uuid; window.dispatchEvent(new HashChangeEvent("hashchange"));
      } }, tr("agents.select")) },
    ], rows, { caption: tr("agents.agents"), empty: tr("agents.no_agents_yet") }),
    form);
}

async function detail(box, ctx) {
  const aq = q({ agent_uuid: ctx.agent });
  const [general, slots, initial, output, transfer, menus] = await Promise.all([
    call("GET", EXT + "/agent-settings/general" + aq),
    call("GET", EXT + "/agent-settings/time-slot" + aq),
    call("GET", EXT + "/initial-entity" + aq),
    call("GET", EXT + "/output-entity" + aq),
    call("GET", EXT + "/agent-settings/transfer" + aq).catch((x) => x),
    call("GET", "/apps/api/v1/menus").catch(() => []),
  ]);
  const refresh = () => detail(box, ctx);
  box.replaceChildren(
    generalPanel(general, ctx),
    transferPanel(transfer, menus, general, ctx),
    el("div", { class: "cols" },
      slotsPanel(slots, ctx, refresh),
      entitiesPanel("initial", initial.data, ctx, refresh),
      entitiesPanel("output", output.data, ctx, refresh)));
}

function generalPanel(g, ctx) {
  const err = alertBox();
  const done = el("span", { class: "ok small", role: "status" });
  const form = el("form", { "aria-label": tr("agents.general_settings") },
    el("dl", { class: "form-grid small" }, READONLY.map((k) => el("div", {}, el("dt", { class: "muted" }, k.replace(/_/g, " ")), el("dd", {}, String(g[k] ?? ""))))),
    el("div", { class: "form-grid" }, EDITABLE.map(([k, label, type]) =>
      el("label", {}, label, el("input", { name: k, type, value: g[k] ?? "", min: type === "number" ? 0 : null })))),
    el("p", { class: "row" }, el("button", { class: "primary", type: "submit" }, tr("agents.save_settings")), done), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = ""; done.textContent = "";
    const body = {};
    for (const [k, , type] of EDITABLE) body[k] = type === "number" ? Number(form[k].value) : form[k].value;
    try {
      await call("PUT", EXT + "/agent-settings/general" + q({ agent_uuid: ctx.agent }), body);
      done.textContent = tr("agents.saved");
      ctx.announce(tr("agents.settings_saved"));
    } catch (x) { err.textContent = errorText(x); }
  });
  return panel(tr("agents.general_settings2") + g.name, form);
}

function slotsPanel(slots, ctx, refresh) {
  const err = alertBox();
  const form = el("form", { class: "toolbar", "aria-label": tr("agents.new_time_slot") },
    el("label", {}, tr("agents.day"), el("select", { name: "day" }, DAYS().slice(1).map((d, i) => el("option", { value: i + 1 }, d)))),
    el("label", {}, tr("agents.from"), el("input", { name: "not_before", type: "time", value: "09:00", required: true })),
    el("label", {}, tr("agents.to"), el("input", { name: "not_after", type: "time", value: "18:00", required: true })),
    el("button", { type: "submit" }, tr("agents.add_slot")), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await call("POST", EXT + "/agent-settings/time-slot" + q({ agent_uuid: ctx.agent }),
        { day: Number(form.day.value), not_before: form.not_before.value, not_after: form.not_after.value });
      ctx.announce(tr("agents.time_slot_added"));
      await refresh();
    } catch (x) { err.textContent = errorText(x); }
  });
  slots = [...slots].sort((a, b) => a.day - b.day || a.not_before.localeCompare(b.not_before));
  return panel(tr("agents.time_slots"),
    el("p", { class: "muted small" }, tr("agents.calls_are_made_only_inside")),
    table([
      { key: "day", label: tr("agents.day"), render: (t) => DAYS()[t.day] || t.day },
      { key: "not_before", label: tr("agents.from") },
      { key: "not_after", label: tr("agents.to") },
      { key: "x", label: "", render: (t) => el("button", { type: "button", class: "danger", "aria-label": tr("agents.delete", { slot: DAYS()[t.day] + " " + t.not_before + "–" + t.not_after }),
        onclick: async () => { if (!await confirmAction(tr("agents.slot_delete_confirm", { slot: `${DAYS()[t.day]} ${t.not_before}–${t.not_after}` }), tr("menus.delete"))) return; try { await call("DELETE", EXT + "/agent-settings/time-slot", { time_slot_uuid: t.time_slot_uuid }); ctx.announce(tr("agents.time_slot_deleted")); await refresh(); } catch (x) { err.textContent = errorText(x); } } }, tr("agents.delete2")) },
    ], slots, { caption: tr("agents.time_slots"), empty: tr("agents.no_time_slots_the_agent") }),
    form);
}

function entitiesPanel(kind, list, ctx, refresh) {
  const err = alertBox();
  const key = kind + "_entity_uuid";
  const extra = kind === "initial"
    ? el("label", { class: "row" }, el("input", { name: "synthesis", type: "checkbox" }), tr("agents.synthesis"))
    : el("label", {}, tr("agents.type"), el("select", { name: "entity_type" }, ["string", "boolean", "date", "number"].map((t) => el("option", {}, t))));
  const form = el("form", { class: "toolbar", "aria-label": tr("agents.new", { kind }) },
    el("label", {}, tr("agents.name"), el("input", { name: "name", required: true, maxlength: 100 })), extra,
    el("button", { type: "submit" }, tr("agents.add")), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { name: form.name.value };
    if (kind === "initial") body.synthesis = form.synthesis.checked; else body.entity_type = form.entity_type.value;
    try {
      await call("POST", EXT + `/${kind}-entity` + q({ agent_uuid: ctx.agent }), body);
      ctx.announce(tr("agents.entity_added", { kind, name: body.name }));
      await refresh();
    } catch (x) { err.textContent = errorText(x); }
  });
  return panel(kind === "initial" ? tr("agents.initial_entities_dialog_inputs") : tr("agents.output_entities_script_results"),
    table([
      { key: "name", label: tr("agents.name") },
      kind === "initial" ? { key: "synthesis", label: tr("agents.synthesis"), render: (e) => e.synthesis ? "yes" : "no" } : { key: "entity_type", label: tr("agents.type") },
      { key: "x", label: "", render: (e) => el("button", { type: "button", class: "danger", "aria-label": tr("agents.remove", { kind, name: e.name }),
        onclick: async () => { if (!await confirmAction(tr("agents.entity_remove_confirm", { name: e.name }), tr("queue.remove"))) return; try { await call("DELETE", EXT + `/${kind}-entity`, { [key]: e[key] }); ctx.announce(tr("agents.entity_removed", { kind, name: e.name })); await refresh(); } catch (x) { err.textContent = errorText(x); } } }, tr("agents.remove2")) },
    ], list, { caption: kind + " entities", empty: tr("agents.none_yet") }),
    form);
}

// transferPanel edits where the agent's calls go when the script hands
// them to a person (GET/PUT /agent-settings/transfer): a menu's
// operators (or any operator), the prompt the caller hears while
// waiting, how long each operator's phone rings and how long the caller
// waits at most, or an external number instead.
function transferPanel(ts, menus, general, ctx) {
  if (ts instanceof Error) return panel(tr("agents.transfer_to_people"), el("p", { class: "error", role: "alert" }, errorText(ts)));
  const err = alertBox();
  const done = el("span", { class: "ok small", role: "status" });
  const list = Array.isArray(menus) ? menus : (menus && (menus.menus || menus.data)) || [];
  const num = (name, label, v, hint, max) => el("label", {}, label,
    el("input", { name, type: "number", min: 5, max, step: 1, value: v ?? "", required: true, "aria-describedby": name + "-hint" }),
    el("span", { id: name + "-hint", class: "muted small" }, hint));
  const form = el("form", { "aria-label": tr("agents.transfer_settings"), id: "transfer-settings" },
    el("p", { class: "muted small" }, tr("agents.when_the_script_hands_a"),
      String(general.routing_channel_limit ?? 0), tr("agents.of_this_agent_s_calls")),
    el("div", { class: "form-grid" },
      el("label", {}, tr("agents.operators_of_menu"),
        el("select", { name: "menu_id" }, el("option", { value: "" }, tr("agents.any_operator")),
          list.map((m) => el("option", { value: m.id, selected: ts.menu_id === m.id }, m.name)))),
      num("ring_timeout_seconds", tr("agents.ring_each_operator_for_seconds"), ts.ring_timeout_seconds, tr("agents.5_to_300_then_the"), 300),
      num("transfer_timeout_seconds", tr("agents.caller_waits_at_most_seconds"), ts.transfer_timeout_seconds, tr("agents.5_to_3600_then_the"), 3600),
      el("label", {}, tr("agents.or_call_this_number_instead"),
        el("input", { name: "external_to", value: ts.external_to || "", placeholder: tr("agents.external_example"), maxlength: 512, "aria-describedby": "external-hint" }),
        el("span", { id: "external-hint", class: "muted small" }, tr("agents.empty_the_operators_above_answer")))),
    el("label", {}, tr("agents.what_the_caller_hears_while"),
      el("textarea", { name: "hold_prompt", rows: 2, maxlength: 500 }, ts.hold_prompt || "")),
    el("p", { class: "row" }, el("button", { class: "primary", type: "submit" }, tr("agents.save_transfer_settings")), done), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = ""; done.textContent = "";
    const body = {
      menu_id: form.menu_id.value ? Number(form.menu_id.value) : null,
      hold_prompt: form.hold_prompt.value,
      ring_timeout_seconds: Number(form.ring_timeout_seconds.value),
      transfer_timeout_seconds: Number(form.transfer_timeout_seconds.value),
      external_to: form.external_to.value.trim(),
    };
    try {
      await call("PUT", EXT + "/agent-settings/transfer" + q({ agent_uuid: ctx.agent }), body);
      done.textContent = tr("agents.saved");
      ctx.announce(tr("agents.transfer_settings_saved"));
    } catch (x) { err.textContent = errorText(x); }
  });
  return panel(tr("agents.transfer_to_people"), form);
}
