import { login } from "./api.js";

const form = document.getElementById("login");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = document.getElementById("error");
  err.textContent = "";
  try {
    await login(form.login.value, form.password.value);
    const next = new URLSearchParams(location.search).get("next");
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/console/";
  } catch (x) {
    err.textContent = x.message;
  }
});
