/**
 * The small HTTP client `ctl policy:*` uses: the dashboard's /api/v1 with a Bearer token,
 * nothing else (no database), so the commands run from any CI runner.
 *
 * Every answer is checked at this boundary (zod): a policy must parse as a policy document,
 * a tenant list as slugs (ctl turns slugs into file names). Errors become ApiRequestError
 * with the API's stable `code` (SPEC §10 error shape) so callers can branch on it
 * (`version_conflict`, `managed_by_code`, ...). The token is sent only in the Authorization
 * header and never appears in a message.
 */
import { z } from "zod";
import { type PolicyDocument, parsePolicyDocument } from "../policy/document";
import { slugSchema } from "../tenant-slug";

export class ApiRequestError extends Error {
  override name = "ApiRequestError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

const versionedSchema = z.looseObject({ version: z.number().int().min(1) });

const tenantListSchema = z.array(z.looseObject({ slug: slugSchema, managedBy: z.string().nullish() }));

const saveResultSchema = z.looseObject({
  version: z.number().int().min(1),
  changed: z.boolean().optional(),
  warnings: z.array(z.object({ path: z.string(), message: z.string() })).default([]),
});

const impactSchema = z.looseObject({
  since: z.string(),
  until: z.string(),
  evaluated: z.number(),
  newlyRefused: z.array(z.looseObject({ origin: z.string().nullable(), reason: z.string(), count: z.number() })),
  newlyAllowed: z.array(z.looseObject({ origin: z.string().nullable(), count: z.number() })),
});
export type ImpactPreview = z.infer<typeof impactSchema>;

const revisionListSchema = z.looseObject({
  revisions: z.array(
    z.looseObject({ version: z.number(), author: z.string(), comment: z.string().nullable(), createdAt: z.string() }),
  ),
});
export type RevisionSummary = z.infer<typeof revisionListSchema>["revisions"][number];

export interface ServerPolicy {
  version: number;
  document: PolicyDocument;
}

export interface ApiClient {
  readonly baseUrl: string;
  listTenants(): Promise<Array<{ slug: string; managedBy?: string | null }>>;
  getPolicy(slug: string): Promise<ServerPolicy>;
  /** PUT with If-Match; `changed: false` when the server already had this document. */
  putPolicy(
    slug: string,
    options: { document: PolicyDocument; ifMatch: number; comment?: string },
  ): Promise<{ version: number; changed: boolean; warnings: Array<{ path: string; message: string }> }>;
  /** The newest revisions, newest first (who changed what since a file was pulled). */
  recentRevisions(slug: string, limit: number): Promise<RevisionSummary[]>;
  /** The impact preview (SPEC §5.2), or null when this server does not offer it. */
  impact(slug: string, document: PolicyDocument): Promise<ImpactPreview | null>;
}

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
    const url = `${baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          Accept: "application/json",
          Authorization: `Bearer ${options.token}`,
          ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new ApiRequestError(`cannot reach the API at ${baseUrl} (${why})`, 0, "unreachable");
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, ok: response.ok, method, path };
  }

  function failure(result: Awaited<ReturnType<typeof call>>): ApiRequestError {
    const body = errorBodySchema.safeParse(result.json);
    if (body.success) {
      const { code, message, details } = body.data.error;
      return new ApiRequestError(message, result.status, code, details);
    }
    return new ApiRequestError(
      `${result.method} ${result.path} answered HTTP ${result.status} without an API error body`,
      result.status,
      "http_error",
    );
  }

  function expect<T>(schema: z.ZodType<T>, result: Awaited<ReturnType<typeof call>>): T {
    if (!result.ok) throw failure(result);
    const parsed = schema.safeParse(result.json);
    if (!parsed.success) {
      throw new ApiRequestError(
        `${result.method} ${result.path} answered with an unexpected body (${parsed.error.issues[0]?.message ?? "invalid"})`,
        result.status,
        "bad_response",
      );
    }
    return parsed.data;
  }

  const policyPath = (slug: string) => `/api/v1/tenants/${encodeURIComponent(slug)}/policy`;

  return {
    baseUrl,
    async listTenants() {
      return expect(tenantListSchema, await call("GET", "/api/v1/tenants"));
    },
    async getPolicy(slug) {
      const { version, ...rest } = expect(versionedSchema, await call("GET", policyPath(slug)));
      try {
        return { version, document: parsePolicyDocument(rest) };
      } catch {
        throw new ApiRequestError(`the server's policy of ${slug} is not a policy document`, 200, "bad_response");
      }
    },
    async putPolicy(slug, { document, ifMatch, comment }) {
      const query = comment ? `?comment=${encodeURIComponent(comment)}` : "";
      const result = await call("PUT", `${policyPath(slug)}${query}`, {
        body: document,
        headers: { "If-Match": `"${ifMatch}"` },
      });
      if (result.status === 202) {
        // The tenant requires approval (SPEC §5.2): nothing was saved; the change waits as a rollout.
        const pending = result.json as { id?: unknown; version?: unknown } | null;
        throw new ApiRequestError(
          `the change waits for a second person's approval (rollout ${String(pending?.id ?? "?")}, version ${String(pending?.version ?? "?")}); nothing is enforced until it is approved`,
          202,
          "pending_approval",
        );
      }
      const saved = expect(saveResultSchema, result);
      return { version: saved.version, changed: saved.changed ?? saved.version !== ifMatch, warnings: saved.warnings };
    },
    async recentRevisions(slug, limit) {
      const path = `/api/v1/tenants/${encodeURIComponent(slug)}/revisions?limit=${limit}`;
      return expect(revisionListSchema, await call("GET", path)).revisions;
    },
    async impact(slug, document) {
      const result = await call("POST", `${policyPath(slug)}/impact`, { body: { document } });
      // Not built on this server (yet): Next answers an unknown route with 404 (no API error
      // body) and a route without POST with 405.
      if (result.status === 405 || (result.status === 404 && !errorBodySchema.safeParse(result.json).success)) {
        return null;
      }
      return expect(impactSchema, result);
    },
  };
}
