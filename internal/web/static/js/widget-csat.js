// The widget's rating of an ended chat (CSAT, issue 14): 1 to 5 stars and
// an optional comment, sent once through POST .../rating. The form sits
// between the conversation and the composer and is built here, so the
// widget's page needs no markup for it.
import { el } from "./api.js";
import { t as tx } from "./i18n.js";

// LABELS is a function: its words follow a language switch.
const LABELS = () => ([tx("csat.very_bad"), tx("csat.bad"), "OK", tx("csat.good"), tx("csat.great")]);

// showRating shows the rating form for an ended chat, or the rating given.
// call(method, path, body) is the widget's API call for its chat.
export function showRating(rating, call) {
  let box = document.getElementById("csat");
  if (!box) {
    box = el("section", { id: "csat", class: "csat", "aria-label": tx("csat.rate_this_chat") });
    document.getElementById("send").before(box);
  }
  if (rating) {
    box.replaceChildren(el("p", { class: "small", role: "status" },
      tx("csat.thank_you_you_rated_this", { rating: rating.rating })));
    box.dataset.rated = String(rating.rating);
    return;
  }
  if (box.dataset.asking) return;
  box.dataset.asking = "1";
  const err = el("p", { class: "error small", role: "alert" });
  const stars = el("div", { class: "stars", role: "radiogroup", "aria-label": tx("csat.your_rating") },
    LABELS().map((label, i) => el("label", { class: "star", title: label },
      el("input", { type: "radio", name: "csat-rating", value: String(i + 1), class: "visually-hidden" }),
      el("span", { "aria-hidden": "true" }, "★"), el("span", { class: "visually-hidden" }, `${i + 1} — ${label}`))));
  const comment = el("textarea", { id: "csat-comment", rows: 2, maxlength: 2000, placeholder: tx("csat.anything_to_add_optional"), "aria-label": tx("csat.comment") });
  const form = el("form", { id: "csat-form" },
    el("p", { class: "small" }, tx("csat.how_did_we_do")), stars, comment,
    el("button", { type: "submit", class: "primary" }, tx("csat.send_rating")), err);
  stars.addEventListener("change", () => {
    const v = Number(form.querySelector("input[name=csat-rating]:checked")?.value || 0);
    stars.querySelectorAll(".star").forEach((s, i) => s.classList.toggle("on", i < v));
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = Number(form.querySelector("input[name=csat-rating]:checked")?.value || 0);
    if (!v) { err.textContent = tx("csat.pick_1_to_5_stars"); return; }
    err.textContent = "";
    try {
      const r = await call("POST", "/rating", { rating: v, comment: comment.value.trim() });
      delete box.dataset.asking;
      showRating(r, call);
    } catch (x) { err.textContent = x.message; }
  });
  box.replaceChildren(form);
}

// hideRating removes the form (a new chat).
export function hideRating() {
  const box = document.getElementById("csat");
  if (box) box.remove();
}
