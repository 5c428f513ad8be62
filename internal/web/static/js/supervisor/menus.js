// Menus: the queues chats go through (/apps/api/v1/menus): create,
// rename, delete (after confirmation; a menu in use stays, and the API
// says why).
import { call, el } from "../api.js";
import { t } from "../i18n.js";
import { humanError, confirmAction } from "../ui.js";
import { panel, table, alertBox } from "./util.js";

export async function render(main, ctx) {
  const err = alertBox();
  const list = el("div", { id: "menus-list" });
  const load = async () => {
    const { menus } = await call("GET", "/apps/api/v1/menus");
    list.replaceChildren(table([
      { key: "name", label: t("menus.name"), render: (m) => {
        const i = el("input", { value: m.name, maxlength: 200, "aria-label": t("menus.name_of", { name: m.name }), "data-menu": m.id });
        i.addEventListener("change", async () => {
          err.textContent = "";
          try { await call("PATCH", "/apps/api/v1/menus/" + m.id, { name: i.value }); ctx.announce(t("menus.renamed", { name: i.value })); await load(); } catch (x) { err.textContent = humanError(x); i.value = m.name; }
        });
        return i;
      } },
      { key: "operators", label: t("menus.operators"), render: (m) => m.operator_ids.length ? String(m.operator_ids.length) : t("menus.everyone") },
      { key: "actions", label: t("col.actions"), render: (m) => el("button", { type: "button", class: "danger", "data-delete": m.id,
        "aria-label": t("menus.delete_named", { name: m.name }), onclick: async () => {
          err.textContent = "";
          if (!await confirmAction(t("menus.delete_confirm", { name: m.name }), t("menus.delete"))) return;
          try { await call("DELETE", "/apps/api/v1/menus/" + m.id); ctx.announce(t("menus.deleted", { name: m.name })); await load(); } catch (x) { err.textContent = humanError(x); }
        } }, t("menus.delete")) },
    ], menus, { caption: t("menus.title"), empty: t("menus.none") }));
  };
  const name = el("input", { name: "name", required: true, maxlength: 200 });
  const form = el("form", { class: "form-grid", id: "menu-form" },
    el("label", {}, t("menus.name"), name),
    el("button", { class: "primary", type: "submit" }, t("menus.create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      await call("POST", "/apps/api/v1/menus", { name: name.value.trim() });
      ctx.announce(t("menus.created", { name: name.value.trim() }));
      form.reset();
      await load();
    } catch (x) { err.textContent = humanError(x); }
  });
  await load();
  main.replaceChildren(panel(t("menus.title"), list, err), panel(t("menus.new"), form));
}
