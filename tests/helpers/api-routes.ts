/**
 * The /api/v1 route handlers as their source declares them: method, path (`<param>` for a
 * dynamic segment), and what the `apiRoute({ ... })` spec says — permission, activity,
 * tenantScope. Read by the structural unit test (tests/unit/api-routes.test.ts) and by the
 * e2e spec that calls every write route and counts its activity entries.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const API = path.join(ROOT, "app", "api", "v1");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

export interface ApiHandler {
  file: string;
  method: string;
  path: string;
  permission: string | null;
  /** The declared activity action; false = declared as changing nothing; undefined = not declared. */
  activity: string | false | undefined;
  tenantScope: string | undefined;
  comment: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name === "route.ts" ? [full] : [];
  });
}

export function apiHandlers(): ApiHandler[] {
  return walk(API).flatMap((file) => {
    const source = readFileSync(file, "utf8");
    const routePath = `/api/v1/${path
      .relative(API, path.dirname(file))
      .split(path.sep)
      .map((part) => part.replace(/^\[(.+)\]$/, "<$1>"))
      .join("/")}`.replace(/\/$/, "");
    const exported = [...source.matchAll(/^export\s+(?:async\s+)?(?:const|function|let|var)\s+([A-Z]+)\b/gm)].map(
      (m) => m[1] as string,
    );
    return exported
      .filter((method) => METHODS.includes(method))
      .map((method) => {
        const spec = new RegExp(`^export const ${method} = apiRoute(?:<[^>]*>)?\\(\\s*\\{([^}]*)\\}`, "m").exec(
          source,
        )?.[1];
        const permission = spec ? (/permission:\s*"([a-z._]+)"/.exec(spec)?.[1] ?? null) : null;
        const activityMatch = spec ? /activity:\s*(?:"([a-z0-9_.]+)"|(false))/.exec(spec) : null;
        const activity = activityMatch ? (activityMatch[2] ? false : activityMatch[1]) : undefined;
        const tenantScope = spec ? /tenantScope:\s*"(\w+)"/.exec(spec)?.[1] : undefined;
        return {
          file: path.relative(ROOT, file),
          method,
          path: routePath,
          permission,
          activity,
          tenantScope,
          comment: source
            .split("\n")
            .some((line) => [" ", "?"].some((next) => line.startsWith(`// ${method} ${routePath}${next}`))),
        };
      });
  });
}
