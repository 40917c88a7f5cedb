/**
 * The /api/v1 route handlers as the source declares them: one entry per exported method of
 * every `app/api/v1/**\/route.ts`, with the path it serves (placeholders as `<slug>`, the
 * spelling of the routes' `// METHOD /path` lines), the permission its `apiRoute({ permission })`
 * declares (null when it does not) and whether the `// METHOD /path` line is there.
 * tests/unit/api-routes.test.ts (permissions, matrix) and tests/unit/openapi.test.ts (the
 * OpenAPI document) read the routes through this one walker.
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
      (m) => m[1]!,
    );
    return exported
      .filter((method) => METHODS.includes(method))
      .map((method) => {
        const declaration = new RegExp(
          `^export const ${method} = apiRoute(?:<[^>]*>)?\\(\\s*\\{\\s*permission:\\s*"([a-z._]+)"\\s*\\}`,
          "m",
        ).exec(source);
        return {
          file: path.relative(ROOT, file),
          method,
          path: routePath,
          permission: declaration?.[1] ?? null,
          comment: source
            .split("\n")
            .some((line) => [" ", "?"].some((next) => line.startsWith(`// ${method} ${routePath}${next}`))),
          source,
        };
      });
  });
}
