import { login } from "./api.js";
import { t } from "./i18n.js";
import { landing, humanError } from "./ui.js";

// sameOrigin is where ?next= may lead: a page of this origin only. The
// URL is resolved as the browser would ("/\\host" and "/<tab>/host" mean
// "//host"), so no spelling of another origin gets through.
function sameOrigin(next, role) {
  if (!next) return landing(role);
  try {
    const u = new URL(next, location.origin);
    if (u.origin === location.origin && (u.protocol === "http:" || u.protocol === "https:")) return u.href; // absolute: a path like "//host" (from "/.//host") must not be re-read as a host
  } catch { /* not a URL */ }
  return landing(role);
}

const form = document.getElementById("login");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = document.getElementById("error");
  err.textContent = "";
  try {
    const s = await login(form.login.value, form.password.value);
    location.href = sameOrigin(new URLSearchParams(location.search).get("next"), s.role);
  } catch (x) {
    err.textContent = x.status === 401 || x.status === 403 ? t("login.failed") : humanError(x);
  }
});
