/**
 * Prisma client for the dashboard and the CLI (Prisma 7: driver adapter, no native engine),
 * and the client types the domain functions (server/domain) accept.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import type * as PrismaTypes from "./generated/client";
import { PrismaClient } from "./generated/client";

export * as PrismaTypes from "./generated/client";
export type { PrismaClient };

export function createPrisma(connectionString: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString, max: 10 }) });
}

/** A Prisma client or an interactive-transaction client: domain functions accept both. */
export type Db = PrismaClient | PrismaTypes.Prisma.TransactionClient;

/** A transaction client (what `$transaction` hands its callback). */
export type Tx = PrismaTypes.Prisma.TransactionClient;

/**
 * Runs `work` in a transaction: a new one on a client, or the caller's when `db` already is a
 * transaction client (a domain function called inside another's transaction joins it).
 */
export function inTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  // A client has $connect; a transaction client does not (its own $transaction would join the
  // running transaction anyway — checked: same txid — but there is no need to go through it).
  if ("$connect" in db) return (db as PrismaClient).$transaction((tx) => work(tx));
  return work(db as Tx);
}
