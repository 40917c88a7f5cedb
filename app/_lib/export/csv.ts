/**
 * The one CSV writer of every export (audit history, tester scan matrix): RFC 4180 with CRLF
 * line ends, plus what spreadsheets need when the text comes from strangers (OWASP "CSV
 * Injection"). Origins, User-Agents and paths are chosen by whoever connects, so:
 *
 *  - a text cell that starts with `=`, `+`, `-`, `@`, tab or carriage return gets a leading
 *    `'`, so it is never run as a formula;
 *  - a cell that holds a field separator of any common locale (`,` or `;` — Excel in many
 *    European locales splits on `;` — or a tab), a quote or a line break is quoted, with
 *    quotes doubled, so `x;=cmd|' /C calc'!A0` stays one cell that starts with `x`;
 *  - quoting alone is not enough: a reader whose separator is `;` sees the quote of a field
 *    that does not start its line as a plain character and still splits at the `;`. So a `'`
 *    also goes after every `,` `;` tab CR or LF inside a cell that a formula character
 *    follows (after any quotes or spaces): `x;=cmd` is written `x;'=cmd`. Whatever separator
 *    a spreadsheet splits on, no piece starts a formula.
 * Numbers we wrote ourselves stay numbers (`-5` is not a formula). Arrays of plain values are
 * joined with spaces, other objects written as JSON. Pure and browser-safe.
 */

/** Where some reader starts a new cell: after a separator of any locale or a line break. */
const SPLITS = new Set([",", ";", "\t", "\r", "\n"]);
/** What a spreadsheet runs as a formula, after any quotes or spaces (sticky: tested in place). */
const FORMULA_AHEAD = /["\s]*[=+\-@\t\r]/y;
const NEEDS_QUOTES = /[",;\t\r\n]/;

/** Inserts `'` at every place a reader could start a cell that would run as a formula. */
function defuse(cell: string): string {
  let out = "";
  for (let i = 0; i < cell.length; i++) {
    if (i === 0 || SPLITS.has(cell[i - 1] as string)) {
      FORMULA_AHEAD.lastIndex = i;
      if (FORMULA_AHEAD.test(cell)) out += "'";
    }
    out += cell[i];
  }
  return out;
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) return value.join(" ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  const cell = defuse(text(value));
  return NEEDS_QUOTES.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** One record, CRLF-terminated. */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}
