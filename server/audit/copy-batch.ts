/**
 * One audit batch in one round trip: a simple-protocol Query whose text holds every statement
 * of the batch's transaction, a `COPY … FROM STDIN` among them, sent in the same write as the
 * COPY's data and its end (CopyData, CopyDone), without waiting for Postgres' CopyInResponse.
 *
 * Why: the gateway's CPU per batch is mostly its round trips (each one a write, a wake-up and
 * a read: ~150 µs of the writing process's CPU on these machines, bench:handshake), and
 * `begin; lock` + a COPY through pg-copy-streams (which waits for CopyInResponse before it
 * sends data) + `notify; commit` took four.
 *
 * Why it is safe (PostgreSQL protocol, "COPY Operations" and the simple Query flow):
 *  - the backend runs the statements of one Query in order; at the COPY it reads the
 *    CopyData and CopyDone that are already waiting, then runs the statements after it;
 *  - if a statement before the COPY fails, the rest of the Query is skipped and the
 *    CopyData/CopyDone that arrive outside copy mode are dropped by the backend ("any
 *    subsequent CopyData, CopyDone, or CopyFail messages issued by the frontend will simply
 *    be dropped"); if the COPY itself fails (a refused row), the same. Either way nothing of
 *    the batch is committed: the transaction is left aborted and the caller rolls it back.
 *
 * `pg` drives it as a Submittable: it calls `submit()` once, then the handle* methods with
 * the backend's messages; after an ErrorResponse it calls `handleError` (and nothing more for
 * this query), and on a dead socket `handleError` too. The query settles exactly once.
 */
import type pg from "pg";

/** The values of the rows the Query's SELECTs returned, by column name (the last row wins). */
export type CopyBatchValues = Map<string, string | null>;

interface BackendField {
  name: string;
}

export class CopyBatch {
  private names: string[] = [];
  private readonly values: CopyBatchValues = new Map();
  private settled = false;
  /** Set by `pg` when the client has a query timeout; we call it as well (see runCopyBatch). */
  callback: (error: Error | null, values?: CopyBatchValues) => void;

  constructor(
    /** Statements separated by `;`, exactly one of them `COPY … FROM STDIN`. */
    private readonly text: string,
    /** The COPY data: complete lines in the COPY's format. */
    private readonly payload: string,
    done: (error: Error | null, values?: CopyBatchValues) => void,
  ) {
    this.callback = done;
  }

  submit(connection: PgConnection): void {
    const stream = connection.stream;
    // One write for all three messages (the socket has no delay: uncorked, each would be a send).
    stream.cork();
    connection.query(this.text);
    connection.sendCopyFromChunk(Buffer.from(this.payload, "utf8"));
    connection.endCopyFrom();
    stream.uncork();
  }

  handleRowDescription(message: { fields: BackendField[] }): void {
    this.names = message.fields.map((f) => f.name);
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    for (let i = 0; i < this.names.length; i++) this.values.set(this.names[i]!, message.fields[i] ?? null);
  }

  handleCommandComplete(): void {}

  handleEmptyQuery(): void {}

  /** The data went out with the Query already. */
  handleCopyInResponse(): void {}

  handleCopyData(): void {}

  handlePortalSuspended(): void {}

  handleReadyForQuery(): void {
    this.settle(null);
  }

  handleError(error: Error): void {
    this.settle(error);
  }

  private settle(error: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    if (error) this.callback(error);
    else this.callback(null, this.values);
  }
}

/** The part of pg's Connection a CopyBatch uses (pg's own typings do not export it). */
interface PgConnection {
  stream: NodeJS.WritableStream & { cork(): void; uncork(): void };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * Runs `text` (statements, one of them `COPY … FROM STDIN`) with `payload` as the COPY's data
 * on `client`, in one round trip. Resolves with the values its SELECTs returned, by column
 * name; rejects with Postgres' error (SQLSTATE in `code`) or the connection's.
 */
export function runCopyBatch(client: pg.ClientBase, text: string, payload: string): Promise<CopyBatchValues> {
  return new Promise((resolve, reject) => {
    const batch = new CopyBatch(text, payload, (error, values) => (error ? reject(error) : resolve(values!)));
    client.query(batch as unknown as pg.Submittable);
  });
}
