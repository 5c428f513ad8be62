// Dialog upload from a CSV or XLSX file: map the columns to the agent's
// initial entities, post the rows as one dialogs-group-initial upload, and
// follow the import task to its per-row result.
import { call, el } from "../api.js";
import { EXT, q, panel, table, errorText, alertBox, noAgent, sleep } from "./util.js";
import { readTable } from "./files.js";
import { t as tx } from "../i18n.js";

// FIXED is a function: its words follow a language switch.
const FIXED = () => ([["msisdn", tx("upload.phone_number_msisdn")], ["script_name", tx("upload.script_name")], ["sim_say", tx("upload.sim_callee_says")], ["sim_answer", tx("upload.sim_answer")]]);

export async function render(main, ctx) {
  if (!ctx.agent) return noAgent(main);
  const entities = (await call("GET", EXT + "/initial-entity" + q({ agent_uuid: ctx.agent }))).data.map((e) => e.name).filter((n) => n !== "msisdn" && n !== "phone");
  const targets = [...FIXED(), ...entities.map((n) => [n, n + tx("upload.initial_entity")])];
  let rows = [];
  let stopped = false;

  const file = el("input", { type: "file", id: "file", accept: ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" });
  const header = el("input", { type: "checkbox", id: "header", checked: true });
  const mapBox = el("div", { id: "mapping" });
  const err = alertBox();
  const progress = el("progress", { id: "progress", max: 1, value: 0, "aria-label": tx("upload.import_progress") });
  const info = el("p", { id: "import-info", role: "status" });
  const results = el("div", { id: "results" });
  const withSel = el("input", { type: "checkbox", name: "with_selection", checked: true });
  const selName = el("input", { name: "selection_name", value: tx("upload.upload") + new Date().toISOString().slice(0, 10), maxlength: 100 });
  const send = el("button", { class: "primary", type: "submit", id: "upload", disabled: true }, tx("upload.upload_dialogs"));

  const draw = () => {
    mapBox.replaceChildren();
    send.disabled = true;
    if (!rows.length) return;
    const width = Math.max(...rows.map((r) => r.length));
    const head = header.checked ? rows[0] : Array.from({ length: width }, (_, i) => tx("upload.column") + (i + 1));
    const body = header.checked ? rows.slice(1) : rows;
    const guess = (h) => {
      const k = String(h || "").trim().toLowerCase();
      if (["msisdn", "phone", "number", "phone number", "tel"].includes(k)) return "msisdn";
      const t = targets.find(([name]) => name.toLowerCase() === k);
      return t ? t[0] : "";
    };
    const selects = Array.from({ length: width }, (_, i) => el("select", { name: "col" + i, "data-col": i, "aria-label": tx("upload.column", { n: i + 1, name: head[i] || "" }) },
      el("option", { value: "" }, tx("upload.ignore")), targets.map(([v, label]) => el("option", { value: v, selected: guess(head[i]) === v }, label))));
    const check = () => { send.disabled = !selects.some((s) => s.value === "msisdn"); };
    selects.forEach((s) => s.addEventListener("change", check));
    check();
    mapBox.replaceChildren(
      el("h3", {}, tx("upload.map_columns", { n: body.length })),
      el("div", { class: "mapping" }, selects.map((s, i) => el("label", {}, head[i] || tx("upload.column_n", { n: i + 1 }), s))),
      el("h3", {}, tx("upload.preview")),
      el("div", { class: "table-wrap preview" }, el("table", {},
        el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, body.slice(0, 5).map((r) => el("tr", {}, Array.from({ length: width }, (_, i) => el("td", {}, r[i] ?? "")))))))
    );
    mapBox.selects = selects;
    mapBox.body = body;
  };

  file.addEventListener("change", async () => {
    err.textContent = ""; rows = [];
    try {
      if (file.files[0]) rows = await readTable(file.files[0]);
      if (file.files[0] && !rows.length) err.textContent = tx("upload.the_file_has_no_rows");
    } catch (x) { err.textContent = x.message; }
    draw();
  });
  header.addEventListener("change", draw);

  const form = el("form", { "aria-label": tx("upload.upload_dialogs") },
    el("div", { class: "toolbar" },
      el("label", {}, "CSV or XLSX file", file),
      el("label", { class: "row" }, header, tx("upload.first_row_holds_column_names")),
      el("label", { class: "row" }, withSel, tx("upload.add_to_selection")),
      el("label", {}, tx("upload.selection_name"), selName)),
    mapBox, el("p", {}, send), err);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = ""; results.replaceChildren(); info.textContent = "";
    const map = mapBox.selects.map((s) => s.value);
    const dialogs = mapBox.body.map((r) => {
      const d = {};
      map.forEach((k, i) => {
        if (!k || r[i] === undefined || String(r[i]).trim() === "") return;
        const v = String(r[i]).trim();
        // The sim trunk's lines: a JSON array in the cell, else one line.
        d[k] = k === "sim_say" ? (v.startsWith("[") ? v : [v]) : v;
      });
      return d;
    });
    send.disabled = true;
    try {
      const { bulk_uuid: bulk, task_uuid: task } = await call("POST", EXT + "/dialog/dialogs-group-initial" +
        q({ agent_uuid: ctx.agent, with_selection: withSel.checked ? "true" : "", selection_name: withSel.checked ? selName.value : "" }), dialogs);
      info.textContent = tx("upload.uploaded_waiting_for_the_import");
      let st;
      for (;;) {
        st = await call("GET", EXT + "/dialog/dialogs-group-initial-status" + q({ task_uuid: task }));
        progress.max = Math.max(1, st.total_rows); progress.value = st.processed_rows;
        info.textContent = `${st.state}: ${st.info}`;
        if (st.state === "done" || st.state === "failed" || stopped) break;
        await sleep(400);
      }
      if (stopped) return;
      const res = await call("GET", EXT + "/dialog/dialogs-group-initial-result" + q({ task_uuid: task }));
      const failed = res.map((r, i) => ({ row: i + 1 + (header.checked ? 1 : 0), ...r })).filter((r) => !r.status);
      results.dataset.state = st.state;
      results.replaceChildren(
        el("p", { id: "import-summary" }, tx("upload.imported", { ok: res.length - failed.length, total: res.length, failed: failed.length }) + " ",
          el("a", { href: "#/queue" }, tx("upload.see_the_queue")), " · ", el("a", { href: "#/stats" }, tx("upload.statistics")),
          el("span", { class: "muted small" }, " · bulk ", el("code", {}, bulk))),
        failed.length ? el("h3", {}, tx("upload.failed_rows")) : null,
        table([{ key: "row", label: tx("upload.file_row"), num: true }, { key: "msisdn", label: tx("upload.number") }, { key: "message", label: tx("upload.reason"), render: (r) => el("span", { class: "error" }, r.message) }],
          failed, { caption: tx("upload.failed_rows"), empty: "" }));
      ctx.announce(tx("upload.import", { state: st.state }));
    } catch (x) { err.textContent = errorText(x); }
    send.disabled = false;
  });

  main.replaceChildren(panel(tx("upload.upload_dialogs"), form), panel(tx("upload.import2"), progress, info, results));
  return () => { stopped = true; };
}
