/**
 * The one CSV writer (app/_lib/export/csv.ts), read back the way spreadsheets read it: with
 * `,` (RFC 4180), with `;` (Excel in many European locales) and with tab as the separator.
 * Whatever the text, it stays one cell, comes back as written (or with the leading `'` that
 * defuses a formula), and no cell a spreadsheet sees starts a formula. Both exports (audit
 * history, tester scan) go through it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { auditCsvRow } from "../../app/_lib/audit/audit-csv";
import { csvCell, csvLine } from "../../app/_lib/export/csv";
import { scanToCsv } from "../../app/(console)/tester/scan-export";
import type { AuditEvent } from "../../server/db/audit-queries";
import type { ScanResponse } from "../../server/tester/types";

/** A spreadsheet's CSV reader: quoted fields with doubled quotes, `separator` between cells. */
function readCsv(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === separator) {
      row.push(cell);
      cell = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** A cell a spreadsheet runs as a formula (leading spaces, tabs and line breaks ignored). */
const FORMULA = /^\s*[=+\-@]/;
/** A place where some reader starts a cell, then (after quotes and spaces) a formula character. */
const FORMULA_ANYWHERE = /(?:^|[,;\t\r\n])["\s]*[=+\-@]/;
const SEPARATORS = [",", ";", "\t"];

describe("csvCell", () => {
  it.each([
    ["x;=cmd|' /C calc'!A0", `"x;'=cmd|' /C calc'!A0"`],
    ["a, -b", `"a,' -b"`],
    ['x;"=1', `"x;'""=1"`],
    ["Mozilla/5.0 (X11; Linux x86_64)", `"Mozilla/5.0 (X11; Linux x86_64)"`],
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ["+1", "'+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(1)", "'@SUM(1)"],
    ["\t=1", `"'\t'=1"`],
    ["\r=1", `"'\r'=1"`],
    ["a,b", `"a,b"`],
    ["a\tb", `"a\tb"`],
    ['say "hi"', `"say ""hi"""`],
    ["two\r\nlines", `"two\r\nlines"`],
    ["https://app.example.com", "https://app.example.com"],
    ["", ""],
    [null, ""],
    [undefined, ""],
    [-5, "-5"],
    [true, "true"],
    [["a", "b"], "a b"],
    [{ note: "=1;2" }, `"{""note"":""=1;2""}"`],
  ])("%j -> %j", (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it("writes numbers we produced as numbers, bigint included", () => {
    expect(csvCell(12n)).toBe("12");
    expect(csvCell(-0.5)).toBe("-0.5");
  });

  it("any text stays one cell, reads back as written (plus defusing apostrophes), and no reader sees a formula", () => {
    const chars = fc.constantFrom(
      "=",
      "+",
      "-",
      "@",
      "\t",
      "\r",
      "\n",
      ",",
      ";",
      '"',
      "'",
      "|",
      " ",
      "a",
      "Z",
      "1",
      "é",
    );
    const noApostrophes = (v: string) => v.replaceAll("'", "");
    fc.assert(
      fc.property(fc.array(fc.string({ unit: chars, maxLength: 12 }), { minLength: 1, maxLength: 4 }), (cells) => {
        const line = csvLine(cells);
        // An RFC 4180 reader gets our cells back.
        const rows = readCsv(line, ",");
        expect(rows).toHaveLength(1);
        expect(rows[0]!.map(noApostrophes)).toEqual(cells.map(noApostrophes));
        // Any reader, splitting on any locale's separator or on any line break, quoted or not:
        // no piece starts (after quotes and spaces) with a formula character.
        expect(line).not.toMatch(FORMULA_ANYWHERE);
        for (const separator of SEPARATORS) {
          for (const row of readCsv(line, separator)) for (const cell of row) expect(cell).not.toMatch(FORMULA);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("both exports use it", () => {
  const hostile = "x;=cmd|' /C calc'!A0";

  it("the audit CSV quotes a `;`-separated formula in an Origin", () => {
    const event = { id: "1", origin: hostile, count: 1, details: null } as unknown as AuditEvent;
    const row = auditCsvRow(event);
    expect(row).toContain(`,"x;'=cmd|' /C calc'!A0",`);
    for (const cell of readCsv(row, ";")[0]!) expect(cell).not.toMatch(FORMULA);
  });

  it("the scan CSV does the same", () => {
    const scan = {
      results: [
        {
          variant: "special-after-host",
          origin: hostile,
          expected: "refuse",
          expectedReason: "origin_malformed",
          observed: "refused",
          status: 403,
          reason: "origin_malformed",
          closeCode: null,
          detail: null,
          finding: false,
          patterns: ["https://app.example.com"],
        },
      ],
    } as unknown as ScanResponse;
    const csv = scanToCsv(scan);
    expect(csv).toContain(`,"x;'=cmd|' /C calc'!A0",`);
    for (const row of readCsv(csv, ";")) for (const cell of row) expect(cell).not.toMatch(FORMULA);
  });
});
