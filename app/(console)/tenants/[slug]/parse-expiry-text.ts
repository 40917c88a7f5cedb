/**
 * parseExpiryText: what the allowlist's one-field expiry control accepts (unit-tested in
 * tests/unit/allowlist-ergonomics.test.ts). One text field instead of a `datetime-local`
 * input, whose month/day/year/hour/minute/AM-PM segments and picker button cost seven Tab
 * stops per row. Accepted, in the browser's time zone:
 *
 *   ""  or "never"                 no expiry
 *   "30m", "12h", "7d", "2w"       from now (`in 7d` and `+7d` too)
 *   "2026-12-31"                   the end of that day (23:59)
 *   "2026-12-31 18:00"             (or with a T between date and time)
 *   an ISO 8601 time with a zone   e.g. 2026-12-31T18:00:00Z
 *
 * formatExpiryText is its inverse for display (local "YYYY-MM-DD HH:MM").
 */

export type ExpiryParse = { ok: true; iso: string | null } | { ok: false; message: string };

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const MAX_RELATIVE_MS = 10 * 365 * 86_400_000;

export const EXPIRY_HINT = "never, 7d, 12h, 2026-12-31 or 2026-12-31 18:00";

export function parseExpiryText(text: string, now: Date = new Date()): ExpiryParse {
  const value = text.trim();
  if (value === "" || value.toLowerCase() === "never") return { ok: true, iso: null };

  const relative = /^(?:in\s+|\+)?(\d{1,5})\s*(m|min|h|d|w)$/i.exec(value);
  if (relative) {
    const unit = relative[2]!.toLowerCase().slice(0, 1) as keyof typeof UNIT_MS;
    const ms = Number(relative[1]) * UNIT_MS[unit];
    if (ms === 0) return { ok: false, message: "An expiry must be in the future" };
    if (ms > MAX_RELATIVE_MS) return { ok: false, message: "At most 10 years from now" };
    return { ok: true, iso: new Date(now.getTime() + ms).toISOString() };
  }

  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?$/.exec(value);
  if (local) {
    const [year, month, day] = [Number(local[1]), Number(local[2]), Number(local[3])];
    const [hour, minute] = local[4] === undefined ? [23, 59] : [Number(local[4]), Number(local[5])];
    const date = new Date(year, month - 1, day, hour, minute);
    // new Date() rolls 2026-02-31 over to March: refuse instead of guessing.
    if (
      date.getFullYear() !== year ||
      date.getMonth() !== month - 1 ||
      date.getDate() !== day ||
      date.getHours() !== hour ||
      date.getMinutes() !== minute
    ) {
      return { ok: false, message: `${value} is not a date and time that exists` };
    }
    return { ok: true, iso: date.toISOString() };
  }

  // A full ISO 8601 time with its zone (what the API and `formatExpiryText`'s title show).
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return { ok: true, iso: date.toISOString() };
  }
  return { ok: false, message: `Write ${EXPIRY_HINT}` };
}

/** ISO -> "YYYY-MM-DD HH:MM" in the browser's time zone ("" for no expiry). */
export function formatExpiryText(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
