/**
 * The "staged-version guard tripped" hook (SPEC §5.2): a gateway whose rollout guard saw the
 * staged version refuse more handshakes per minute than allowed, that the active version
 * admits, aborts the rollout (server/db/rollout-queries.ts) and then tells whoever listens
 * here — the alert rules, for one. Listeners run after the abort committed; a listener that
 * throws is logged by the caller's process and never affects enforcement.
 */

export interface RolloutGuardTrippedEvent {
  tenant: string;
  tenantId: string;
  rolloutId: string;
  /** The staged version that was aborted, and the stage it was in. */
  version: number;
  stage: "shadow" | "canary";
  /** New refusals this gateway counted in the minute that tripped the guard, and the threshold. */
  newRefusals: number;
  maxNewRefusalsPerMinute: number;
  gatewayId: string;
  at: Date;
}

export type RolloutGuardTrippedListener = (event: RolloutGuardTrippedEvent) => void | Promise<void>;

const listeners = new Set<RolloutGuardTrippedListener>();

/** Registers `listener` for every guard abort in this process; returns its removal. */
export function onRolloutGuardTripped(listener: RolloutGuardTrippedListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calls every listener; resolves with the errors of those that failed (never rejects). */
export async function emitRolloutGuardTripped(event: RolloutGuardTrippedEvent): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const listener of [...listeners]) {
    try {
      await listener(event);
    } catch (error) {
      errors.push(error);
    }
  }
  return errors;
}
