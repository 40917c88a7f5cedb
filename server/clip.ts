/**
 * Untrusted input is bounded before anything else (SPEC §5): every value that reaches an
 * audit row, a log line or a metric label is clipped to a fixed length first. This module
 * holds the one `clip` and the limits; the audit pipeline (`record()`), the logger
 * (`server/log.ts`) and the metrics (`server/admin/metrics.ts`) apply them at their single
 * entry point, so no producer can forget to.
 *
 * Limits are in UTF-16 code units (JavaScript string length). A code unit is at most three
 * bytes of UTF-8, so a 512-unit value is at most 1,536 bytes: far below Postgres' B-tree
 * limit of 2,704 bytes per index entry, which a 3,000-character slug used to exceed and
 * thereby refuse a whole audit batch.
 *
 * Pure; no I/O.
 */

/** The default bound for attacker-controlled text. */
export const MAX_TEXT = 512;

/** Bounds of each text column of an audit row (and of the same values in logs). */
export const TEXT_LIMITS = {
  tenant: 128,
  origin: 512,
  originNormalized: 512,
  remoteAddr: 64,
  userAgent: 256,
  path: 256,
  subprotocol: 128,
  matchedPattern: 512,
  reason: 64,
  gatewayId: 64,
  offeredSubprotocols: 256,
} as const;

/** A string value inside a log line or an audit row's `details`. */
export const MAX_FIELD_TEXT = 1024;
/** The serialized `details` of an audit row. */
export const MAX_DETAILS_JSON = 4096;

const ELLIPSIS = "…";

/**
 * `value` cut to at most `max` code units (the last one an ellipsis when cut), never in the
 * middle of a surrogate pair. Idempotent: clipping a clipped value changes nothing.
 */
export function clip(value: string | null | undefined, max = MAX_TEXT): string | null {
  if (value == null) return null;
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // a high surrogate whose pair would be cut off
  return `${value.slice(0, end)}${ELLIPSIS}`;
}

/**
 * A bounded copy of a JSON-like value: strings clipped (and NUL, which Postgres text and
 * jsonb cannot hold, replaced by U+FFFD), at most `maxItems` entries per object or array
 * and `depth` levels; non-finite numbers become null; anything else (functions, symbols,
 * class instances other than Date) becomes its clipped string form.
 */
export function clipJson(value: unknown, depth = 4, maxItems = 50): unknown {
  if (value === null || value === undefined || typeof value === "boolean") return value;
  if (typeof value === "string") return clipText(value);
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (depth <= 0) return "[…]";
  if (Array.isArray(value)) {
    const items = value.slice(0, maxItems).map((v) => clipJson(v, depth - 1, maxItems));
    if (value.length > maxItems) items.push(`[… ${value.length - maxItems} more]`);
    return items;
  }
  if (typeof value === "object" && isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, v] of Object.entries(value)) {
      if (n++ >= maxItems) {
        out["…"] = `${Object.keys(value).length - maxItems} more keys`;
        break;
      }
      if (v !== undefined) out[clipText(k, 64)] = clipJson(v, depth - 1, maxItems);
    }
    return out;
  }
  return clipText(String(value));
}

function clipText(value: string, max = MAX_FIELD_TEXT): string {
  const clipped = clip(value, max) as string;
  return clipped.includes("\u0000") ? clipped.replaceAll("\u0000", "\uFFFD") : clipped;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A log record's fields, bounded: plain objects and arrays are copied with `clipJson`,
 * other values (an Error for pino's serializer, say) are left alone. Returns the record
 * itself when nothing needed clipping (the common case costs one pass over its keys).
 */
export function clipLogFields(record: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(record)) {
    const value = record[key];
    let bounded = value;
    if (typeof value === "string") {
      if (value.length > MAX_FIELD_TEXT || value.includes("\u0000")) bounded = clipText(value);
    } else if (typeof value === "object" && value !== null && (Array.isArray(value) || isPlainObject(value))) {
      bounded = clipJson(value, 3);
    }
    if (bounded !== value) {
      out ??= { ...record };
      out[key] = bounded;
    }
  }
  return out ?? record;
}
