/**
 * The activity recorded during one /api/v1 request, so apiRoute can check that a write route
 * recorded exactly the action it declares (app/_lib/api/api-route.ts). An AsyncLocalStorage
 * per request: recordActivity notes each action it wrote; outside a request it does nothing.
 * A note is taken when the row is written inside the transaction, so a route whose transaction
 * then rolls back answers an error, and the check only runs on success.
 */
import "server-only";
import { AsyncLocalStorage } from "node:async_hooks";

interface Scope {
  recorded: string[];
}

const storage = new AsyncLocalStorage<Scope>();

export function withActivityScope<T>(run: () => Promise<T>): Promise<{ result: T; recorded: string[] }> {
  const scope: Scope = { recorded: [] };
  return storage.run(scope, async () => ({ result: await run(), recorded: scope.recorded }));
}

export function noteRecorded(action: string): void {
  storage.getStore()?.recorded.push(action);
}
