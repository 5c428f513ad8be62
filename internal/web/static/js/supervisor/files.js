import { t as tx } from "../i18n.js";
// Reading tables from files in the browser, without libraries: CSV (RFC
// 4180 quoting; comma, semicolon or tab, guessed from the header line) and
// XLSX (a zip: the central directory is read, entries are inflated with
// DecompressionStream("deflate-raw"), the first sheet parsed with
// DOMParser). Both give an array of rows, each an array of strings.

export function parseCSV(text) {
  text = text.replace(/^\uFEFF/, "");
  const first = text.slice(0, text.indexOf("\n") >= 0 ? text.indexOf("\n") : text.length);
  const count = (c) => first.split(c).length;
  const sep = [",", ";", "\t"].reduce((a, b) => (count(b) > count(a) ? b : a));
  const rows = [];
  let row = [], field = "", i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === "") { quoted = true; i++; continue; }
    if (c === sep) { row.push(field); field = ""; i++; continue; }
    if (c === "\r" || c === "\n") {
      row.push(field); field = "";
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      continue;
    }
    field += c; i++;
  }
  row.push(field);
  if (row.length > 1 || row[0] !== "") rows.push(row);
  return rows;
}

// unzip returns a Map of entry name -> function returning its bytes.
export function unzip(buf) {
  const v = new DataView(buf);
  let eocd = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 22 - 65535); i--) {
    if (v.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error(tx("files.not_an_xlsx_file_no"));
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  const entries = new Map();
  for (let n = 0; n < count; n++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new Error(tx("files.broken_zip_directory"));
    const method = v.getUint16(p + 10, true);
    const size = v.getUint32(p + 20, true);
    const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true), commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = dec.decode(new Uint8Array(buf, p + 46, nameLen));
    entries.set(name, async () => {
      const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
      const data = new Uint8Array(buf, start, size);
      if (method === 0) return data;
      if (method !== 8) throw new Error(tx("files.unsupported_zip_compression", { method, name }));
      const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function xml(bytes) {
  const doc = new DOMParser().parseFromString(new TextDecoder().decode(bytes), "application/xml");
  if (doc.getElementsByTagName("parsererror").length) throw new Error(tx("files.broken_xml_in_the_xlsx"));
  return doc;
}

const byTag = (node, tag) => Array.from(node.getElementsByTagNameNS("*", tag));

function colIndex(ref) {
  const m = /^([A-Z]+)/.exec(ref || "");
  if (!m) return -1;
  let n = 0;
  for (const ch of m[1]) n = n * 26 + ch.charCodeAt(0) - 64;
  return n - 1;
}

export async function parseXLSX(buf) {
  const files = unzip(buf);
  let strings = [];
  if (files.has("xl/sharedStrings.xml")) {
    strings = byTag(xml(await files.get("xl/sharedStrings.xml")()), "si").map((si) => byTag(si, "t").filter((t) => t.parentNode.localName !== "rPh").map((t) => t.textContent).join(""));
  }
  const sheet = files.has("xl/worksheets/sheet1.xml") ? "xl/worksheets/sheet1.xml" : [...files.keys()].filter((k) => /^xl\/worksheets\/[^/]+\.xml$/.test(k)).sort()[0];
  if (!sheet) throw new Error(tx("files.the_xlsx_file_has_no"));
  const rows = [];
  for (const r of byTag(xml(await files.get(sheet)()), "row")) {
    const out = [];
    let next = 0;
    for (const c of byTag(r, "c")) {
      let i = colIndex(c.getAttribute("r"));
      if (i < 0) i = next;
      next = i + 1;
      const t = c.getAttribute("t");
      const vEl = byTag(c, "v")[0];
      let val = "";
      if (t === "s") val = strings[Number(vEl && vEl.textContent)] ?? "";
      else if (t === "inlineStr") val = byTag(c, "t").map((x) => x.textContent).join("");
      else if (t === "b") val = vEl && vEl.textContent === "1" ? "true" : "false";
      else val = vEl ? vEl.textContent : "";
      while (out.length < i) out.push("");
      out[i] = val;
    }
    if (out.some((x) => x !== "")) rows.push(out);
  }
  return rows;
}

// readTable reads a File by its name: .xlsx, else CSV.
export async function readTable(file) {
  if (/\.xlsx$/i.test(file.name)) return parseXLSX(await file.arrayBuffer());
  return parseCSV(await file.text());
}
