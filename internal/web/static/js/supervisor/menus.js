// Menus: the queues chats go through (/apps/api/v1/menus): create,
// rename, delete (after confirmation; a menu in use stays, and the API
// says why), and set each menu's inactivity rule: after how many silent
// minutes of the customer a chat is closed (empty: the server's default,
// 0: never).
import { call, el } from "../api.js";
import { t } from "../i18n.js";
import { humanError, confirmAction } from "../ui.js";
import { panel, table, alertBox } from "./util.js";

// MAX_INACTIVITY is the API's bound on the rule (a week, in minutes).
const MAX_INACTIVITY = 7 * 24 * 60;

// inactivityValue reads an inactivity field: null for empty (the server's
// default), a whole number of minutes, or undefined when it is not one.
function inactivityValue(input) {
  const v = input.value.trim();
  if (v === "" && input.validity.valid) return null;
  const n = Number(v);
  return v !== "" && Number.isInteger(n) && n >= 0 && n <= MAX_INACTIVITY ? n : undefined;
}

function inactivityInput(attrs) {
  return el("input", { type: "number", min: 0, max: MAX_INACTIVITY, step: 1, inputmode: "numeric", placeholder: t("menus.inactivity_default"), ...attrs });
}

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
      { key: "inactivity", label: t("menus.inactivity"), render: (m) => {
        const old = m.inactivity_minutes === null || m.inactivity_minutes === undefined ? "" : String(m.inactivity_minutes);
        const i = inactivityInput({ value: old, "aria-label": t("menus.inactivity_of", { name: m.name }), "data-inactivity": m.id });
        i.addEventListener("change", async () => {
          err.textContent = "";
          const v = inactivityValue(i);
          if (v === undefined) {
            i.setAttribute("aria-invalid", "true");
            err.textContent = t("menus.inactivity_invalid", { max: MAX_INACTIVITY });
            i.value = old;
            return;
          }
          i.removeAttribute("aria-invalid");
          try {
            await call("PATCH", "/apps/api/v1/menus/" + m.id, { inactivity_minutes: v });
            ctx.announce(v === null ? t("menus.inactivity_reset", { name: m.name }) : v === 0 ? t("menus.inactivity_never", { name: m.name }) : t("menus.inactivity_set", { name: m.name, n: v }));
            await load();
          } catch (x) { err.textContent = humanError(x); i.value = old; }
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
  const inactivity = inactivityInput({ name: "inactivity_minutes" });
  const form = el("form", { class: "form-grid", id: "menu-form", novalidate: true }, // the page says what is wrong, in the page's language
    el("label", {}, t("menus.name"), name),
    el("label", {}, t("menus.inactivity"), inactivity),
    el("p", { class: "muted small" }, t("menus.inactivity_hint")),
    el("button", { class: "primary", type: "submit" }, t("menus.create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    const minutes = inactivityValue(inactivity);
    if (minutes === undefined) {
      inactivity.setAttribute("aria-invalid", "true");
      err.textContent = t("menus.inactivity_invalid", { max: MAX_INACTIVITY });
      return;
    }
    inactivity.removeAttribute("aria-invalid");
    try {
      await call("POST", "/apps/api/v1/menus", minutes === null ? { name: name.value.trim() } : { name: name.value.trim(), inactivity_minutes: minutes });
      ctx.announce(t("menus.created", { name: name.value.trim() }));
      form.reset();
      await load();
    } catch (x) { err.textContent = humanError(x); }
  });
  await load();
  main.replaceChildren(panel(t("menus.title"), list, err), panel(t("menus.new"), form));
}
