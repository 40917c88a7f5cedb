/**
 * The dashboard's Prisma client: one per process, kept on globalThis so Next's hot reload
 * does not open a new pool on every edit. Server-only. (The client types that domain functions
 * accept, Db and Tx, and inTransaction are in server/db/prisma.ts.)
 */

import "server-only";
import { config } from "@/server/config";
import { createPrisma, type PrismaClient } from "@/server/db/prisma";

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
