// The script editor: a textarea with line numbers. Every save is checked
// first (POST .../script/check), and errors are shown at their line.
import { call, el, fmtTime } from "../api.js";
import { EXT, q, panel, table, errorText, alertBox, noAgent } from "./util.js";
import { t as tx } from "../i18n.js";

const STARTER = `def main(s):
    s.say("Hello " + s.entities.get("name", "there") + ", this is a reminder. Will you pay today?")
    a = s.listen(timeout=5, expect=["yes", "no"])
    if a and "yes" in a:
        s.set("will_pay", "true")
        s.say("Thank you, goodbye.")
    else:
        s.set("will_pay", "false")
        s.transfer(reason="customer hesitates")
`;

export async function render(main, ctx, [name]) {
  if (!ctx.agent) return noAgent(main);
  const aq = q({ agent_uuid: ctx.agent });
  const list = (await call("GET", EXT + "/agent-settings/script" + aq)).data;
  name = name || (list.some((s) => s.name === "main") ? "main" : (list[0] && list[0].name) || "main");
  let source = STARTER;
  if (list.some((s) => s.name === name)) source = (await call("GET", EXT + "/agent-settings/script" + q({ agent_uuid: ctx.agent, name }))).source;

  const gutter = el("pre", { class: "gutter", "aria-hidden": "true" });
  const area = el("textarea", { id: "source", spellcheck: "false", autocapitalize: "off", "aria-label": tx("script.script_source"), "aria-describedby": "problems" });
  area.value = source;
  const problems = el("ul", { id: "problems", class: "problems", "aria-live": "polite" });
  const verdict = el("p", { id: "verdict", role: "status" });
  const err = alertBox();
  const nameInput = el("input", { name: "name", value: name, required: true, pattern: "[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,99}", "aria-label": tx("script.script_name") });
  let bad = 0;

  const lines = () => {
    const n = area.value.split("\n").length;
    gutter.replaceChildren(...Array.from({ length: n }, (_, i) => el("span", { class: i + 1 === bad ? "bad" : null }, String(i + 1))));
    area.rows = n + 1;
  };
  const goto = (line, col) => {
    const parts = area.value.split("\n");
    let pos = 0;
    for (let i = 0; i < line - 1 && i < parts.length; i++) pos += parts[i].length + 1;
    pos += Math.max(0, (col || 1) - 1);
    area.focus();
    area.setSelectionRange(pos, pos);
  };
  const show = (res) => {
    bad = res.ok ? 0 : res.errors[0].line;
    problems.replaceChildren(...res.errors.map((p) => el("li", { class: "error", "data-line": p.line, tabindex: 0,
      onclick: () => goto(p.line, p.column), onkeydown: (e) => { if (e.key === "Enter") goto(p.line, p.column); } },
      tx("script.line", { line: p.line, column: p.column, message: p.message }))));
    verdict.textContent = res.ok ? tx("script.the_script_compiles") : tx("script.fix_before_saving", { n: res.errors.length });
    verdict.className = res.ok ? "ok" : "error";
    lines();
  };
  const check = async () => {
    err.textContent = "";
    const res = await call("POST", EXT + "/agent-settings/script/check" + aq, { source: area.value });
    show(res);
    return res.ok;
  };
  let timer = 0;
  area.addEventListener("input", () => { lines(); clearTimeout(timer); timer = setTimeout(() => check().catch((x) => { err.textContent = errorText(x); }), 700); });
  area.addEventListener("keydown", (e) => {
    // Tab indents (four spaces); Escape then Tab leaves the editor.
    if (e.key === "Tab" && !e.shiftKey && !area.dataset.escaped) {
      e.preventDefault();
      area.setRangeText("    ", area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
    }
    if (e.key === "Escape") area.dataset.escaped = "1"; else if (e.key !== "Tab") delete area.dataset.escaped;
  });

  const checkBtn = el("button", { type: "button", id: "check" }, tx("script.check"));
  checkBtn.addEventListener("click", () => check().catch((x) => { err.textContent = errorText(x); }));
  const form = el("form", { "aria-label": tx("script.script") },
    el("div", { class: "toolbar" }, el("label", {}, tx("script.name"), nameInput), checkBtn, el("button", { class: "primary", type: "submit", id: "save" }, tx("script.check_and_save"))),
    el("div", { class: "editor" }, gutter, area),
    el("p", { class: "muted small" }, tx("script.tab_indents_press_escape_then")),
    verdict, problems, err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearTimeout(timer);
    try {
      if (!await check()) { ctx.announce(tx("script.the_script_has_errors_not")); return; }
      const saved = await call("PUT", EXT + "/agent-settings/script" + aq, { name: nameInput.value, source: area.value });
      verdict.textContent = tx("script.saved", { name: saved.name, time: fmtTime(saved.updated_at) });
      verdict.className = "ok";
      verdict.dataset.saved = saved.name;
      ctx.announce(tx("script.script_saved"));
    } catch (x) { err.textContent = errorText(x); }
  });
  lines();

  main.replaceChildren(
    panel(tx("script.script_editor"), form),
    panel(tx("script.scripts_of_this_agent"), table([
      { key: "name", label: tx("script.name"), render: (s) => el("a", { href: "#/script/" + encodeURIComponent(s.name) }, s.name) },
      { key: "updated_at", label: tx("script.updated"), render: (s) => fmtTime(s.updated_at) },
    ], list, { caption: tx("script.scripts"), empty: tx("script.no_script_yet_dialogs_use") })));
  return () => clearTimeout(timer);
}
