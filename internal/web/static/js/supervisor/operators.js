// Operators: presence, capacity and the menus they serve (/v1/operators
// and the menus' operator_ids in /apps/api/v1/menus). New operators with a
// login are made on the Users page; these are the chat operators.
import { call, el } from "../api.js";
import { t } from "../i18n.js";
import { humanError } from "../ui.js";
import { panel, table, alertBox } from "./util.js";

const STATUSES = ["online", "busy", "offline"];

export async function render(main, ctx) {
  const err = alertBox();
  const list = el("div", { id: "operators-list" });
  const load = async () => {
    const [{ operators }, { menus }] = await Promise.all([call("GET", "/v1/operators"), call("GET", "/apps/api/v1/menus")]);
    const patch = async (o, body) => {
      err.textContent = "";
      try { await call("PATCH", "/v1/operators/" + o.operator_id, body); ctx.announce(t("ops.saved", { name: o.name })); await load(); } catch (x) { err.textContent = humanError(x); }
    };
    list.replaceChildren(table([
      { key: "name", label: t("ops.name") },
      { key: "status", label: t("ops.presence"), render: (o) => {
        // A user moved off the operator role: the row stays offline.
        if (o.disabled) return el("span", { class: "muted", title: t("ops.disabled_hint") }, t("ops.disabled"));
        const s = el("select", { "aria-label": t("ops.presence_of", { name: o.name }) }, STATUSES.map((v) => el("option", { value: v, selected: v === o.status }, t("status." + v))));
        s.addEventListener("change", () => patch(o, { status: s.value }));
        return s;
      } },
      { key: "load", label: t("ops.load"), num: true, render: (o) => String(o.load) },
      { key: "capacity", label: t("ops.capacity"), render: (o) => {
        const i = el("input", { type: "number", min: 0, max: 100, value: o.capacity, class: "narrow", "aria-label": t("ops.capacity_of", { name: o.name }) });
        i.addEventListener("change", () => patch(o, { capacity: Number(i.value) }));
        return i;
      } },
      { key: "menus", label: t("ops.menus"), render: (o) => el("div", { class: "row" }, menus.length ? menus.map((m) => {
        const box = el("input", { type: "checkbox", checked: m.operator_ids.includes(o.operator_id) });
        box.addEventListener("change", async () => {
          err.textContent = "";
          const ids = new Set(m.operator_ids);
          if (box.checked) ids.add(o.operator_id); else ids.delete(o.operator_id);
          try { await call("PATCH", "/apps/api/v1/menus/" + m.id, { operator_ids: [...ids] }); ctx.announce(t("ops.saved", { name: o.name })); await load(); } catch (x) { err.textContent = humanError(x); }
        });
        return el("label", { class: "check" }, box, m.name);
      }) : el("span", { class: "muted" }, t("ops.no_menus"))) },
    ], operators, { caption: t("ops.title"), empty: t("ops.none") }));
  };
  const name = el("input", { name: "name", required: true, maxlength: 200 });
  const form = el("form", { class: "form-grid", id: "operator-form" },
    el("label", {}, t("ops.name"), name),
    el("button", { class: "primary", type: "submit" }, t("ops.create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      await call("POST", "/v1/operators", { name: name.value.trim() });
      ctx.announce(t("ops.created", { name: name.value.trim() }));
      form.reset();
      await load();
    } catch (x) { err.textContent = humanError(x); }
  });
  await load();
  main.replaceChildren(panel(t("ops.title"), el("p", { class: "muted small" }, t("ops.hint")), list, err), panel(t("ops.new"), form));
}
