/**
 * Prisma client for the dashboard and the CLI (Prisma 7: driver adapter, no native engine).
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client";

export * as PrismaTypes from "./generated/client";
export type { PrismaClient };

export function createPrisma(connectionString: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString, max: 10 }) });
}
