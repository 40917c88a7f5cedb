/**
 * Structural rules of server/policy (ARCHITECTURE §1, §4), checked on the source text so a
 * later edit cannot quietly break them:
 * - pure: no database, sockets, framework, file system or clock reads;
 * - browser-safe except token.ts: only `tldts`, `zod` and relative imports, and the browser entry
 *   point's import graph never reaches token.ts (node:crypto);
 * - every module starts with a header comment; no `any`.
 * Also the reason-code contract of reasons.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REASON_DESCRIPTIONS, REASON_STATUS, REASONS } from "../../server/policy";

const POLICY_DIR = path.resolve(import.meta.dirname, "../../server/policy");
const files = readdirSync(POLICY_DIR).filter((name) => name.endsWith(".ts"));
const source = (name: string) => readFileSync(path.join(POLICY_DIR, name), "utf8");
const importsOf = (name: string) =>
  [...source(name).matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)].map((m) => m[1]!);

describe("server/policy stays pure and browser-safe", () => {
  it("has the expected modules", () => {
    for (const name of [
      "types.ts",
      "document.ts",
      "reasons.ts",
      "parse-origin.ts",
      "parse-host.ts",
      "punycode.ts",
      "parse-pattern.ts",
      "validate-policy.ts",
      "compile-policy.ts",
      "decide-handshake.ts",
      "explain-handshake.ts",
      "bypass-variants.ts",
      "compile-cors.ts",
      "decide-cors.ts",
      "token.ts",
      "index.ts",
      "browser.ts",
    ]) {
      expect(files).toContain(name);
    }
  });

  it.each(files)("%s imports only tldts, zod, relative modules (and node:crypto in token.ts)", (name) => {
    for (const specifier of importsOf(name)) {
      const allowed =
        specifier.startsWith("./") ||
        specifier === "tldts" ||
        specifier === "zod" ||
        (name === "token.ts" && specifier === "node:crypto");
      expect(allowed, `${name} imports ${specifier}`).toBe(true);
    }
  });

  it.each(files)("%s reads no clock and uses no any", (name) => {
    const code = source(name).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    expect(code).not.toMatch(/Date\.now\(|new Date\(\)|performance\.now\(|process\./);
    expect(code).not.toMatch(/:\s*any\b|as any\b|<any>/);
  });

  it.each(files)("%s starts with a module header comment", (name) => {
    expect(source(name).startsWith("/**")).toBe(true);
  });

  it("the browser entry point never reaches token.ts", () => {
    const reached = new Set<string>();
    const visit = (name: string) => {
      if (reached.has(name)) return;
      reached.add(name);
      for (const specifier of importsOf(name)) {
        if (specifier.startsWith("./")) visit(`${specifier.slice(2)}.ts`);
      }
    };
    visit("browser.ts");
    expect(reached.has("token.ts")).toBe(false);
    expect(reached.has("decide-handshake.ts")).toBe(false);
    expect(reached).toContain("validate-policy.ts");
    expect(reached).toContain("compile-policy.ts");
    expect(reached).toContain("decide-cors.ts");
    // And only decide-handshake.ts, the impact replay (which signs its synthetic token) and the
    // server entry point import token.ts.
    const importers = files.filter((name) => importsOf(name).includes("./token"));
    expect(importers.sort()).toEqual(["decide-handshake.ts", "index.ts", "replay-impact.ts"]);
  });
});

describe("reason codes (SPEC §4.4)", () => {
  it("are the stable list, in order", () => {
    expect(REASONS).toEqual([
      "allowed",
      "origin_not_allowed",
      "origin_missing",
      "origin_null",
      "origin_malformed",
      "tenant_unknown",
      "credentials_forbidden",
      "token_missing",
      "token_invalid",
      "subprotocol_not_allowed",
      "connection_limit",
      "rate_limited",
      "bad_handshake",
      "upstream_unavailable",
      "gateway_unavailable",
      "policy_revoked",
      "token_expired",
      "cors_method_not_allowed",
      "cors_header_not_allowed",
      "bad_request",
    ]);
  });

  it("map to the statuses of SPEC §4.4", () => {
    expect(REASON_STATUS).toEqual({
      allowed: 101,
      origin_not_allowed: 403,
      origin_missing: 403,
      origin_null: 403,
      origin_malformed: 403,
      credentials_forbidden: 403,
      subprotocol_not_allowed: 403,
      token_missing: 401,
      token_invalid: 401,
      tenant_unknown: 404,
      bad_handshake: 400,
      rate_limited: 429,
      connection_limit: 503,
      upstream_unavailable: 503,
      gateway_unavailable: 503,
      policy_revoked: 403,
      token_expired: 401,
      cors_method_not_allowed: 403,
      cors_header_not_allowed: 403,
      bad_request: 400,
    });
  });

  it("each have one plain sentence of description", () => {
    for (const reason of REASONS) {
      expect(REASON_DESCRIPTIONS[reason]).toMatch(/^[A-Z].*\.$/);
    }
    expect(Object.keys(REASON_DESCRIPTIONS).sort()).toEqual([...REASONS].sort());
  });
});
