// The API reference: renders the OpenAPI 3.1 documents Parley serves under
// /openapi/ (one per API family) as readable pages: every operation with
// its parameters, request body and responses, schemas expanded in place.
// Plain DOM, no framework; all text goes in as text, never as HTML.
import { el } from "./api.js";
import { t as tx, onLang } from "./i18n.js";

const METHODS = ["get", "post", "put", "patch", "delete"];

main().catch((err) => {
  document.getElementById("loading").replaceChildren(el("span", { class: "error", role: "alert" }, tx("apidocs.could_not_load_the_api") + err.message));
});

async function main() {
  const index = await getJSON("/openapi/");
  const docs = await Promise.all(index.documents.map(async (d) => ({ ...d, doc: await getJSON(d.url) })));
  draw(docs);
  document.getElementById("filter").addEventListener("input", (e) => filter(e.target.value));
  window.addEventListener("hashchange", reveal);
  // The reference's own words follow a language switch; the documents
  // (English, as the APIs speak) are not read again.
  onLang(() => { draw(docs); filter(document.getElementById("filter").value); });
  reveal();
  document.body.dataset.ready = "true";
}

function draw(docs) {
  document.getElementById("docs").replaceChildren(...docs.map(renderFamily));
  document.getElementById("toc").replaceChildren(...docs.map(tocFamily));
  document.getElementById("families").replaceChildren(...docs.map((d) => el("a", { href: "#" + d.name }, short(d))));
}

async function getJSON(url) {
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(url + ": " + res.status);
  return res.json();
}

function short(d) { return d.title.replace(/^Parley /, ""); }

// operations lists a document's operations (and webhooks) in document order.
function operations(doc) {
  const out = [];
  for (const [group, items] of [["paths", doc.paths || {}], ["webhooks", doc.webhooks || {}]]) {
    for (const [path, item] of Object.entries(items)) {
      for (const m of METHODS) {
        if (item[m]) out.push({ method: m, path, op: item[m], webhook: group === "webhooks", shared: item.parameters || [] });
      }
    }
  }
  return out;
}

function opID(fam, o) { return fam.name + "-" + (o.op.operationId || (o.method + o.path).replace(/[^A-Za-z0-9]+/g, "-")); }

function tocFamily(fam) {
  const byTag = groupByTag(fam.doc);
  return el("div", { class: "toc-family" },
    el("h2", {}, el("a", { href: "#" + fam.name }, short(fam))),
    [...byTag].map(([tag, ops]) => el("div", { class: "toc-tag" },
      el("h3", {}, tag),
      el("ul", {}, ops.map((o) => el("li", { "data-op": opID(fam, o) },
        el("a", { href: "#" + opID(fam, o) }, el("span", { class: "method m-" + o.method }, o.webhook ? "hook" : o.method.toUpperCase()), " ", o.op.summary || o.path)))))));
}

function groupByTag(doc) {
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const o of operations(doc)) {
    const tag = (o.op.tags && o.op.tags[0]) || tx("apidocs.other");
    if (!byTag.has(tag)) byTag.set(tag, []);
    byTag.get(tag).push(o);
  }
  for (const [k, v] of byTag) if (!v.length) byTag.delete(k);
  return byTag;
}

function renderFamily(fam) {
  const doc = fam.doc;
  const schemes = Object.entries((doc.components && doc.components.securitySchemes) || {});
  return el("section", { class: "family", id: fam.name, "aria-labelledby": fam.name + "-h" },
    el("h2", { id: fam.name + "-h" }, doc.info.title, " ", el("span", { class: "muted small" }, "v" + doc.info.version)),
    el("p", { class: "meta" }, tx("apidocs.mounted_at"), el("code", {}, fam.prefix), " · OpenAPI ", doc.openapi, " · ",
      el("a", { href: fam.url }, fam.url.replace(/^\/openapi\//, ""))),
    para(doc.info.description),
    schemes.length ? el("div", { class: "auth" }, el("h3", {}, tx("apidocs.authentication")),
      el("ul", {}, schemes.map(([name, s]) => el("li", {}, el("code", {}, name), ": ", s.type === "http" ? "HTTP " + s.scheme + (s.bearerFormat ? " (" + s.bearerFormat + ")" : "") : s.type,
        s.description ? " — " + s.description : "")))) : null,
    [...groupByTag(doc)].map(([tag, ops]) => el("section", { class: "tag", "aria-label": tag },
      el("h3", {}, tag),
      ops.map((o) => renderOperation(fam, o)))));
}

function para(text) {
  if (!text) return null;
  return text.split(/\n{2,}/).map((p) => el("p", { class: "desc" }, p));
}

function renderOperation(fam, o) {
  const { op, method, path } = o;
  const doc = fam.doc;
  const params = [...o.shared, ...(op.parameters || [])].map((p) => resolve(doc, p));
  const security = op.security !== undefined ? op.security : doc.security;
  const open = el("details", { class: "op", id: opID(fam, o), "data-search": [method, path, op.summary, op.operationId, op.description].join(" ").toLowerCase() },
    el("summary", {},
      el("span", { class: "method m-" + method }, o.webhook ? "WEBHOOK " + method.toUpperCase() : method.toUpperCase()), " ",
      el("code", { class: "path" }, o.webhook ? path : path), " ",
      el("span", { class: "summary" }, op.summary || "")),
    el("div", { class: "op-body" },
      para(op.description),
      el("p", { class: "small muted" }, "operationId ", el("code", {}, op.operationId || "—"), " · ",
        security && security.length ? tx("apidocs.auth", { schemes: security.map((s) => Object.keys(s).join(" + ") || tx("apidocs.none")).join(tx("apidocs.or")) }) : tx("apidocs.no_credentials")),
      params.length ? el("div", { class: "block" }, el("h4", {}, tx("apidocs.parameters")), paramTable(doc, params)) : null,
      op.requestBody ? requestBody(doc, resolve(doc, op.requestBody)) : null,
      el("div", { class: "block" }, el("h4", {}, tx("apidocs.responses")),
        Object.entries(op.responses || {}).map(([status, r]) => response(doc, status, resolve(doc, r))))));
  return open;
}

function paramTable(doc, params) {
  return el("table", { class: "params" },
    el("thead", {}, el("tr", {}, [tx("apidocs.name"), tx("apidocs.in"), tx("apidocs.type"), tx("apidocs.description")].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, params.map((p) => el("tr", {},
      el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req", title: tx("apidocs.required") }, " *") : null),
      el("td", {}, p.in),
      el("td", {}, p.schema ? typeLine(doc, p.schema) : ""),
      el("td", {}, p.description || "")))));
}

function requestBody(doc, body) {
  return el("div", { class: "block" },
    el("h4", {}, tx("apidocs.request_body"), body.required ? el("span", { class: "req" }, " (required)") : el("span", { class: "muted" }, " (optional)")),
    para(body.description),
    Object.entries(body.content || {}).map(([type, mt]) => el("div", { class: "media" },
      el("p", { class: "small muted" }, type), mt.schema ? schemaTree(doc, mt.schema, new Set()) : null)));
}

function response(doc, status, r) {
  const headers = Object.entries(r.headers || {}).map(([n, h]) => [n, resolve(doc, h)]);
  const content = Object.entries(r.content || {});
  return el("details", { class: "resp s" + status[0] },
    el("summary", {}, el("span", { class: "status" }, status), " ", r.description || ""),
    headers.length ? el("p", { class: "small" }, tx("apidocs.headers"), headers.map(([n, h], i) => [i ? ", " : "", el("code", { title: h.description || "" }, n)]).flat()) : null,
    content.length ? content.map(([type, mt]) => el("div", { class: "media" },
      el("p", { class: "small muted" }, type), mt.schema ? schemaTree(doc, mt.schema, new Set()) : null)) : el("p", { class: "small muted" }, tx("apidocs.no_body")));
}

// resolve follows a local $ref ("#/components/...").
function resolve(doc, x) {
  let seen = 0;
  while (x && x.$ref && seen++ < 20) {
    const parts = x.$ref.replace(/^#\//, "").split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    let v = doc;
    for (const p of parts) v = v && v[p];
    if (!v) return { description: tx("apidocs.unresolved") + x.$ref };
    x = v;
  }
  return x;
}

function refName(s) { return s && s.$ref ? s.$ref.split("/").pop() : null; }

// typeLine is a schema's type in one line: "string (uuid)", "array of Chat", "integer | null".
function typeLine(doc, s) {
  const name = refName(s);
  if (name) return el("span", { class: "type" }, name);
  const alts = s.oneOf || s.anyOf;
  if (alts) return el("span", { class: "type" }, alts.map((a, i) => [i ? " | " : "", typeLine(doc, a)]).flat());
  let t = s.type;
  if (Array.isArray(t)) t = t.join(" | ");
  if (t === "array" || (Array.isArray(s.type) && s.type.includes("array"))) {
    const items = s.items ? typeLine(doc, s.items) : "any";
    return el("span", { class: "type" }, (Array.isArray(s.type) ? s.type.filter((x) => x !== "array").map((x) => x + " | ").join("") : ""), "array of ", items);
  }
  if (t === "object" && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
    return el("span", { class: "type" }, "map of ", typeLine(doc, s.additionalProperties));
  }
  const bits = [t || (s.const !== undefined ? typeof s.const : "any")];
  if (s.format) bits.push(" (" + s.format + ")");
  return el("span", { class: "type" }, bits.join(""));
}

function constraints(s) {
  const c = [];
  if (s.const !== undefined) c.push("always " + JSON.stringify(s.const));
  if (s.enum) c.push("one of " + s.enum.map((v) => JSON.stringify(v)).join(", "));
  if (s.default !== undefined) c.push("default " + JSON.stringify(s.default));
  if (s.minimum !== undefined) c.push("≥ " + s.minimum);
  if (s.maximum !== undefined) c.push("≤ " + s.maximum);
  if (s.minLength !== undefined) c.push("length ≥ " + s.minLength);
  if (s.maxLength !== undefined) c.push("length ≤ " + s.maxLength);
  if (s.minItems !== undefined) c.push("≥ " + s.minItems + " items");
  if (s.maxItems !== undefined) c.push("≤ " + s.maxItems + " items");
  if (s.pattern) c.push("pattern " + s.pattern);
  return c.length ? el("span", { class: "constraints" }, c.join("; ")) : null;
}

// schemaTree renders a schema: objects as property lists, arrays by their
// items, alternatives one by one; named schemas ($ref) get their name and
// expand in place (once per branch, so recursion ends).
function schemaTree(doc, s, seen) {
  const name = refName(s);
  if (name) {
    if (seen.has(name)) return el("p", { class: "small" }, el("span", { class: "type" }, name), tx("apidocs.see_above"));
    const next = new Set(seen).add(name);
    return el("div", { class: "schema", "data-schema": name }, el("p", { class: "schema-name" }, name), schemaTree(doc, resolve(doc, s), next));
  }
  const parts = [];
  if (s.description) parts.push(el("p", { class: "desc small" }, s.description));
  const alts = s.oneOf || s.anyOf;
  if (alts) {
    parts.push(el("p", { class: "small muted" }, s.oneOf ? tx("apidocs.one_of") : tx("apidocs.any_of")));
    parts.push(el("ol", { class: "alts" }, alts.map((a) => el("li", {}, isEmpty(a) ? "anything" : (a.type === "null" ? "null" : schemaTree(doc, a, seen))))));
    return el("div", { class: "schema" }, parts);
  }
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes("object") && (s.properties || s.additionalProperties !== undefined)) {
    const req = new Set(s.required || []);
    const props = Object.entries(s.properties || {});
    if (types.includes("null")) parts.push(el("p", { class: "small muted" }, tx("apidocs.an_object_or_null")));
    if (props.length) {
      parts.push(el("ul", { class: "props" }, props.map(([pn, ps]) => {
        const r = resolve(doc, ps);
        const nested = needsTree(doc, ps) ? schemaTree(doc, itemsOf(ps), seen) : null;
        return el("li", {},
          el("code", { class: "prop" }, pn), req.has(pn) ? el("span", { class: "req", title: tx("apidocs.required") }, " *") : null, " ",
          typeLine(doc, ps), " ", constraints(r),
          r.description && !refName(ps) ? el("span", { class: "pdesc" }, " — " + r.description) : null,
          nested);
      })));
    }
    if (s.additionalProperties === false) parts.push(el("p", { class: "small muted" }, tx("apidocs.no_other_properties")));
    else if (s.additionalProperties && typeof s.additionalProperties === "object") {
      parts.push(el("p", { class: "small muted" }, props.length ? tx("apidocs.other_properties") : tx("apidocs.keys_map_to"), typeLine(doc, s.additionalProperties)));
      if (needsTree(doc, s.additionalProperties)) parts.push(schemaTree(doc, itemsOf(s.additionalProperties), seen));
    }
  } else if (types.includes("array")) {
    parts.push(el("p", { class: "small" }, typeLine(doc, s), " ", constraints(s)));
    if (s.items && needsTree(doc, s.items)) parts.push(schemaTree(doc, itemsOf(s.items), seen));
  } else {
    parts.push(el("p", { class: "small" }, typeLine(doc, s), " ", constraints(s)));
  }
  return el("div", { class: "schema" }, parts);
}

function isEmpty(s) { return s && typeof s === "object" && Object.keys(s).length === 0; }

// itemsOf is what to expand below a property: its own schema, or the
// items of an array of a named schema.
function itemsOf(s) {
  if (!s.$ref && s.type === "array" && s.items) return s.items;
  return s;
}

// needsTree tells whether a property's schema has structure to expand.
function needsTree(doc, s) {
  if (s.$ref) {
    const r = resolve(doc, s);
    return !!(r.properties || r.oneOf || r.anyOf || r.items || (r.additionalProperties && typeof r.additionalProperties === "object"));
  }
  if (s.oneOf || s.anyOf) return true;
  if (s.properties) return true;
  if (s.type === "array" && s.items) return needsTree(doc, s.items);
  if (s.additionalProperties && typeof s.additionalProperties === "object" && !isEmpty(s.additionalProperties)) return needsTree(doc, s.additionalProperties);
  return false;
}

// filter shows only the operations whose method, path or words match.
function filter(text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  for (const op of document.querySelectorAll("details.op")) {
    const hit = words.every((w) => op.dataset.search.includes(w));
    op.hidden = !hit;
    const li = document.querySelector(`#toc li[data-op="${op.id}"]`);
    if (li) li.hidden = !hit;
  }
}

// reveal opens the operation the URL's fragment names.
function reveal() {
  const id = decodeURIComponent(location.hash.slice(1));
  const target = id && document.getElementById(id);
  if (!target) return;
  if (target.tagName === "DETAILS") target.open = true;
  target.scrollIntoView({ block: "start" });
}
