// The pages' strings in English and Russian. Static text carries
// data-i18n="key" (its text) or data-i18n-attr="attr:key;attr:key" (its
// attributes); scripts call t("key", {name: value}). The language is the
// one chosen on a page (kept in localStorage), else the browser's.
import en from "./i18n/en.js";
import ru from "./i18n/ru.js";

export const catalogues = { en, ru };
const KEY = "parley.lang";

function initial() {
  // The widget's frame is told the host page's language (widget-loader.js).
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && catalogues[asked]) return asked;
  const saved = localStorage.getItem(KEY);
  if (saved && catalogues[saved]) return saved;
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("ru") ? "ru" : "en";
}

let lang = initial();
const listeners = new Set();

export function currentLang() { return lang; }

// t returns the string of key in the current language, with {name}
// placeholders filled; a key missing from a catalogue falls back to
// English, then to the key itself (the static test keeps that from
// shipping).
export function t(key, vars) {
  const s = (catalogues[lang] && catalogues[lang][key]) ?? en[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

// applied remembers the text apply last gave each element: an element a
// script has since rewritten (a chat's title, the connection badge) keeps
// the script's text, which the script renders again on a language switch.
const applied = new WeakMap();

// apply translates the marked elements under root.
export function apply(root = document) {
  for (const e of root.querySelectorAll("[data-i18n]")) {
    if (applied.has(e) && applied.get(e) !== e.textContent) continue;
    e.textContent = t(e.dataset.i18n);
    applied.set(e, e.textContent);
  }
  for (const e of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of e.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) e.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  if (root === document) document.documentElement.lang = lang;
}

// setLang switches the pages' language, remembers it, and tells the
// scripts that render strings themselves (onLang) to do it again.
export function setLang(l) {
  if (!catalogues[l]) return;
  lang = l;
  localStorage.setItem(KEY, l);
  apply();
  for (const f of listeners) f(l);
}

export function onLang(f) { listeners.add(f); return () => listeners.delete(f); }

// mountSwitch fills every <select data-lang-switch> with the languages.
export function mountSwitch() {
  for (const s of document.querySelectorAll("select[data-lang-switch]")) {
    s.replaceChildren(...Object.keys(catalogues).map((l) => {
      const o = document.createElement("option");
      o.value = l; o.textContent = catalogues[l]["lang.name"];
      return o;
    }));
    s.value = lang;
    s.addEventListener("change", () => setLang(s.value));
  }
}

apply();
mountSwitch();
