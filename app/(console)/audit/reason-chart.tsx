"use client";
/**
 * The explorer's histogram: events per time bucket over the filtered window, stacked by reason
 * (events without one — closes, dropped rows — by kind). Hovering or focusing a bar shows its
 * counts in a tooltip; clicking a segment narrows the explorer to that bucket and that reason
 * (a kind, for closes and the like); clicking a legend entry filters by that reason alone.
 * The SVG has a text summary for screen readers, and each bar is a focusable button.
 */
import { useState } from "react";
import type { AuditHistogram } from "@/app/_client/queries";
import { KINDS } from "./audit-format";

const WIDTH = 960;
const HEIGHT = 240;
const PAD = { top: 12, right: 10, bottom: 24, left: 48 };
/** Reason colors in series order; "allowed" is always green, "other" grey. */
const PALETTE = ["#c2410c", "#7c3aed", "#0e7490", "#be185d", "#a16207", "#4d7c0f", "#1d4ed8", "#9f1239"];

export function seriesColor(series: string, index: number): string {
  if (series === "allowed") return "var(--ok, #15803d)";
  if (series === "other") return "#94a3b8";
  return PALETTE[index % PALETTE.length]!;
}

function niceMax(value: number): number {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function label(iso: string, bucketSeconds: number): string {
  const d = new Date(iso);
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  if (bucketSeconds >= 86_400) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  if (bucketSeconds >= 3600) return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${time}`;
  return time;
}

export interface ChartSelection {
  since: string;
  until: string;
  series: string;
}

export function ReasonChart({
  histogram,
  onSelect,
  onSeries,
}: {
  histogram: AuditHistogram;
  /** A segment was clicked: that bucket and that series. */
  onSelect: (selection: ChartSelection) => void;
  /** A legend entry was clicked. */
  onSeries: (series: string) => void;
}) {
  const [hover, setHover] = useState<number | null>(null);
  const { buckets, series, bucketSeconds } = histogram;
  const peak = Math.max(0, ...buckets.map((b) => b.total));
  const max = niceMax(peak);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(1, slot * 0.8);
  const labelEvery = Math.ceil(buckets.length / 8);
  const totals = series.map((s) => buckets.reduce((n, b) => n + (b.counts[s] ?? 0), 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const step = bucketSeconds * 1000;
  const untilOf = (bucket: string) => new Date(Date.parse(bucket) + step).toISOString();
  const hovered = hover === null ? null : buckets[hover];

  return (
    <figure className="explorer-chart" data-testid="reason-chart">
      <div className="explorer-chart-frame">
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="audit-chart-svg" aria-labelledby="reason-chart-title">
          <title id="reason-chart-title">
            {`Events by reason, ${buckets.length} buckets of ${bucketSeconds >= 3600 ? `${bucketSeconds / 3600} h` : bucketSeconds >= 60 ? `${bucketSeconds / 60} min` : `${bucketSeconds} s`}: ${total.toLocaleString("en-US")} events`}
          </title>
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
          {buckets.map((b, i) => {
            const x = PAD.left + i * slot + (slot - barW) / 2;
            let base = PAD.top + plotH;
            return (
              // biome-ignore lint/a11y/noStaticElementInteractions: hover only shows the tooltip; each segment is its own button
              <g
                key={b.bucket}
                onMouseEnter={() => setHover(i)}
                onMouseLeave={() => setHover((h) => (h === i ? null : h))}
                data-bucket={b.bucket}
              >
                <rect x={PAD.left + i * slot} y={PAD.top} width={slot} height={plotH} className="audit-bar-hit" />
                {series.map((s, si) => {
                  const value = b.counts[s] ?? 0;
                  if (value === 0) return null;
                  const h = Math.max(1.5, (value / max) * plotH);
                  base -= h;
                  return (
                    // biome-ignore lint/a11y/useSemanticElements: an SVG shape cannot be a <button>
                    <rect
                      key={s}
                      x={x}
                      y={base}
                      width={barW}
                      height={h}
                      fill={seriesColor(s, si)}
                      className="explorer-bar"
                      role="button"
                      tabIndex={0}
                      aria-label={`${s}: ${value.toLocaleString("en-US")} at ${label(b.bucket, bucketSeconds)}`}
                      data-series={s}
                      onFocus={() => setHover(i)}
                      onBlur={() => setHover((h) => (h === i ? null : h))}
                      onClick={() => onSelect({ since: b.bucket, until: untilOf(b.bucket), series: s })}
                      onKeyDown={(e) => {
                        if (e.key === "Enter" || e.key === " ") {
                          e.preventDefault();
                          onSelect({ since: b.bucket, until: untilOf(b.bucket), series: s });
                        }
                      }}
                    />
                  );
                })}
                {i % labelEvery === 0 ? (
                  <text x={PAD.left + i * slot} y={HEIGHT - 7} className="audit-chart-axis">
                    {label(b.bucket, bucketSeconds)}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
        {hovered ? (
          <div
            className="explorer-tooltip"
            role="tooltip"
            data-testid="chart-tooltip"
            style={{ left: `${Math.min(80, Math.max(0, ((PAD.left + (hover ?? 0) * slot) / WIDTH) * 100))}%` }}
          >
            <strong>
              {label(hovered.bucket, Math.min(bucketSeconds, 3600))} · {hovered.total.toLocaleString("en-US")}{" "}
              {hovered.total === 1 ? "event" : "events"}
            </strong>
            {series
              .filter((s) => (hovered.counts[s] ?? 0) > 0)
              .map((s) => (
                <span key={s} className="explorer-tooltip-row">
                  <span className="audit-swatch" style={{ background: seriesColor(s, series.indexOf(s)) }} /> {s}{" "}
                  {(hovered.counts[s] ?? 0).toLocaleString("en-US")}
                </span>
              ))}
          </div>
        ) : null}
      </div>
      <figcaption className="audit-legend">
        {series.length === 0 ? <span className="muted">No events in this window.</span> : null}
        {series.map((s, i) => (
          <button
            key={s}
            type="button"
            className="btn-link explorer-legend-item"
            title={s === "other" ? "Every smaller reason together" : `Show only ${s}`}
            disabled={s === "other"}
            onClick={() => onSeries(s)}
          >
            <span className="audit-swatch" style={{ background: seriesColor(s, i) }} aria-hidden="true" /> {s}{" "}
            <strong>{totals[i]!.toLocaleString("en-US")}</strong>
          </button>
        ))}
      </figcaption>
    </figure>
  );
}

/** The filter a chart series stands for: a reason, or a kind for events without one. */
export function seriesFilter(series: string): { reason?: string; kind?: string } {
  return (KINDS as readonly string[]).includes(series) ? { kind: series } : { reason: series };
}
