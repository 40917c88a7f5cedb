/**
 * What a CORS answer reveals (the CORS tester and its scan): which origin it lets read the
 * response, with or without credentials, and the classic misconfigurations (PortSwigger,
 * "Exploiting CORS misconfigurations"; the Gin SSE endpoint this product grew from):
 *
 *   origin_reflected          the answer grants an origin the tenant's policy refuses
 *                             (arbitrary origin reflected, prefix/suffix lookalikes...);
 *   wildcard_for_refused      `Access-Control-Allow-Origin: *` for an origin the policy refuses;
 *   null_with_credentials     `null` granted together with `Access-Control-Allow-Credentials:
 *                             true` (any page can send `null` from a sandboxed iframe);
 *   wildcard_with_credentials `*` together with credentials (browsers refuse it, so the server
 *                             meant credentials for everyone: a broken configuration);
 *   missing_vary_origin       a specific origin granted without `Vary: Origin` (a shared cache
 *                             can serve one origin's grant to another).
 *
 * Pure and browser-safe (the tester page reuses the labels).
 */

export const CORS_ISSUES = [
  "origin_reflected",
  "wildcard_for_refused",
  "null_with_credentials",
  "wildcard_with_credentials",
  "missing_vary_origin",
] as const;
export type CorsIssue = (typeof CORS_ISSUES)[number];

export const CORS_ISSUE_LABELS: Record<CorsIssue, string> = {
  origin_reflected: "grants an origin the policy refuses",
  wildcard_for_refused: "grants * to an origin the policy refuses",
  null_with_credentials: "grants the null origin with credentials",
  wildcard_with_credentials: "Access-Control-Allow-Origin: * with credentials",
  missing_vary_origin: "grants a specific origin without Vary: Origin",
};

/** The CORS response headers of an answer (lower-case header map). */
export interface CorsHeadersSeen {
  allowOrigin: string | null;
  allowCredentials: string | null;
  allowMethods: string | null;
  allowHeaders: string | null;
  exposeHeaders: string | null;
  maxAge: string | null;
  vary: string | null;
}

export function corsHeadersOf(headers: Readonly<Record<string, string>>): CorsHeadersSeen {
  const get = (name: string) => headers[name] ?? null;
  return {
    allowOrigin: get("access-control-allow-origin"),
    allowCredentials: get("access-control-allow-credentials"),
    allowMethods: get("access-control-allow-methods"),
    allowHeaders: get("access-control-allow-headers"),
    exposeHeaders: get("access-control-expose-headers"),
    maxAge: get("access-control-max-age"),
    vary: get("vary"),
  };
}

/** True when a page on `origin` may read this answer (Fetch's CORS check, simplified to the origin part). */
export function grantsOrigin(seen: CorsHeadersSeen, origin: string | null): boolean {
  if (origin === null || seen.allowOrigin === null) return false;
  return seen.allowOrigin === "*" || seen.allowOrigin === origin;
}

/** The issues of one answer for `origin`; `policyAllows` is what the tenant's policy says of it. */
export function corsIssues(seen: CorsHeadersSeen, origin: string | null, policyAllows: boolean): CorsIssue[] {
  const issues: CorsIssue[] = [];
  const credentials = seen.allowCredentials?.trim().toLowerCase() === "true";
  if (origin !== null && !policyAllows && seen.allowOrigin === origin) issues.push("origin_reflected");
  if (origin !== null && !policyAllows && seen.allowOrigin === "*") issues.push("wildcard_for_refused");
  if (seen.allowOrigin === "null" && credentials) issues.push("null_with_credentials");
  if (seen.allowOrigin === "*" && credentials) issues.push("wildcard_with_credentials");
  if (seen.allowOrigin !== null && seen.allowOrigin !== "*" && !varyHasOrigin(seen.vary)) {
    issues.push("missing_vary_origin");
  }
  return issues;
}

function varyHasOrigin(vary: string | null): boolean {
  if (vary === null) return false;
  return vary.split(",").some((v) => {
    const name = v.trim().toLowerCase();
    return name === "origin" || name === "*";
  });
}
