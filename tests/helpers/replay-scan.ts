/**
 * The baseline the impact preview's rollup replaces: a tenant's distinct replayable handshakes
 * in [since, until) by a scan of audit_event. The integration test and bench:impact compare
 * the rollup's answer with this one.
 */
import type pg from "pg";
import { REPLAYABLE_SQL } from "../../server/db/audit-queries";
import { decodeOfferedSubprotocols, type ReplayTuple, type TokenState } from "../../server/policy";

export async function scanReplayTuples(
  pool: pg.Pool,
  tenant: string,
  since: Date,
  until: Date,
): Promise<ReplayTuple[]> {
  const { rows } = await pool.query<{
    origin: string | null;
    credentials: boolean;
    token_state: string;
    subprotocols: string;
    count: string;
  }>(
    // A token state other than none/valid is replayed as invalid (fail closed), as the rollup does.
    `select origin, credentials, case when token_state in ('none', 'valid') then token_state else 'invalid' end as token_state,
            coalesce(offered_subprotocols, '') as subprotocols, sum(count)::text as count
       from audit_event where tenant = $1 and ts >= $2 and ts < $3 and ${REPLAYABLE_SQL}
      group by 1, 2, 3, 4`,
    [tenant, since, until],
  );
  return rows.map((r) => ({
    origin: r.origin,
    credentials: r.credentials,
    tokenState: r.token_state as TokenState,
    subprotocols: decodeOfferedSubprotocols(r.subprotocols),
    count: Number(r.count),
  }));
}
