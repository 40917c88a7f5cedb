/**
 * The OpenAPI 3.1 document of /api/v1 (`GET /api/v1/openapi.json`), generated from the
 * operation table (operations.ts) with zod's JSON Schema output (draft 2020-12, the dialect
 * of OpenAPI 3.1): request bodies and query parameters as clients write them (`io:
 * "input"`: defaults optional), responses as the server writes them (`io: "output"`:
 * every field present, objects closed). Named schemas go to components.schemas and are
 * referenced; the rest get an id from their operation.
 *
 * Built once per process and server URL (the table is static), as a plain JSON object.
 */
import "server-only";
import { z } from "zod";
import { type HttpMethod, OPERATIONS, type Operation } from "./operations";
import * as r from "./response-schemas";

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad request (e.g. a body that is not JSON, an unreadable If-Match)",
  401: "No session and no token, or a bad or revoked token",
  403: "The role is not enough (forbidden), or a cookie-authenticated change from another origin (csrf)",
  404: "No such tenant, revision, event or record",
  409: "Conflict: a stale If-Match (version_conflict), a tenant managed by code (managed_by_code), a unique value that exists, ...",
  413: "The body is too large",
  422: "Invalid input: details [{ path, message }]; nothing was changed",
  428: "If-Match is required",
  429: "Too many runs at once",
  502: "The gateway cannot be reached or refused the dashboard",
  503: "The gateway is not ready",
  504: "The gateway did not answer in time",
};

/** Readable component names for the response schemas; others are named after their operation. */
const NAMED_OUTPUTS: Array<[z.ZodType, string]> = [
  [r.errorResponse, "Error"],
  [r.tenantSummary, "TenantSummary"],
  [r.tenantDetail, "Tenant"],
  [r.rotatedSecret, "RotatedSecret"],
  [r.versionedPolicy, "Policy"],
  [r.savedPolicy, "SavedPolicy"],
  [r.revisionList, "RevisionList"],
  [r.revisionDetail, "Revision"],
  [r.testerEndpoint, "TesterEndpoint"],
  [r.gateway, "Gateway"],
  [r.fleet, "Fleet"],
  [r.auditPage, "AuditPage"],
  [r.auditStats, "AuditStats"],
  [r.streamToken, "StreamToken"],
  [r.allowedOrigin, "AllowedOrigin"],
  [r.handshakeResult, "HandshakeResult"],
  [r.scanResponse, "ScanResult"],
  [r.me, "Me"],
  [r.user, "User"],
  [r.apiToken, "ApiToken"],
  [r.createdApiToken, "CreatedApiToken"],
  [r.openApiDocument, "OpenApiDocument"],
];

/** `GET /api/v1/tenants/<slug>/policy` → `getTenantsSlugPolicy`. */
export function operationId(op: Pick<Operation, "method" | "path">): string {
  const words = op.path
    .replace(/^\/api\/v1\//, "")
    .split(/[/<>.\-_]+/)
    .filter(Boolean);
  return op.method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** `/api/v1/tenants/<slug>` → `/api/v1/tenants/{slug}`. */
export function openApiPath(path: string): string {
  return path.replace(/<([^>]+)>/g, "{$1}");
}

function componentSchemas(registry: z.core.$ZodRegistry<{ id: string }>, io: "input" | "output"): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

function build(serverUrl: string): Json {
  const outputs = z.registry<{ id: string }>();
  const inputs = z.registry<{ id: string }>();
  const ids = new Map<z.ZodType, string>();
  const register = (registry: typeof outputs, schema: z.ZodType, id: string): string => {
    const known = ids.get(schema);
    if (known) return known;
    registry.add(schema, { id });
    ids.set(schema, id);
    return id;
  };
  for (const [schema, id] of NAMED_OUTPUTS) register(outputs, schema, id);

  const paths: Record<string, Record<string, Json>> = {};
  for (const op of OPERATIONS) {
    const id = operationId(op);
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const parameters: Json[] = [];
    for (const [name, description] of Object.entries(op.params ?? {})) {
      parameters.push({ name, in: "path", required: true, description, schema: { type: "string" } });
    }
    if (op.query) {
      const query = z.toJSONSchema(op.query, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Json;
      const required = new Set((query.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, Json>)) {
        const { description, ...rest } = schema;
        parameters.push({
          name,
          in: "query",
          required: required.has(name),
          ...(description ? { description } : {}),
          schema: rest,
        });
      }
    }
    for (const header of op.headers ?? []) {
      parameters.push({ ...header, in: "header", schema: { type: "string" } });
    }

    const responses: Record<string, Json> = {};
    const success = op.success;
    if (success.schema) {
      const name = register(outputs, success.schema, `${id[0]!.toUpperCase()}${id.slice(1)}Response`);
      responses[String(success.status)] = {
        description: success.description,
        content: { "application/json": { schema: ref(name) } },
      };
    } else if (success.mediaTypes) {
      responses[String(success.status)] = {
        description: success.description,
        content: Object.fromEntries(success.mediaTypes.map((t) => [t, { schema: { type: "string" } }])),
      };
    } else {
      responses[String(success.status)] = { description: success.description };
    }
    if (op.pending) {
      const name = register(outputs, op.pending.schema, `${id[0]!.toUpperCase()}${id.slice(1)}Pending`);
      responses["202"] = {
        description: op.pending.description,
        content: { "application/json": { schema: ref(name) } },
      };
    }
    for (const status of [401, 403, ...op.errors].sort((a, b) => a - b)) {
      responses[String(status)] = {
        description: STATUS_TEXT[status] ?? "Error",
        content: { "application/json": { schema: ref("Error") } },
      };
    }

    const operation: Json = {
      operationId: id,
      summary: op.summary,
      "x-permission": op.permission,
      ...(parameters.length ? { parameters } : {}),
      responses,
    };
    if (op.body) {
      const name = register(inputs, op.body, `${id[0]!.toUpperCase()}${id.slice(1)}Body`);
      operation.requestBody = { required: true, content: { "application/json": { schema: ref(name) } } };
    }
    const path = openApiPath(op.path);
    paths[path] ??= {};
    paths[path][op.method.toLowerCase() as Lowercase<HttpMethod>] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "OriginGate API",
      version: "1",
      description:
        "Tenants, WebSocket/CORS origin policies, revisions, gateways, audit and the handshake tester. " +
        'Errors are { "error": { "code", "message", "details"? } }; x-permission names the permission each operation needs.',
    },
    servers: [{ url: serverUrl, description: "This dashboard (DASHBOARD_URL)" }],
    security: [{ bearerToken: [] }, { sessionCookie: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerToken: { type: "http", scheme: "bearer", description: "An API token (og_…)." },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: "origingate.session_token",
          description: "The dashboard's session; changes must come from the dashboard's origin (CSRF).",
        },
      },
      schemas: { ...componentSchemas(outputs, "output"), ...componentSchemas(inputs, "input") },
    },
  };
}

const built = new Map<string, Json>();

/** The document, with `serverUrl` (the dashboard's public URL) as its server. */
export function openApiDocument(serverUrl: string): Json {
  let document = built.get(serverUrl);
  if (!document) {
    document = build(serverUrl);
    built.set(serverUrl, document);
  }
  return document;
}
