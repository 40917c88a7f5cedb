/**
 * The dashboard's Prisma client: one per process, kept on globalThis so Next's hot reload
 * does not open a new pool on every edit. Server-only.
 */

import "server-only";
import { createPrisma, type PrismaClient, type PrismaTypes } from "../../server/db/prisma";
import { config } from "./config";

const holder = globalThis as typeof globalThis & { __origingatePrisma?: PrismaClient };

export function databaseUrl(): string {
  const url = config().DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: the dashboard needs a Postgres connection string");
  return url;
}

export function getPrisma(): PrismaClient {
  if (!holder.__origingatePrisma) holder.__origingatePrisma = createPrisma(databaseUrl());
  return holder.__origingatePrisma;
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
