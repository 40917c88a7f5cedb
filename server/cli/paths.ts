/** Where `npm start` keeps things: the repository root, `.data/` and the embedded cluster in it. */
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const DATA_DIR = path.join(ROOT, ".data");
/** The embedded Postgres cluster of `npm start` (and its password file, server/db/pg-server.ts). */
export const EMBEDDED_PG_DIR = path.join(DATA_DIR, "pg");
