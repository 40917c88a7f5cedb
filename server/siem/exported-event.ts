/**
 * The event a SIEM receives: one committed audit row, decoded from the COPY text line the
 * gateway wrote (server/audit/copy-row.ts) and given the id Postgres assigned
 * (AuditPipeline.onCommitted). Field names and types are the audit API's
 * (`GET /api/v1/audit`: `id` a string, `ts` ISO, camelCase names), derived from COPY_COLUMNS,
 * so a column added to the COPY list is exported without touching this file (as text unless
 * DECODERS says otherwise; unless NOT_EXPORTED lists it).
 *
 * Pure; no I/O.
 */
import { COPY_COLUMNS, copyTextValue } from "../audit/copy-row";

export type ExportedEvent = { id: string; ts: string } & Record<string, unknown>;

type Decoder = (text: string) => unknown;
const int: Decoder = (t) => Number(t);
const json: Decoder = (t) => {
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return t;
  }
};

/** Columns that are not text (COPY text format: ints as digits, json as its text; a boolean would be t/f). */
const DECODERS: Record<string, Decoder> = {
  policy_version: int,
  count: int,
  close_code: int,
  duration_ms: int,
  details: json,
  shadow_version: int,
};

/**
 * Columns kept out of the exported event: the impact preview's replay facts (SPEC §5.2), which
 * the audit API does not return either (the exported event stays the API's event).
 */
const NOT_EXPORTED: ReadonlySet<string> = new Set(["credentials", "token_state", "offered_subprotocols"]);

const KEYS = COPY_COLUMNS.map((column) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));

/** Decodes each line of a committed batch with its id; null for a line that is not one field per column. */
export function decodeCommittedBatch(ids: readonly string[], payload: string): Array<ExportedEvent | null> {
  const lines = payload.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => decodeLine(ids[i], line));
}

function decodeLine(id: string | undefined, line: string): ExportedEvent | null {
  const fields = line.split("\t");
  if (id === undefined || fields.length !== COPY_COLUMNS.length) return null;
  const event: Record<string, unknown> = { id };
  for (let i = 0; i < fields.length; i++) {
    if (NOT_EXPORTED.has(COPY_COLUMNS[i]!)) continue;
    const value = copyTextValue(fields[i]!);
    const decode = DECODERS[COPY_COLUMNS[i]!];
    event[KEYS[i]!] = value === null ? null : decode ? decode(value) : value;
  }
  return event as ExportedEvent;
}
