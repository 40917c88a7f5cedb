/**
 * Shadow versus active per origin for one tenant (`GET /api/v1/audit/shadow`): where a
 * staged version decided differently from the enforced one, by origin and outcome, with
 * counts, over a window (default the last 7 days).
 */
import "server-only";
import type { z } from "zod";
import type { Queryable } from "@/server/db/audit-queries";
import { type ShadowSummaryRow, shadowSummary } from "@/server/db/shadow-queries";
import type { shadowSummaryQuery } from "./audit-filter-input";

export interface ShadowSummary {
  tenant: string;
  version: number | null;
  since: string;
  origins: ShadowSummaryRow[];
  /** Handshakes the shadow version would refuse that the active one admits, and the reverse. */
  totals: { newlyRefused: number; newlyAllowed: number; otherwiseDifferent: number };
}

const DEFAULT_WINDOW_MS = 7 * 24 * 3600 * 1000;

export async function getShadowSummary(options: {
  db: Queryable;
  query: z.output<typeof shadowSummaryQuery>;
  now?: Date;
}): Promise<ShadowSummary> {
  const now = options.now ?? new Date();
  const since = options.query.since ? new Date(options.query.since) : new Date(now.getTime() - DEFAULT_WINDOW_MS);
  const origins = await shadowSummary(options.db, {
    tenant: options.query.tenant,
    version: options.query.version,
    since,
    limit: options.query.limit,
  });
  const totals = { newlyRefused: 0, newlyAllowed: 0, otherwiseDifferent: 0 };
  for (const o of origins) {
    if (o.shadowDecision === "rejected" && o.decision !== "rejected") totals.newlyRefused += o.count;
    else if (o.shadowDecision !== "rejected" && o.decision === "rejected") totals.newlyAllowed += o.count;
    else totals.otherwiseDifferent += o.count;
  }
  return {
    tenant: options.query.tenant,
    version: options.query.version ?? null,
    since: since.toISOString(),
    origins,
    totals,
  };
}
