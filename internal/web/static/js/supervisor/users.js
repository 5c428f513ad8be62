// Users of the company: list, create, change role, reset password
// (/v1/users). A generated password is shown once, on this page only.
import { call, el } from "../api.js";
import { t } from "../i18n.js";
import { fmtDateTime, humanError, confirmAction } from "../ui.js";
import { panel, table, alertBox } from "./util.js";

const ROLES = ["operator", "admin", "api"];

export async function render(main, ctx) {
  const err = alertBox();
  const list = el("div", { id: "users-list" });
  const secret = el("div", { id: "users-secret", "aria-live": "polite" });
  const roleSelect = (value, attrs) => el("select", attrs, ROLES.map((r) => el("option", { value: r, selected: r === value }, t("role." + r))));

  const load = async () => {
    const { users } = await call("GET", "/v1/users");
    list.replaceChildren(table([
      { key: "login", label: t("users.login") },
      { key: "role", label: t("users.role"), render: (u) => {
        const s = roleSelect(u.role, { "aria-label": t("users.role_of", { login: u.login }), "data-user": u.user_id });
        s.addEventListener("change", async () => {
          err.textContent = "";
          try {
            await call("PATCH", "/v1/users/" + u.user_id, { role: s.value });
            ctx.announce(t("users.role_changed", { login: u.login }));
            await load();
          } catch (x) { err.textContent = humanError(x); s.value = u.role; }
        });
        return s;
      } },
      { key: "created_at", label: t("users.created"), render: (u) => fmtDateTime(u.created_at) },
      { key: "password", label: t("users.password"), render: (u) => el("button", { type: "button", "data-reset": u.user_id, onclick: async () => {
        err.textContent = "";
        if (!await confirmAction(t("users.reset_confirm", { login: u.login }), t("users.reset"))) return;
        try {
          const r = await call("POST", "/v1/users/" + u.user_id + "/password", {});
          secret.replaceChildren(el("div", { class: "notice" },
            el("p", {}, t("users.new_password", { login: u.login })),
            el("p", {}, el("code", { id: "new-password" }, r.password), " ", copyButton(r.password)),
            el("p", { class: "muted small" }, t("users.shown_once"))));
        } catch (x) { err.textContent = humanError(x); }
      } }, t("users.reset")) },
    ], users, { caption: t("users.title"), empty: t("users.none") }));
  };

  const login = el("input", { name: "login", required: true, maxlength: 128, autocomplete: "off" });
  const password = el("input", { name: "password", type: "password", required: true, minlength: 8, maxlength: 256, autocomplete: "new-password" });
  const role = roleSelect("operator", { name: "role" });
  const form = el("form", { class: "form-grid", id: "user-form" },
    el("label", {}, t("users.login"), login),
    el("label", {}, t("users.password"), password),
    el("label", {}, t("users.role"), role),
    el("button", { class: "primary", type: "submit" }, t("users.create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      await call("POST", "/v1/users", { login: login.value.trim(), password: password.value, role: role.value });
      ctx.announce(t("users.created_msg", { login: login.value.trim() }));
      form.reset();
      await load();
    } catch (x) { err.textContent = humanError(x); }
  });
  await load();
  main.replaceChildren(panel(t("users.title"), list, secret, err), panel(t("users.new"), form));
}

export function copyButton(text) {
  return el("button", { type: "button", class: "copy", onclick: async (e) => {
    const b = e.currentTarget;
    try { await navigator.clipboard.writeText(text); b.textContent = t("copy.done"); } catch { b.textContent = t("copy.failed"); }
  } }, t("copy.copy"));
}
