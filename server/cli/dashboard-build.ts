/**
 * Keeping the dashboard's production build current, for `npm start` and `npm run dashboard`.
 * A build records the content hash of everything `next build` compiles from, and the
 * Node.js release line that built it; a missing build or a different hash means `next
 * build` runs again, so a `git pull` never serves a stale dashboard, and a build is never
 * carried over to another Node.js major (CI's second pass on Node 24 builds on Node 24).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const NEXT_BIN = path.join(ROOT, "node_modules", "next", "dist", "bin", "next");
/** The dashboard's server: Next.js plus the peer-address stamp the sign-in limits need. */
export const NEXT_SERVER = path.join(ROOT, "server", "cli", "next-server.mjs");
const HASH_FILE = "origingate-source-hash";

/** Everything the build compiles from, hashed by content. */
function sourceHash(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(tsx?|mjs|js|css|json)$/.test(entry.name)) hash.update(full).update(readFileSync(full));
    }
  };
  walk(path.join(ROOT, "app"));
  walk(path.join(ROOT, "server"));
  for (const file of ["next.config.js", "proxy.ts", "tsconfig.json", "package-lock.json"]) {
    const full = path.join(ROOT, file);
    if (existsSync(full)) hash.update(file).update(readFileSync(full));
  }
  hash.update(`node ${process.versions.node.split(".")[0]}`);
  return hash.digest("hex");
}

/**
 * Builds into `distDir` unless its build matches the sources. Returns false when the build
 * failed (its output went to the terminal).
 */
export function ensureDashboardBuild(
  distDir: string,
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
  options: { quiet?: boolean } = {},
): boolean {
  const hash = sourceHash();
  const hashFile = path.join(ROOT, distDir, HASH_FILE);
  const built = existsSync(path.join(ROOT, distDir, "BUILD_ID")) && existsSync(hashFile);
  if (built && readFileSync(hashFile, "utf8") === hash) return true;
  say(
    built
      ? "the dashboard's sources changed: rebuilding…"
      : "building the dashboard (first start only; a minute or two)…",
  );
  const build = spawnSync(process.execPath, [NEXT_BIN, "build"], {
    cwd: ROOT,
    env: { ...env, NODE_ENV: "production", NEXT_DIST_DIR: distDir },
    stdio: ["ignore", options.quiet ? "ignore" : "inherit", "inherit"],
  });
  if (build.status !== 0) return false;
  writeFileSync(hashFile, hash);
  return true;
}
