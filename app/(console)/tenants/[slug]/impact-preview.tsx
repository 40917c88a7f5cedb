"use client";
/**
 * The save bar's impact preview (SPEC §5.2): the draft replayed against the last 7 days of
 * recorded handshakes, shown before anyone publishes ("would refuse 1,204 connections from
 * https://checkout.acme.com in the last 7 days"). The draft is sent once typing pauses
 * (DEBOUNCE_MS); an invalid draft is not sent (the save bar shows its errors instead).
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { errorMessage } from "@/app/_client/api-client";
import { impactQuery } from "@/app/_client/queries";
import type { ImpactPreview } from "@/app/_lib/policy/preview-impact";
import type { PolicyDocument } from "@/server/policy/browser";

const DEBOUNCE_MS = 400;
const SHOWN = 5;
const number = new Intl.NumberFormat("en-US");

export interface ImpactState {
  /** The preview of the current draft (null while it is computed or when none is wanted). */
  preview: ImpactPreview | null;
  pending: boolean;
  error: unknown;
  /** Handshakes of the window the draft would refuse that the active version admits. */
  refusals: number;
}

export function useImpactPreview(
  slug: string,
  baseVersion: number | null,
  draft: PolicyDocument | null,
  enabled: boolean,
): ImpactState {
  const [settled, setSettled] = useState<PolicyDocument | null>(draft);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(draft), DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [draft]);
  const current = enabled && draft !== null && settled === draft && baseVersion !== null;
  const query = useQuery({
    ...impactQuery(slug, baseVersion ?? 0, settled ?? ({} as PolicyDocument)),
    enabled: current,
  });
  const preview = current && query.data ? query.data : null;
  return {
    preview,
    pending: enabled && (!current || query.isPending),
    error: current ? query.error : null,
    refusals: preview ? preview.newlyRefused.reduce((sum, e) => sum + e.count, 0) : 0,
  };
}

function days(preview: ImpactPreview): string {
  // The window starts at a UTC midnight (the rollup's day), so it is N days and a part of one.
  const n = Math.max(1, Math.floor((Date.parse(preview.until) - Date.parse(preview.since)) / 86_400_000));
  return n === 1 ? "the last day" : `the last ${n} days`;
}

const originText = (origin: string | null) => origin ?? "clients without an Origin header";

export function ImpactSummary({ impact }: { impact: ImpactState }) {
  if (impact.error) {
    return (
      <div className="callout callout-warn small" data-testid="impact-preview">
        Impact preview unavailable: {errorMessage(impact.error)}
      </div>
    );
  }
  const { preview } = impact;
  if (!preview) {
    return (
      <div className="small muted" data-testid="impact-preview" aria-busy="true">
        Checking this change against recorded traffic…
      </div>
    );
  }
  const refused = preview.newlyRefused;
  const allowed = preview.newlyAllowed;
  const window = days(preview);
  if (refused.length === 0 && allowed.length === 0) {
    return (
      <div className="small" data-testid="impact-preview">
        Impact: no change for the {number.format(preview.evaluated)} handshakes recorded in {window}.
      </div>
    );
  }
  return (
    <div
      className={`callout ${refused.length > 0 ? "callout-warn" : "callout-info"} small`}
      data-testid="impact-preview"
    >
      <strong>Impact over {window}</strong> ({number.format(preview.evaluated)} handshakes replayed):
      <ul className="impact-list">
        {refused.slice(0, SHOWN).map((e) => (
          <li key={`r ${e.origin} ${e.reason}`} data-testid="impact-refused">
            would refuse {number.format(e.count)} connection{e.count === 1 ? "" : "s"} from{" "}
            <code>{originText(e.origin)}</code> in {window} ({e.reason})
          </li>
        ))}
        {refused.length > SHOWN ? <li>…and {refused.length - SHOWN} more refused origins</li> : null}
        {allowed.slice(0, SHOWN).map((e) => (
          <li key={`a ${e.origin}`} data-testid="impact-allowed">
            would newly admit {number.format(e.count)} connection{e.count === 1 ? "" : "s"} from{" "}
            <code>{originText(e.origin)}</code>
          </li>
        ))}
        {allowed.length > SHOWN ? <li>…and {allowed.length - SHOWN} more admitted origins</li> : null}
      </ul>
    </div>
  );
}
