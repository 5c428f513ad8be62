import { login } from "./api.js";

// sameOrigin is where ?next= may lead: a page of this origin only. The
// URL is resolved as the browser would ("/\\host" and "/<tab>/host" mean
// "//host"), so no spelling of another origin gets through.
function sameOrigin(next) {
  if (!next) return "/console/";
  try {
    const u = new URL(next, location.origin);
    if (u.origin === location.origin && (u.protocol === "http:" || u.protocol === "https:")) return u.href; // absolute: a path like "//host" (from "/.//host") must not be re-read as a host
  } catch { /* not a URL */ }
  return "/console/";
}

const form = document.getElementById("login");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = document.getElementById("error");
  err.textContent = "";
  try {
    await login(form.login.value, form.password.value);
    location.href = sameOrigin(new URLSearchParams(location.search).get("next"));
  } catch (x) {
    err.textContent = x.message;
  }
});
