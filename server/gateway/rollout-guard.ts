/**
 * The rollout guard of one gateway (SPEC §5.2): counts, per open rollout, the handshakes
 * its staged version refuses and the active version admits, in fixed one-minute windows;
 * above `guardMaxNewRefusalsPerMinute` in a window it aborts the rollout (once per rollout
 * per gateway) and fires the `onRolloutGuardTripped` hook (server/rollout/guard-tripped.ts).
 *
 * The count is this gateway's own (no shared counter, no write per handshake): the guard
 * trips as soon as any one gateway sees more than the threshold. Memory: one small entry
 * per rollout seen, dropped when the window is reused by another rollout id.
 */
import type pg from "pg";
import { abortRolloutByGuard } from "../db/rollout-queries";
import type { Logger } from "../log";
import type { StagedRuntime } from "../policy-store/staged-policy";
import { emitRolloutGuardTripped } from "../rollout/guard-tripped";

const WINDOW_MS = 60_000;
const MAX_TRACKED = 1024;

export class RolloutGuard {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();
  private readonly tripped = new Set<string>();
  /** Aborts in flight (tests wait on them). */
  private readonly pending = new Set<Promise<void>>();
  readonly stats = { trips: 0 };

  constructor(private readonly options: { pool: pg.Pool; gatewayId: string; logger: Logger }) {}

  /** A handshake `staged` refuses and the active version admits. */
  newRefusal(slug: string, staged: StagedRuntime, now: number): void {
    const max = staged.guardMaxNewRefusalsPerMinute;
    if (max === null || this.tripped.has(staged.rolloutId)) return;
    let window = this.windows.get(staged.rolloutId);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      if (!window && this.windows.size >= MAX_TRACKED) this.windows.clear();
      window = { startedAt: now, count: 0 };
      this.windows.set(staged.rolloutId, window);
    }
    window.count += 1;
    if (window.count <= max) return;
    this.tripped.add(staged.rolloutId);
    this.windows.delete(staged.rolloutId);
    const done = this.trip(slug, staged, window.count, max).finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  /** Resolves when every abort begun so far is done. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async trip(slug: string, staged: StagedRuntime, count: number, max: number): Promise<void> {
    const { logger, gatewayId } = this.options;
    try {
      const aborted = await abortRolloutByGuard(this.options.pool, {
        rolloutId: staged.rolloutId,
        gatewayId,
        newRefusals: count,
        maxPerMinute: max,
      });
      if (!aborted) return;
      this.stats.trips += 1;
      logger.warn(
        { tenant: slug, version: staged.version, stage: staged.stage, newRefusals: count, max },
        "rollout guard tripped: staged version aborted",
      );
      const errors = await emitRolloutGuardTripped({
        tenant: aborted.tenant,
        tenantId: aborted.tenantId,
        rolloutId: staged.rolloutId,
        version: aborted.version,
        stage: aborted.stage,
        newRefusals: count,
        maxNewRefusalsPerMinute: max,
        gatewayId,
        at: new Date(),
      });
      for (const error of errors) {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, "guard-tripped listener failed");
      }
    } catch (error) {
      // Postgres away: let the next refusals try again.
      this.tripped.delete(staged.rolloutId);
      logger.error({ tenant: slug, err: (error as Error).message }, "rollout guard could not abort the rollout");
    }
  }
}
