// Projects: the chat entry points (/apps/api/v1/projects), each with the
// one line a company puts on its site to show the widget.
import { call, el } from "../api.js";
import { t } from "../i18n.js";
import { humanError } from "../ui.js";
import { panel, alertBox } from "./util.js";
import { copyButton } from "./users.js";

// snippet is the widget's embed line (see js/widget-loader.js).
export function snippet(uuid) {
  return `<script src="${location.origin}/widget.js" data-project="${uuid}" async></script>`;
}

export async function render(main, ctx) {
  const err = alertBox();
  const list = el("div", { id: "projects-list" });
  let menus = [];
  const load = async () => {
    const [{ projects }, m] = await Promise.all([call("GET", "/apps/api/v1/projects"), call("GET", "/apps/api/v1/menus")]);
    menus = m.menus;
    const menuName = (id) => (menus.find((x) => x.id === id) || {}).name || t("projects.no_menu");
    list.replaceChildren(...(projects.length ? projects.map((p) => el("article", { class: "project", "data-project": p.project_uuid },
      el("h3", {}, p.name),
      el("p", { class: "muted small" }, t("projects.menu"), ": ", menuName(p.menu_id)),
      el("label", {}, t("projects.embed"), el("textarea", { class: "snippet", readonly: true, rows: 2 }, snippet(p.project_uuid))),
      el("div", { class: "row" }, copyButton(snippet(p.project_uuid)),
        el("a", { href: "/widget/demo/?project=" + encodeURIComponent(p.project_uuid), target: "_blank", rel: "noopener" }, t("projects.try")))))
      : [el("p", { class: "muted" }, t("projects.none"))]));
    menu.replaceChildren(el("option", { value: "" }, t("projects.no_menu")), ...menus.map((x) => el("option", { value: x.id }, x.name)));
  };
  const name = el("input", { name: "name", required: true, maxlength: 200 });
  const menu = el("select", { name: "menu" });
  const form = el("form", { class: "form-grid", id: "project-form" },
    el("label", {}, t("projects.name"), name),
    el("label", {}, t("projects.menu"), menu),
    el("button", { class: "primary", type: "submit" }, t("projects.create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      const body = { name: name.value.trim() };
      if (menu.value) body.menu_id = Number(menu.value);
      await call("POST", "/apps/api/v1/projects", body);
      ctx.announce(t("projects.created", { name: body.name }));
      form.reset();
      await load();
    } catch (x) { err.textContent = humanError(x); }
  });
  await load();
  main.replaceChildren(panel(t("projects.title"), list, err), panel(t("projects.new"), form));
}
