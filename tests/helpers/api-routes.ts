/**
 * The /api/v1 route handlers as the source declares them: one entry per exported method of
 * every `app/api/v1/**\/route.ts`, with the path it serves (placeholders as `<slug>`, the
 * spelling of the routes' `// METHOD /path` lines), what its `apiRoute({ ... })` spec declares —
 * permission (null when it does not), activity (the action a write records; false = changes
 * nothing; undefined = not declared), tenantScope — and whether the `// METHOD /path` line is
 * there. tests/unit/api-routes.test.ts (permissions, matrix, activity), tests/unit/openapi.test.ts
 * (the OpenAPI document) and tests/e2e/api-permissions.spec.ts (one activity entry per write
 * route, scoped tokens) read the routes through this one walker.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const API_DIR = path.join(ROOT, "app", "api", "v1");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

export function walk(dir: string, match: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full, match);
    return match(entry.name) ? [full] : [];
  });
}

export interface RouteHandler {
  /** Relative to the repository root. */
  file: string;
  method: string;
  path: string;
  permission: string | null;
  /** The declared activity action; false = declared as changing nothing; undefined = not declared. */
  activity: string | false | undefined;
  tenantScope: string | undefined;
  comment: boolean;
  /** The route file's text. */
  source: string;
}

export function routeHandlers(): RouteHandler[] {
  return walk(API_DIR, (name) => name === "route.ts").flatMap((file) => {
    const source = readFileSync(file, "utf8");
    const routePath = `/api/v1/${path
      .relative(API_DIR, path.dirname(file))
      .split(path.sep)
      .map((part) => part.replace(/^\[(.+)\]$/, "<$1>"))
      .join("/")}`.replace(/\/$/, "");
    const exported = [...source.matchAll(/^export\s+(?:async\s+)?(?:const|function|let|var)\s+([A-Z]+)\b/gm)].map(
      (m) => m[1] as string,
    );
    return exported
      .filter((method) => METHODS.includes(method))
      .map((method) => {
        // The spec object literal: `apiRoute({ permission: "x", activity: "y", ... }, handler)`.
        const spec = new RegExp(`^export const ${method} = apiRoute(?:<[^>]*>)?\\(\\s*\\{([^}]*)\\}`, "m").exec(
          source,
        )?.[1];
        const permission = spec ? (/^\s*permission:\s*"([a-z._]+)"/.exec(spec)?.[1] ?? null) : null;
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
          source,
        };
      });
  });
}
