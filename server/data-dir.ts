/**
 * `.data/` at the repository root: where `npm start` keeps its embedded Postgres, its lock,
 * the generated secrets key, and where gateways keep their policy snapshots by default.
 */
import path from "node:path";

export const ROOT_DIR = path.resolve(import.meta.dirname, "..");
export const DATA_DIR = path.join(ROOT_DIR, ".data");
/** The embedded Postgres cluster of `npm start`, with its password file (server/db/pg-server.ts). */
export const EMBEDDED_PG_DIR = path.join(DATA_DIR, "pg");
