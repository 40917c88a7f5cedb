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
