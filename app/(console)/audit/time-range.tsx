"use client";
/**
 * The explorer's time range: relative presets (15 minutes … 30 days: `range=` in the URL, a
 * window that moves with the clock) or an absolute range (`since=`/`until=`, local time in the
 * inputs, ISO in the URL).
 */
import { type FormEvent, useEffect, useState } from "react";
import { isoToLocalInput, localInputToIso } from "@/app/_client/format";
import { AUDIT_RANGE_KEYS, AUDIT_RANGES } from "@/server/db/audit-fields";

const SHORT: Record<string, string> = { "15m": "15m", "1h": "1h", "4h": "4h", "24h": "24h", "7d": "7d", "30d": "30d" };

export function TimeRange({
  range,
  since,
  until,
  onChange,
}: {
  range?: string;
  since?: string;
  until?: string;
  onChange: (next: { range?: string; since?: string; until?: string }) => void;
}) {
  // Local wall-clock values exist only in the browser (the server's time zone may differ):
  // filled after hydration, so server and client render the same first HTML.
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  useEffect(() => {
    setFrom(isoToLocalInput(since));
    setTo(isoToLocalInput(until));
  }, [since, until]);

  function applyAbsolute(event: FormEvent) {
    event.preventDefault();
    const s = localInputToIso(from) ?? undefined;
    const u = localInputToIso(to) ?? undefined;
    if (!s && !u) return;
    onChange({ since: s, until: u });
  }

  return (
    <div className="explorer-time">
      <fieldset className="audit-segmented" aria-label="Time range">
        <legend className="sr-only">Time range</legend>
        {AUDIT_RANGE_KEYS.map((key) => (
          <button
            key={key}
            type="button"
            className={key === range ? "btn btn-sm btn-primary" : "btn btn-sm"}
            aria-pressed={key === range}
            title={AUDIT_RANGES[key].label}
            // The visible text leads the accessible name (WCAG 2.5.3, label in name): "1h, Last hour".
            aria-label={`${SHORT[key]}, ${AUDIT_RANGES[key].label}`}
            onClick={() => onChange({ range: key })}
          >
            {SHORT[key]}
          </button>
        ))}
      </fieldset>
      <form className="explorer-absolute" onSubmit={applyAbsolute} aria-label="Absolute time range">
        <label className="field field-inline">
          <span className="label">From</span>
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="field field-inline">
          <span className="label">Until</span>
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" className={range ? "btn btn-sm" : "btn btn-sm btn-primary"}>
          Apply range
        </button>
      </form>
    </div>
  );
}
