/**
 * The gateway's own Postgres access: plain `pg` pools (its queries are few, hot and
 * hand-written; LISTEN needs a dedicated client anyway). The dashboard uses Prisma.
 */
import pg from "pg";

// bigint columns (audit ids) arrive as strings; keep them exact, never lossy numbers.
export function createPool(
  connectionString: string,
  options: { max?: number; applicationName?: string; idleTimeoutMillis?: number } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 5,
    application_name: options.applicationName ?? "origingate",
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
  });
  // An idle client losing its connection must not crash the process; queries will fail
  // and be retried by their owners (policy store, audit writer, heartbeat).
  pool.on("error", () => {});
  return pool;
}
