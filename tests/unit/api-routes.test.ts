/**
 * The API's structure, read from the source: every `/api/v1` route handler is an `apiRoute`
 * that declares its permission, carries its `// METHOD /path - purpose` line, and has a row in
 * the e2e permission matrix (tests/e2e/api-permissions.spec.ts) whose least role is exactly
 * the least role that permission allows. Adding a route without a matrix row, or a handler
 * that bypasses apiRoute, fails here. Every write route (any method but GET) declares the
 * activity it records (`activity: "x.y"`, or `activity: false` for a POST that changes
 * nothing); the e2e spec then calls each one and counts the entries. A route without a
 * `<slug>` that serves tenant-scoped tokens says so (`tenantScope: "filtered"`) and has a check
 * in the e2e spec's scoped-token table. Also: app/_lib's server modules carry the
 * `server-only` guard, and the peer header the dashboard's server stamps is the one the
 * dashboard reads.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { can, ROLES, type Role } from "../../server/domain/auth/permissions";
import { ROOT, routeHandlers, walk } from "../helpers/api-routes";

const handlers = routeHandlers;

/** The matrix rows of the e2e spec: name ("METHOD /path") and least role. */
function matrix(): Map<string, Role> {
  const source = readFileSync(path.join(ROOT, "tests", "e2e", "api-permissions.spec.ts"), "utf8");
  const rows = new Map<string, Role>();
  for (const m of source.matchAll(/name: "([A-Z]+ \/api\/v1[^"]*)",\s*method: "([A-Z]+)",\s*min: "(\w+)"/g)) {
    expect(m[1]!.startsWith(`${m[2]} `), `${m[1]} declares method ${m[2]}`).toBe(true);
    expect(rows.has(m[1]!), `${m[1]} is in the matrix twice`).toBe(false);
    rows.set(m[1]!, m[3] as Role);
  }
  return rows;
}

function leastRole(permission: string): Role | undefined {
  if (permission === "authenticated") return "viewer";
  return ROLES.find((role) => can(role, permission as Parameters<typeof can>[1]));
}

describe("/api/v1 route handlers", () => {
  const all = routeHandlers();

  it("finds the handlers (the walk works)", () => {
    expect(all.length).toBeGreaterThanOrEqual(31);
  });

  it("each one is an apiRoute that declares its permission, with its `// METHOD /path` line", () => {
    for (const h of all) {
      expect(
        h.permission,
        `${h.method} in ${h.file} must be \`export const ${h.method} = apiRoute({ permission })\``,
      ).not.toBeNull();
      expect(h.comment, `${h.file} needs a "// ${h.method} ${h.path} - purpose" line`).toBe(true);
    }
  });

  it("each one has a row in the e2e permission matrix, with the least role its permission allows", () => {
    const rows = matrix();
    for (const h of all) {
      const name = `${h.method} ${h.path}`;
      expect(rows.has(name), `${name} (${h.file}) has no row in tests/e2e/api-permissions.spec.ts`).toBe(true);
      expect(rows.get(name), `${name}: the matrix's least role vs permission ${h.permission}`).toBe(
        leastRole(h.permission ?? ""),
      );
    }
    // And the matrix names no route that does not exist.
    const names = new Set(all.map((h) => `${h.method} ${h.path}`));
    for (const name of rows.keys())
      expect(names.has(name), `${name} is in the matrix but not in app/api/v1`).toBe(true);
  });
});

describe("activity and tenant scope", () => {
  const all = handlers();

  it("every write route declares the activity it records", () => {
    for (const h of all.filter((h) => h.method !== "GET")) {
      expect(
        h.activity,
        `${h.method} ${h.path} (${h.file}) must declare apiRoute({ activity: "noun.verb" }) — or activity: false when it changes nothing`,
      ).not.toBeUndefined();
      if (typeof h.activity === "string") expect(h.activity).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
    }
    for (const h of all.filter((h) => h.method === "GET")) {
      expect(h.activity, `${h.method} ${h.path} reads; it declares no activity`).toBeUndefined();
    }
  });

  it("tenantScope is only declared by routes without a <slug> (those with one are checked by apiRoute)", () => {
    for (const h of all.filter((h) => h.tenantScope !== undefined)) {
      expect(h.path.includes("<slug>"), `${h.method} ${h.path}`).toBe(false);
      expect(h.tenantScope).toBe("filtered");
    }
  });
});

describe("app/_lib", () => {
  /** Modules that client components import, or that are pure and shared (no guard on purpose). */
  const BROWSER_SAFE = new Set([
    "auth/permissions.ts",
    "auth/safe-next.ts",
    "auth/sign-in-limits.ts",
    "audit/audit-csv.ts",
    "export/csv.ts",
    "security/content-security-policy.ts",
    "tenants/tenant-input.ts",
    "tokens/api-token-input.ts",
    "users/user-input.ts",
    "tester/endpoint-input.ts",
    "siem/siem-destination-input.ts",
    "alerts/alert-input.ts",
    "policy/apply-diff.ts",
    "policy/diff-documents.ts",
    "policy/document.ts",
    "policy/impact-input.ts",
  ]);
  const lib = path.join(ROOT, "app", "_lib");
  const modules = walk(lib, (name) => /\.tsx?$/.test(name)).map((file) => path.relative(lib, file));

  it("every server module imports server-only; the browser-safe ones import no server module", () => {
    for (const module of modules) {
      const source = readFileSync(path.join(lib, module), "utf8");
      const guarded = /^import "server-only";$/m.test(source);
      if (BROWSER_SAFE.has(module)) {
        expect(guarded, `${module} is listed as browser-safe`).toBe(false);
        for (const m of source.matchAll(/^import (?!type\b)[^;]*?from "(\.[^"]+)"/gms)) {
          const target = path.relative(lib, path.resolve(path.dirname(path.join(lib, module)), m[1]!));
          if (!target.startsWith("..")) {
            expect(BROWSER_SAFE.has(`${target}.ts`), `${module} imports ${target}, which is server-only`).toBe(true);
          }
        }
      } else {
        expect(guarded, `${module} must start with import "server-only" (or be listed as browser-safe)`).toBe(true);
      }
    }
  });
});

describe("the dashboard's server", () => {
  it("stamps the peer address under the header the dashboard reads", () => {
    const server = readFileSync(path.join(ROOT, "server", "cli", "next-server.mjs"), "utf8");
    const reader = readFileSync(path.join(ROOT, "app", "_lib", "auth", "request-address.ts"), "utf8");
    const stamped = /export const PEER_HEADER = "([^"]+)"/.exec(server)?.[1];
    expect(stamped).toBeDefined();
    expect(/export const PEER_HEADER = "([^"]+)"/.exec(reader)?.[1]).toBe(stamped);
  });
});
