"use client";
import type { AuditStats } from "@/app/_client/queries";
/**
 * Accepted vs rejected handshakes over time as stacked SVG bars (no chart library). The
 * SVG is an image with a title and a text summary for screen readers; each bar has its own
 * <title> (hover tooltip), and the same numbers are available as a table.
 */
import { useHydrated } from "@/app/_client/use-hydrated";

const WIDTH = 640;
const HEIGHT = 170;
const PAD = { top: 10, right: 8, bottom: 22, left: 40 };

function niceMax(value: number): number {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

/**
 * Local time of a bucket; in UTC (a fixed zone and locale) until hydrated, so server and client
 * agree. Numbers on this page use one fixed locale ("en-US") for the same reason: a German
 * browser's "2,5" against the server's "2.5" is a hydration mismatch (React #418).
 */
function clock(iso: string, withDate: boolean, local = true): string {
  const d = new Date(iso);
  const zone = local ? {} : { timeZone: "UTC" };
  const locale = local ? undefined : "en-US";
  const time = d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", hour12: false, ...zone });
  return withDate ? `${d.toLocaleDateString(locale, { month: "short", day: "numeric", ...zone })} ${time}` : time;
}

export function TimelineChart({ stats }: { stats: AuditStats }) {
  const { timeline, window } = stats;
  const local = useHydrated();
  const totals = timeline.reduce(
    (t, b) => ({
      accepted: t.accepted + b.accepted,
      rejected: t.rejected + b.rejected,
      reportOnly: t.reportOnly + b.reportOnly,
    }),
    { accepted: 0, rejected: 0, reportOnly: 0 },
  );
  const peak = Math.max(0, ...timeline.map((b) => b.accepted + b.rejected + b.reportOnly));
  const max = niceMax(peak);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, timeline.length);
  const barW = Math.max(1, slot * 0.78);
  const y = (v: number) => (v / max) * plotH;
  const span = window === "hour" ? "last hour" : "last 24 hours";
  const bucketLabel = window === "hour" ? "1-minute" : "30-minute";
  const labelEvery = Math.ceil(timeline.length / 6);
  const summary = `${totals.accepted.toLocaleString("en-US")} accepted, ${totals.rejected.toLocaleString("en-US")} rejected${
    totals.reportOnly ? `, ${totals.reportOnly.toLocaleString("en-US")} report-only` : ""
  } handshakes in the ${span}, in ${bucketLabel} buckets; busiest bucket ${peak.toLocaleString("en-US")}.`;

  return (
    <figure className="audit-chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-labelledby="audit-chart-title audit-chart-desc"
        className="audit-chart-svg"
      >
        <title id="audit-chart-title">{`Accepted vs rejected handshakes, ${span}`}</title>
        {/* The <title> above is one string: two text children fail to hydrate (React #418). */}
        <desc id="audit-chart-desc">{summary}</desc>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line
              x1={PAD.left}
              x2={WIDTH - PAD.right}
              y1={PAD.top + plotH - f * plotH}
              y2={PAD.top + plotH - f * plotH}
              className="audit-chart-grid"
            />
            <text x={PAD.left - 6} y={PAD.top + plotH - f * plotH + 4} textAnchor="end" className="audit-chart-axis">
              {(max * f).toLocaleString("en-US")}
            </text>
          </g>
        ))}
        {timeline.map((b, i) => {
          const x = PAD.left + i * slot + (slot - barW) / 2;
          let base = PAD.top + plotH;
          const parts = [
            { value: b.accepted, className: "audit-bar-accepted" },
            { value: b.reportOnly, className: "audit-bar-report" },
            { value: b.rejected, className: "audit-bar-rejected" },
          ];
          return (
            <g key={b.bucket}>
              <title>
                {`${clock(b.bucket, window === "day", local)}: ${b.accepted} accepted, ${b.rejected} rejected${b.reportOnly ? `, ${b.reportOnly} report-only` : ""}`}
              </title>
              {/* a full-height transparent hit area so thin buckets still show their tooltip */}
              <rect x={PAD.left + i * slot} y={PAD.top} width={slot} height={plotH} className="audit-bar-hit" />
              {parts.map((p) => {
                if (p.value === 0) return null;
                const h = Math.max(1, y(p.value));
                base -= h;
                return <rect key={p.className} x={x} y={base} width={barW} height={h} className={p.className} />;
              })}
              {i % labelEvery === 0 ? (
                <text x={PAD.left + i * slot} y={HEIGHT - 6} className="audit-chart-axis">
                  {clock(b.bucket, false, local)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="audit-legend">
        <span>
          <span className="audit-swatch audit-bar-accepted" aria-hidden="true" /> accepted{" "}
          <strong data-testid="total-accepted">{totals.accepted.toLocaleString("en-US")}</strong>
        </span>
        <span>
          <span className="audit-swatch audit-bar-rejected" aria-hidden="true" /> rejected{" "}
          <strong data-testid="total-rejected">{totals.rejected.toLocaleString("en-US")}</strong>
        </span>
        {totals.reportOnly ? (
          <span>
            <span className="audit-swatch audit-bar-report" aria-hidden="true" /> report-only{" "}
            <strong>{totals.reportOnly.toLocaleString("en-US")}</strong>
          </span>
        ) : null}
      </figcaption>
      <details className="audit-chart-table">
        <summary>Show as a table</summary>
        <div className="table-wrap">
          <table className="table table-compact" aria-label={`Handshakes per ${bucketLabel} bucket, ${span}`}>
            <thead>
              <tr>
                <th>From</th>
                <th className="num">Accepted</th>
                <th className="num">Rejected</th>
                <th className="num">Report-only</th>
              </tr>
            </thead>
            <tbody>
              {timeline
                .filter((b) => b.accepted + b.rejected + b.reportOnly > 0)
                .map((b) => (
                  <tr key={b.bucket}>
                    <td className="mono">{clock(b.bucket, window === "day", local)}</td>
                    <td className="num mono">{b.accepted}</td>
                    <td className="num mono">{b.rejected}</td>
                    <td className="num mono">{b.reportOnly}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
