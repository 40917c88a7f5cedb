/**
 * Rollout writes the gateway itself makes: the guard's abort (SPEC §5.2). In one
 * transaction: the rollout closes (only if it is still shadow or canary: a person may have
 * promoted or aborted it meanwhile, or another gateway's guard got there first), a step
 * records who (the guard, on which gateway) and why, and the admin activity log gets its
 * entry. policy_rollout's trigger touches the policy, so every gateway drops the staged
 * version at commit (NOTIFY) or at its next reconciliation.
 */
import type pg from "pg";

export interface GuardAbortInput {
  rolloutId: string;
  gatewayId: string;
  newRefusals: number;
  maxPerMinute: number;
}

export interface GuardAbortResult {
  tenantId: string;
  tenant: string;
  version: number;
  stage: "shadow" | "canary";
}

/** Aborts the rollout if it is still open and staged; null when it no longer was (nothing written). */
export async function abortRolloutByGuard(pool: pg.Pool, input: GuardAbortInput): Promise<GuardAbortResult | null> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const { rows } = await client.query<{ tenant_id: string; slug: string; version: number; state: string }>(
      `select r.tenant_id, t.slug, r.version, r.state::text as state
         from policy_rollout r join tenant t on t.id = r.tenant_id
        where r.id = $1 and r.state in ('shadow', 'canary') for update of r`,
      [input.rolloutId],
    );
    const row = rows[0];
    if (!row) {
      await client.query("rollback");
      return null;
    }
    const actor = `guard:${input.gatewayId}`;
    const comment = `Guard: ${input.newRefusals} handshakes in a minute refused by version ${row.version} and admitted by the active version (limit ${input.maxPerMinute})`;
    await client.query(
      `update policy_rollout set state = 'aborted', closed_by = $2, closed_at = now(), updated_at = now() where id = $1`,
      [input.rolloutId, actor],
    );
    await client.query(
      `insert into policy_rollout_step (rollout_id, action, from_state, to_state, actor, comment)
       values ($1, 'guard_tripped', $2::rollout_state, 'aborted', $3, $4)`,
      [input.rolloutId, row.state, actor, comment],
    );
    await client.query(
      `insert into activity (actor, actor_kind, action, target, summary, details)
       values ($1, 'system', 'rollout.guard_abort', $2, $3, $4)`,
      [
        actor,
        row.slug,
        `The guard aborted staged version ${row.version} (${row.state}): ${comment.slice(7)}`,
        JSON.stringify({ rolloutId: input.rolloutId, version: row.version, newRefusals: input.newRefusals }),
      ],
    );
    await client.query("commit");
    return { tenantId: row.tenant_id, tenant: row.slug, version: row.version, stage: row.state as "shadow" | "canary" };
  } catch (error) {
    await client.query("rollback").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
