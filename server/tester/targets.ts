/**
 * Where the tester may connect — the security boundary that keeps it from becoming a way
 * to reach arbitrary (internal) addresses:
 *  - `tenant` alone: a tenant of this gateway; the target is this gateway itself,
 *    `ws://<own address>:<own port>/t/<slug><path>`;
 *    The path (`rest`) follows the gateway's own path rule (upstream-path.ts) and the URL
 *    built from it is checked to stay under `/t/<slug>` after the URL parser had its say;
 *  - `url`: must equal (after normalizeEndpointUrl) an endpoint an admin registered for
 *    the tenant (or, without `tenant`, for any tenant). Nothing else is ever connected to,
 *    and since redirects are never followed, a registered endpoint cannot bounce the
 *    tester elsewhere. An endpoint registered by host *name* is resolved once per run and
 *    every handshake of the run connects to that pinned address (DNS rebinding); a name
 *    whose answer includes a loopback, private or link-local address is refused — an
 *    internal endpoint is registered as its literal address (server/net/pinned-lookup.ts).
 * Refusals are TesterError with a stable code (422 invalid url or path, 404 unknown
 * tenant, 403 not registered or resolving to an internal address).
 */
import type { AddressInfo, LookupFunction } from "node:net";
import type pg from "pg";
import { checkRest } from "../gateway/upstream-path";
import { pinHost, type Resolver } from "../net/pinned-lookup";
import type { TenantRuntime } from "../policy-store/policy-store";
import { httpForm, normalizeEndpointUrl, redactUrlQuery, socketForm } from "./endpoint-url";
import { TesterError } from "./errors";

export type ResolvedTarget =
  | {
      kind: "tenant";
      tenant: string;
      runtime: TenantRuntime;
      /** The URL connected to (may carry the caller's query, e.g. access_token). */
      url: string;
      /** Safe to show and store: query values hidden. */
      display: string;
      /** The `rest` after /t/<slug> as the gateway will see it. */
      rest: string;
    }
  | {
      kind: "endpoint";
      tenant: string;
      /** The tenant's policy on this gateway, when loaded (scan expectations, no trace). */
      runtime: TenantRuntime | null;
      url: string;
      display: string;
      endpointId: string;
      label: string | null;
      /** The run's pinned resolution of the endpoint's host name; absent for an IP literal. */
      lookup?: LookupFunction;
    };

/** The target tenant's policy as this gateway holds it; a scan needs it (503-like `unavailable` until loaded). */
export function loadedRuntime(target: ResolvedTarget): TenantRuntime {
  if (!target.runtime) {
    throw new TesterError(
      "unavailable",
      `the policy of tenant "${target.tenant}" is not loaded on this gateway yet; retry`,
    );
  }
  return target.runtime;
}

export interface TargetContext {
  pool: pg.Pool;
  store: { get(slug: string): TenantRuntime | undefined };
  /** This gateway's own listening address. */
  address: AddressInfo;
  /** Name resolution (tests inject one); the system resolver by default. */
  resolve?: Resolver;
}

/** ws://host:port of this gateway as seen from itself. */
export function selfBaseUrl(address: AddressInfo): string {
  const host =
    address.address === "0.0.0.0" || address.address === ""
      ? "127.0.0.1"
      : address.address === "::"
        ? "[::1]"
        : address.family === "IPv6" || address.address.includes(":")
          ? `[${address.address}]`
          : address.address;
  return `ws://${host}:${address.port}`;
}

export async function resolveTarget(
  ctx: TargetContext,
  input: { tenant?: string; url?: string; path?: string },
): Promise<ResolvedTarget> {
  if (input.url === undefined) {
    const slug = input.tenant ?? "";
    const runtime = ctx.store.get(slug);
    if (!runtime)
      throw new TesterError("tenant_unknown", `tenant "${slug.slice(0, 100)}" is not known to this gateway`);
    const rest = input.path ?? "";
    const checked = checkRest(rest);
    const base = `/t/${encodeURIComponent(slug)}`;
    const url = `${selfBaseUrl(ctx.address)}${base}${rest}`;
    // What the tester connects to is what the URL parser makes of `url`: it must still be
    // this tenant's endpoint (it resolves `/%2e%2e/` the way a server would).
    const parsedPath = checked.ok ? new URL(url).pathname : "";
    if (!checked.ok || !(parsedPath === base || parsedPath.startsWith(`${base}/`))) {
      const message = checked.ok ? "the path would leave the tenant endpoint" : checked.message;
      throw new TesterError("validation_failed", `path: ${message}`, [{ path: "path", message }]);
    }
    return { kind: "tenant", tenant: slug, runtime, url, display: redactUrlQuery(url), rest };
  }
  const normalized = normalizeEndpointUrl(input.url);
  if (!normalized.ok) {
    throw new TesterError("validation_failed", `url: ${normalized.message}`, [
      { path: "url", message: normalized.message },
    ]);
  }
  const endpoint = await findRegisteredEndpoint(ctx.pool, normalized.url, input.tenant);
  if (!endpoint) {
    const where = input.tenant === undefined ? "any tenant" : `tenant "${input.tenant.slice(0, 100)}"`;
    throw new TesterError(
      "target_not_registered",
      `${redactUrlQuery(normalized.url)} is not a registered tester endpoint of ${where}. The tester only connects to ` +
        "this gateway's tenants and to endpoints an admin registered (POST /api/v1/tenants/<slug>/endpoints).",
    );
  }
  const pinned = await pinHost(new URL(normalized.url).hostname, ctx.resolve);
  if (pinned.kind === "internal") {
    throw new TesterError(
      "target_address_refused",
      `${redactUrlQuery(normalized.url)} is registered by name and resolves to the internal address ${pinned.address}; ` +
        "to test an internal endpoint, register its literal address (e.g. ws://10.0.0.5:8080/socket).",
    );
  }
  return {
    kind: "endpoint",
    tenant: endpoint.slug,
    runtime: ctx.store.get(endpoint.slug) ?? null,
    url: normalized.url,
    display: redactUrlQuery(normalized.url),
    endpointId: endpoint.id,
    label: endpoint.label,
    ...(pinned.kind === "literal" ? {} : { lookup: pinned.lookup }),
  };
}

interface EndpointRow {
  id: string;
  url: string;
  label: string | null;
  slug: string;
}

/**
 * The registered endpoint equal to `url` (already normalized). Rows are compared after
 * normalizing them too, so an endpoint written by hand (SQL) in another spelling still
 * matches — but only ever by equality, never by prefix.
 */
async function findRegisteredEndpoint(
  pool: pg.Pool,
  url: string,
  tenant: string | undefined,
): Promise<EndpointRow | null> {
  if (tenant !== undefined) {
    const { rows: tenants } = await pool.query<{ id: string }>("select id from tenant where slug = $1", [tenant]);
    if (tenants.length === 0)
      throw new TesterError("tenant_unknown", `tenant "${tenant.slice(0, 100)}" does not exist`);
  }
  const { rows } = await pool.query<EndpointRow>(
    `select te.id, te.url, te.label, t.slug
       from tester_endpoint te join tenant t on t.id = te.tenant_id
      where ($1::text is null and te.url in ($2, $3, $4)) or t.slug = $1
      order by te.created_at
      limit 1000`,
    [tenant ?? null, url, socketForm(url), httpForm(url)],
  );
  // One registration covers the WebSocket and HTTP forms of the same address.
  for (const row of rows) {
    const stored = normalizeEndpointUrl(row.url);
    if (stored.ok && socketForm(stored.url) === socketForm(url)) return row;
  }
  return null;
}

/** Headers this gateway reads as the client's address when TRUST_PROXY is on. */
const FORWARDING_HEADERS = new Set(["x-forwarded-for", "forwarded", "x-real-ip"]);

/**
 * Against this gateway, forwarding headers are refused: with TRUST_PROXY the gateway would
 * record a made-up client address for the tester's handshakes (audit, rate limit). A
 * registered endpoint may receive them (testing whether it trusts them is legitimate).
 */
export function checkHeadersForTarget(target: ResolvedTarget, headers: Record<string, string> | undefined): void {
  if (target.kind !== "tenant" || !headers) return;
  const names = Object.keys(headers).filter((name) => FORWARDING_HEADERS.has(name.toLowerCase()));
  if (names.length === 0) return;
  throw new TesterError(
    "validation_failed",
    "forwarding headers are not sent to this gateway: it would take them as the client's address",
    names.map((name) => ({ path: `headers.${name}`, message: "not allowed against this gateway's tenants" })),
  );
}
