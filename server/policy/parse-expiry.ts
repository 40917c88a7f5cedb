/**
 * parseExpiry: reads an allowlist entry's `expiresAt` (ISO 8601 / RFC 3339 date-time) into
 * epoch milliseconds, or null when it is not one.
 *
 * Why our own parser and not `Date.parse`: `Date.parse` reads a date-time without an offset
 * as *local* time (so the browser and the gateway could disagree by hours), and silently
 * rolls invalid dates over (`2025-02-30` becomes 2 March). An expiry is a security
 * boundary, so we require an explicit offset (`Z` or `±HH:MM`) and a real calendar date.
 * Validation and compilation both use this one function, so what the dashboard accepts is
 * exactly what the gateway enforces.
 *
 * Accepted: `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH:MM)`, year 1970-9999, `T`/`Z` in either
 * case; fractions beyond milliseconds are truncated. Browser-safe, pure.
 */

const ISO_DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$/;

export function parseExpiry(text: unknown): number | null {
  if (typeof text !== "string" || text.length > 40) return null;
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return null;
  const [
    ,
    yearText,
    monthText,
    dayText,
    hourText,
    minuteText,
    secondText,
    fractionText,
    zulu,
    sign,
    offsetHourText,
    offsetMinuteText,
  ] = match;
  const year = Number(yearText);
  const month = Number(monthText);
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  const millisecond = fractionText === undefined ? 0 : Number(fractionText.slice(0, 3).padEnd(3, "0"));
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (zulu === undefined) {
    const offsetHour = Number(offsetHourText);
    const offsetMinute = Number(offsetMinuteText);
    if (offsetHour > 23 || offsetMinute > 59) return null;
    offsetMinutes = (sign === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millisecond) - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
