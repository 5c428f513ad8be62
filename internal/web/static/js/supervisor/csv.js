// CSV for spreadsheets (RFC 4180: comma-separated, CRLF line ends, cells
// with a comma, quote or line break quoted), safe to open. A spreadsheet
// reads a cell that starts with =, +, -, @, a tab or a carriage return as
// a formula, and a formula can run commands or send the sheet's data away
// (CSV injection). Dialog outputs, names and numbers come from callees and
// tenants' clients, so every such cell gets a leading ' (OWASP's advice):
// spreadsheets show it as text. "+7999..." is then text too, which also
// keeps its "+".
// Every CSV the pages write goes through toCSV.

const FORMULA = /^[=+\-@\t\r]/;

// csvCell is one cell: neutralised, then quoted if it must be.
export function csvCell(v) {
  let s = v === null || v === undefined ? "" : String(v);
  if (FORMULA.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// toCSV is the text of a table: a header row of column names, then one
// row per object, its values taken by column name. It starts with a byte
// order mark, so spreadsheets read it as UTF-8.
export function toCSV(cols, rows) {
  const line = (cells) => cells.map(csvCell).join(",");
  return "\uFEFF" + [line(cols), ...rows.map((r) => line(cols.map((k) => r[k])))].join("\r\n") + "\r\n";
}
