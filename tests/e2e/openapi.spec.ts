/**
 * `GET /api/v1/openapi.json` against the real dashboard (`next start`) and gateway of the
 * global setup: every operation it documents is called for real, and every answer — the
 * successes and the errors met on the way (401, 403, 404, 409, 422, 428) — must validate
 * against the schema the document gives for that status (Ajv, JSON Schema draft 2020-12,
 * formats checked). An answer with a status the document does not list fails too, and so
 * does an operation whose success was never seen: the document cannot drift from what the
 * server really sends.
 */
import type { APIRequestContext, APIResponse } from "@playwright/test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import {
  anonymousContext,
  expect,
  makeToken,
  makeUser,
  signedInContext,
  sql,
  test,
  tokenContext,
  unique,
} from "./support";

type Json = Record<string, unknown>;
type Operation = { responses: Record<string, { content?: Record<string, { schema: Json }> }> };

const BASE = "https://origingate.test/openapi.json";
let doc: Json & { paths: Record<string, Record<string, Operation>> };
const validators = new Map<string, ValidateFunction>();
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
/** "get /api/v1/tenants/{slug} 200" for every answer validated. */
const seen = new Set<string>();

/**
 * Calls one documented operation and validates the answer against the document.
 * `template` is the documented path (`/api/v1/tenants/{slug}`), `values` fill it in.
 */
async function call(
  api: APIRequestContext,
  method: "get" | "post" | "put" | "patch" | "delete",
  template: string,
  options: { values?: Record<string, string>; query?: string; data?: unknown; headers?: Record<string, string> } = {},
): Promise<APIResponse> {
  let url = template;
  for (const [key, value] of Object.entries(options.values ?? {}))
    url = url.replace(`{${key}}`, encodeURIComponent(value));
  const response = await api.fetch(`${url}${options.query ? `?${options.query}` : ""}`, {
    method,
    headers: options.headers,
    data: options.data,
  });
  const status = String(response.status());
  const operation = doc.paths[template]?.[method];
  expect(operation, `${method.toUpperCase()} ${template} is not documented`).toBeDefined();
  const documented = operation!.responses[status];
  expect(
    documented,
    `${method.toUpperCase()} ${template} answered ${status}, which the document does not list: ${await response.text()}`,
  ).toBeDefined();
  const content = documented!.content;
  if (content?.["application/json"]) {
    const key = `${method} ${template} ${status}`;
    let validate = validators.get(key);
    if (!validate) {
      // Every JSON answer of the document is a reference to a component schema.
      const ref = content["application/json"].schema.$ref as string;
      expect(ref, `${key}: the schema is a component reference`).toMatch(/^#\/components\/schemas\//);
      validate = ajv.getSchema(`${BASE}${ref}`);
      if (!validate) throw new Error(`${key}: ${ref} does not resolve`);
      validators.set(key, validate);
    }
    const body = await response.json();
    const valid = validate(body);
    expect(validate.errors ?? [], `${key}: ${JSON.stringify(body).slice(0, 400)}`).toEqual([]);
    expect(valid).toBe(true);
  } else if (content) {
    expect(Object.keys(content).map((t) => t.split(";")[0])).toContain(
      response.headers()["content-type"]?.split(";")[0],
    );
  } else {
    expect(await response.text()).toBe("");
  }
  seen.add(`${method} ${template} ${status}`);
  return response;
}

test.describe.configure({ mode: "serial" });

test("every operation of /api/v1 answers what openapi.json says", async () => {
  test.setTimeout(180_000);
  const admin = await tokenContext(await makeToken("admin"));
  const editor = await tokenContext(await makeToken("editor"));
  const viewer = await tokenContext(await makeToken("viewer"));
  const sessionUser = await makeUser("admin");
  const session = await signedInContext(sessionUser);
  const anonymous = await anonymousContext();

  const served = await admin.get("/api/v1/openapi.json");
  expect(served.status()).toBe(200);
  doc = await served.json();
  ajv.addSchema({ ...doc, $id: BASE });
  await call(viewer, "get", "/api/v1/openapi.json");
  expect((doc.servers as Array<{ url: string }>)[0]?.url).toMatch(/^http:\/\/localhost:\d+$/);

  // Callers, and the errors every operation can give.
  await call(admin, "get", "/api/v1/me");
  await call(session, "get", "/api/v1/me");
  await call(anonymous, "get", "/api/v1/tenants");
  await call(viewer, "post", "/api/v1/tenants", { data: { slug: unique("x"), name: "x" } });

  // Tenants.
  const slug = unique("oa");
  await call(admin, "post", "/api/v1/tenants", { data: { slug, name: "OpenAPI", upstreamUrl: null } });
  await call(admin, "post", "/api/v1/tenants", { data: { slug, name: "again" } }); // 409
  await call(admin, "post", "/api/v1/tenants", { data: { slug: "Not A Slug", name: "x" } }); // 422
  await call(viewer, "get", "/api/v1/tenants");
  await call(viewer, "get", "/api/v1/tenants/{slug}", { values: { slug } });
  await call(viewer, "get", "/api/v1/tenants/{slug}", { values: { slug: "no-such-tenant" } }); // 404
  await call(admin, "patch", "/api/v1/tenants/{slug}", { values: { slug }, data: { name: "OpenAPI tenant" } });
  await call(admin, "patch", "/api/v1/tenants/{slug}", { values: { slug }, data: { upstreamUrl: "http://x" } }); // 422
  await call(admin, "post", "/api/v1/tenants/{slug}/rotate-secret", { values: { slug }, data: { overlapSeconds: 0 } });

  // Policy, revisions, rollback.
  await call(viewer, "get", "/api/v1/tenants/{slug}/policy", { values: { slug } });
  const document = { origins: [{ pattern: "https://app.example.com", note: "web" }], mode: "enforce" };
  await call(editor, "put", "/api/v1/tenants/{slug}/policy", { values: { slug }, data: document }); // 428
  await call(editor, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug },
    query: "comment=openapi",
    headers: { "If-Match": '"1"' },
    data: document,
  });
  await call(editor, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug },
    headers: { "If-Match": '"2"' },
    data: document,
  }); // unchanged
  await call(editor, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug },
    headers: { "If-Match": '"1"' },
    data: { origins: [] },
  }); // 409 version_conflict
  await call(editor, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug },
    headers: { "If-Match": '"2"' },
    data: { origins: [{ pattern: "https://*.com" }] },
  }); // 422
  await call(viewer, "post", "/api/v1/tenants/{slug}/policy/impact", {
    values: { slug },
    data: { document: { origins: [] }, since: new Date(Date.now() - 86_400_000).toISOString() },
  });
  await call(viewer, "post", "/api/v1/tenants/{slug}/policy/impact", {
    values: { slug },
    data: { document: { origins: [{ pattern: "https://*.com" }] } },
  }); // 422
  await call(viewer, "get", "/api/v1/tenants/{slug}/policy/usage", { values: { slug }, query: "days=30" });
  await call(viewer, "get", "/api/v1/tenants/{slug}/policy/usage", { values: { slug }, query: "days=0" }); // 422
  await call(viewer, "get", "/api/v1/tenants/{slug}/revisions", { values: { slug }, query: "limit=10" });
  await call(viewer, "get", "/api/v1/tenants/{slug}/revisions/{version}", { values: { slug, version: "2" } });
  await call(viewer, "get", "/api/v1/tenants/{slug}/revisions/{version}", { values: { slug, version: "99" } }); // 404
  await call(editor, "post", "/api/v1/tenants/{slug}/revisions/{version}/rollback", {
    values: { slug, version: "1" },
    data: { comment: "back" },
  });

  // Tester endpoints and the tester.
  const endpoint = await call(admin, "post", "/api/v1/tenants/{slug}/endpoints", {
    values: { slug },
    data: { url: "ws://127.0.0.1:9/socket", label: "nothing there" },
  });
  await call(viewer, "get", "/api/v1/tenants/{slug}/endpoints", { values: { slug } });
  await call(admin, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug },
    headers: { "If-Match": '"3"' },
    data: document,
  });
  await expect
    .poll(
      async () => (await editor.post("/api/v1/tester/handshake", { data: { tenant: slug, origin: null } })).status(),
      {
        timeout: 15_000,
      },
    )
    .toBe(200);
  await call(editor, "post", "/api/v1/tester/handshake", {
    data: { tenant: slug, origin: "https://app.example.com", path: "/chat" },
  });
  await call(editor, "post", "/api/v1/tester/handshake", {
    data: { tenant: slug, origin: "https://evil.example.net" },
  });
  await call(editor, "post", "/api/v1/tester/handshake", { data: { tenant: slug, url: "ws://127.0.0.1:9/other" } }); // 403
  await call(editor, "post", "/api/v1/tester/scan", { data: { tenant: slug } });
  await call(editor, "post", "/api/v1/tester/cors", {
    data: { tenant: slug, origin: "https://app.example.com", preflight: true, method: "PUT" },
  });
  await call(editor, "post", "/api/v1/tester/cors-scan", { data: { tenant: slug } });
  await call(admin, "delete", "/api/v1/tenants/{slug}/endpoints/{id}", {
    values: { slug, id: (await endpoint.json()).id },
  });

  // Gateways and audit (the tester's handshakes above are audit events too).
  await call(viewer, "get", "/api/v1/gateways");
  await call(viewer, "get", "/api/v1/gateways", { query: "all=1" });
  await call(viewer, "get", "/api/v1/fleet");
  await expect
    .poll(async () => (await (await viewer.get(`/api/v1/audit?tenant=${slug}`)).json()).events.length, {
      timeout: 15_000,
    })
    .toBeGreaterThan(0);
  await call(viewer, "get", "/api/v1/audit", { query: `tenant=${slug}&limit=50` });
  await call(viewer, "get", "/api/v1/audit", { query: "decision=maybe" }); // 422
  await call(viewer, "get", "/api/v1/audit/stats", { query: `tenant=${slug}&window=day` });
  await call(viewer, "get", "/api/v1/audit/export", { query: `format=csv&tenant=${slug}` });
  await call(viewer, "get", "/api/v1/audit/export", { query: `format=ndjson&tenant=${slug}` });
  await call(viewer, "post", "/api/v1/audit/stream-token");
  // The explorer: facets, histogram, and a signed-in user's saved views.
  await call(viewer, "get", "/api/v1/audit/facets", { query: `tenant=${slug}&range=24h` });
  await call(viewer, "get", "/api/v1/audit/facets", { query: "range=2h" }); // 422
  await call(viewer, "get", "/api/v1/audit/histogram", { query: `tenant=${slug}&range=1h` });
  await call(viewer, "get", "/api/v1/audit/histogram", { query: "sort=ts" }); // 422
  const view = await call(session, "post", "/api/v1/audit/views", {
    data: { name: unique("oa-view"), query: `tenant=${slug}&range=24h` },
  });
  await call(session, "post", "/api/v1/audit/views", { data: { name: "bad", query: "range=2h" } }); // 422
  await call(session, "get", "/api/v1/audit/views");
  await call(session, "delete", "/api/v1/audit/views/{id}", { values: { id: (await view.json()).id } });
  await call(session, "delete", "/api/v1/audit/views/{id}", { values: { id: (await view.json()).id } }); // 404
  const [refused] = await sql<{ id: string }>(
    `insert into audit_event (gateway_id, kind, tenant, decision, reason, origin, origin_normalized, policy_version)
     values ('gw-openapi', 'handshake', $1, 'rejected', 'origin_not_allowed', 'https://new.example.com', 'https://new.example.com', 4)
     returning id::text as id`,
    [slug],
  );
  await call(editor, "post", "/api/v1/audit/{id}/allow", { values: { id: refused!.id }, data: {} });
  await call(editor, "post", "/api/v1/audit/{id}/allow", { values: { id: refused!.id }, data: {} }); // 409 already_allowed

  // The activity log, and the signed-in user's sessions.
  await call(admin, "get", "/api/v1/activity", { query: "action=tenant&limit=5" });
  await call(admin, "get", "/api/v1/activity", { query: "action=Not-An-Action" }); // 422
  const other = await signedInContext(sessionUser);
  const sessions = await (await call(session, "get", "/api/v1/me/sessions")).json();
  const another = sessions.sessions.find((x: { current: boolean }) => !x.current);
  await call(session, "delete", "/api/v1/me/sessions/{id}", { values: { id: another.id } });
  await call(session, "delete", "/api/v1/me/sessions/{id}", { values: { id: another.id } }); // 404
  await call(session, "post", "/api/v1/me/sessions/revoke-all", { data: { keepCurrent: true } });
  await call(session, "post", "/api/v1/me/sessions/revoke-all", { data: { keepCurrent: "yes" } }); // 422
  await other.dispose();

  // Tokens and users.
  const created = await call(admin, "post", "/api/v1/tokens", {
    data: { name: unique("oa-token"), role: "editor", policyAsCode: true },
  });
  await call(admin, "get", "/api/v1/tokens");
  await call(admin, "delete", "/api/v1/tokens/{id}", { values: { id: (await created.json()).id } });
  const user = await call(admin, "post", "/api/v1/users", {
    data: { email: `${unique("oa")}@e2e.example.com`, password: "a long enough password", role: "viewer" },
  });
  await call(admin, "get", "/api/v1/users");
  const userId = (await user.json()).id;
  await call(admin, "patch", "/api/v1/users/{id}", { values: { id: userId }, data: { role: "editor" } });
  await call(admin, "delete", "/api/v1/users/{id}", { values: { id: userId } });

  // SIEM destinations (disabled: no gateway sends there; a literal address, allowed as registered).
  const destination = await call(admin, "post", "/api/v1/siem-destinations", {
    data: { name: unique("oa-siem"), kind: "webhook", url: "https://192.0.2.20/ingest", enabled: false },
  });
  await call(admin, "get", "/api/v1/siem-destinations");
  const destinationId = (await destination.json()).destination.id;
  await call(admin, "patch", "/api/v1/siem-destinations/{id}", {
    values: { id: destinationId },
    data: { rotateSecret: true },
  });
  await call(admin, "delete", "/api/v1/siem-destinations/{id}", { values: { id: destinationId } });

  // Alerts: a webhook at 127.0.0.1:9 (a literal address, refused at once: the test's attempt
  // is logged as failed, the answer is still 200), a rule for the tenant, the logs.
  const webhook = await call(admin, "post", "/api/v1/alert-webhooks", {
    data: { name: unique("oa-alert"), url: "http://127.0.0.1:9/alerts" },
  });
  const webhookId = (await webhook.json()).webhook.id;
  await call(admin, "get", "/api/v1/alert-webhooks");
  await call(admin, "post", "/api/v1/alert-webhooks/{id}/test", { values: { id: webhookId } });
  await call(admin, "patch", "/api/v1/alert-webhooks/{id}", { values: { id: webhookId }, data: { enabled: false } });
  const rule = await call(admin, "post", "/api/v1/alert-rules", {
    data: { name: unique("oa-rule"), kind: "rejection_spike", tenant: slug, webhookIds: [webhookId] },
  });
  await call(admin, "post", "/api/v1/alert-rules", {
    data: { name: unique("oa-rule"), kind: "rejection_spike", params: { factor: 0 } },
  }); // 422
  const ruleId = (await rule.json()).id;
  await call(admin, "get", "/api/v1/alert-rules");
  await call(admin, "patch", "/api/v1/alert-rules/{id}", { values: { id: ruleId }, data: { enabled: false } });
  await call(admin, "get", "/api/v1/alert-deliveries", { query: `webhook=${webhookId}&limit=5` });
  await call(admin, "get", "/api/v1/alerts", { query: "limit=5" });
  await call(admin, "delete", "/api/v1/alert-rules/{id}", { values: { id: ruleId } });
  await call(admin, "delete", "/api/v1/alert-webhooks/{id}", { values: { id: webhookId } });

  // Staged rollout: shadow, promote, abort, the shadow summary (SPEC §5.2).
  await call(viewer, "get", "/api/v1/tenants/{slug}/rollouts", { values: { slug } });
  const shadow = await call(editor, "post", "/api/v1/tenants/{slug}/rollouts", {
    values: { slug },
    data: { document, stage: "shadow", comment: "try it" },
  });
  const shadowId = (await shadow.json()).id as string;
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts", {
    values: { slug },
    data: { document, stage: "shadow" },
  }); // 409 rollout_in_progress
  await call(viewer, "get", "/api/v1/tenants/{slug}/rollouts/{id}", { values: { slug, id: shadowId } });
  await call(viewer, "get", "/api/v1/audit/shadow", { query: `tenant=${slug}` });
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/abort", {
    values: { slug, id: shadowId },
    data: {},
  });
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/abort", {
    values: { slug, id: shadowId },
    data: {},
  }); // 409 rollout_not_open
  const next = await call(editor, "post", "/api/v1/tenants/{slug}/rollouts", {
    values: { slug },
    data: { document: { ...document, mode: "report-only" }, stage: "shadow" },
  });
  const nextId = (await next.json()).id as string;
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/canary", {
    values: { slug, id: nextId },
    data: { canary: {} },
  }); // 422: neither labels nor percent
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/canary", {
    values: { slug, id: nextId },
    data: { canary: { percent: 10 }, guard: { maxNewRefusalsPerMinute: 50 }, comment: "10%" },
  });
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/canary", {
    values: { slug, id: nextId },
    data: { canary: { percent: 20 } },
  }); // 409 rollout_not_open: a canary already
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/promote", {
    values: { slug, id: nextId },
    data: { comment: "go" },
  });

  // Approvals: on a tenant that requires them, a write answers 202 with the pending rollout;
  // a second person approves or rejects it, its author may not.
  const approvals = unique("ap");
  await call(admin, "post", "/api/v1/tenants", { data: { slug: approvals, name: "Approvals" } });
  await call(admin, "patch", "/api/v1/tenants/{slug}", {
    values: { slug: approvals },
    data: { requireApproval: true },
  });
  const asked = await call(editor, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug: approvals },
    headers: { "If-Match": '"1"' },
    data: document,
  }); // 202
  expect(asked.status()).toBe(202);
  const askedId = (await asked.json()).id as string;
  await call(editor, "post", "/api/v1/tenants/{slug}/rollouts/{id}/approve", {
    values: { slug: approvals, id: askedId },
    data: {},
  }); // 403 self_approval
  await call(admin, "post", "/api/v1/tenants/{slug}/rollouts/{id}/approve", {
    values: { slug: approvals, id: askedId },
    data: { comment: "looks right" },
  });
  const again = await call(editor, "put", "/api/v1/tenants/{slug}/policy", {
    values: { slug: approvals },
    headers: { "If-Match": '"2"' },
    data: { origins: [] },
  }); // 202
  await call(admin, "post", "/api/v1/tenants/{slug}/rollouts/{id}/reject", {
    values: { slug: approvals, id: (await again.json()).id as string },
    data: { comment: "no" },
  });
  await call(admin, "delete", "/api/v1/tenants/{slug}", { values: { slug: approvals } });

  await call(admin, "delete", "/api/v1/tenants/{slug}", { values: { slug } });

  // Every operation's success was seen and validated.
  const missing: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const success = Object.keys(operation.responses).find((s) => s.startsWith("2"));
      if (!seen.has(`${method} ${path} ${success}`)) missing.push(`${method.toUpperCase()} ${path} ${success}`);
    }
  }
  expect(missing, "documented successes never exercised").toEqual([]);
  for (const status of ["401", "403", "404", "409", "422", "428"]) {
    expect(
      [...seen].some((s) => s.endsWith(` ${status}`)),
      `an error ${status} was validated`,
    ).toBe(true);
  }
  await Promise.all([admin, editor, viewer, session, anonymous].map((c) => c.dispose()));
});
