/**
 * Stable reason codes of handshake decisions (SPEC §4.4) and the HTTP status each one is
 * answered with before the upgrade.
 *
 * These strings are a public contract: they appear in audit rows, in the reason header the
 * gateway sends, in `/api/v1/audit?reason=` filters and in users' scripts. Never rename or
 * remove one; only append. Browser-safe (no imports).
 */

export const REASONS = [
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
  // Close reasons of open connections (SPEC §4.5): close code 1008 with this reason.
  "policy_revoked",
  "token_expired",
  // HTTP and SSE (CORS, SPEC §4.6).
  "cors_method_not_allowed",
  "cors_header_not_allowed",
  "bad_request",
] as const;

export type Reason = (typeof REASONS)[number];

export const REASON_STATUS: Record<Reason, number> = {
  // 101 Switching Protocols: the only status under which an upgrade happens.
  allowed: 101,
  // Policy refusals are 403: the request is understood and well-formed enough to judge,
  // and the tenant's policy says no. A malformed Origin is still a policy matter (the
  // policy only admits well-formed origins), so it shares 403 rather than 400.
  origin_not_allowed: 403,
  origin_missing: 403,
  origin_null: 403,
  origin_malformed: 403,
  credentials_forbidden: 403,
  // Also 403, not 400: offering only protocols the tenant does not speak is a valid
  // handshake (RFC 6455 lets a server simply not pick one); refusing it is the tenant's
  // policy decision, and 400 would wrongly tell the client its request was malformed.
  subprotocol_not_allowed: 403,
  // 401: the client can fix this by presenting (another) token.
  token_missing: 401,
  token_invalid: 401,
  tenant_unknown: 404,
  // 400: a broken Sec-WebSocket-Key or similar, or a path the gateway refuses to forward
  // (dot segments, encoded slashes: SPEC §5). The gateway answers some bad handshakes with
  // a more precise status under the same code: 405 (not GET), 426 (wrong version, with
  // `Sec-WebSocket-Version: 13`) and 404 (an upgrade to a path that is no endpoint at all).
  bad_handshake: 400,
  rate_limited: 429,
  connection_limit: 503,
  // 503 (SPEC §4.4: "503 limits/upstream"): the service behind the gateway cannot take the
  // connection now; like the connection limit, the client may retry later.
  upstream_unavailable: 503,
  // 503, and never borrowed from another code (SPEC §4.4): the gateway itself cannot decide
  // right now (policies not loaded yet, shutting down) or hit an internal fault (a bug, a
  // failed limiter) and fails closed. The client may retry; nothing about its request,
  // the tenant's policy or the upstream is implied.
  gateway_unavailable: 503,
  // Never answered over HTTP: these close an open connection (close code 1008, SPEC §4.5).
  // The status is what the same client would get by connecting again: refused by the
  // policy (403), or asked for a new token (401).
  policy_revoked: 403,
  token_expired: 401,
  // CORS refusals are policy refusals like an origin that is not allowed: 403 (SPEC §4.6).
  cors_method_not_allowed: 403,
  cors_header_not_allowed: 403,
  // 400: an HTTP request the gateway will not forward as it is (a path that would leave the
  // upstream's base, SPEC §5), or a forward-auth subrequest without a usable original
  // method or URI. Forward auth answers it with 403 instead (SPEC §5.1: a proxy turns
  // statuses other than 2xx/401/403 into errors), under the same code.
  bad_request: 400,
};

export const REASON_DESCRIPTIONS: Record<Reason, string> = {
  allowed: "The handshake passed every check of the tenant's policy.",
  origin_not_allowed: "The Origin header is well-formed but matches no pattern in the tenant's allowlist.",
  origin_missing: "The request carried no Origin header and the policy rejects clients without one.",
  origin_null: 'The Origin was the opaque "null" origin and the allowlist has no "null" pattern.',
  origin_malformed:
    "The Origin header is not a single well-formed scheme://host[:port] (path, whitespace, several values, bad host or port).",
  tenant_unknown: "No tenant exists for the slug in the request path.",
  credentials_forbidden:
    "The request carried a Cookie or Authorization header and the policy forbids ambient credentials.",
  token_missing:
    "The policy requires a token and none was presented (as a bearer.<jwt> subprotocol or an access_token parameter).",
  token_invalid:
    "The presented token has a bad signature, an algorithm other than HS256, the wrong audience, is expired or not yet valid, or lives longer than the policy's maximum; or several tokens were presented (ambiguous).",
  subprotocol_not_allowed: "The client offered none of the subprotocols the policy allows.",
  connection_limit:
    "The tenant already has its maximum number of concurrent connections, or this client address holds its share of them (maxConnectionsPerIp).",
  rate_limited:
    "This client address opened too many handshakes in the last minute (to this tenant, or to slugs that name no tenant).",
  bad_handshake:
    "The upgrade request is not a valid WebSocket handshake (for example a missing or malformed key), or its path would leave the endpoint (dot segments, encoded slashes, backslashes).",
  upstream_unavailable: "The tenant's upstream server could not be reached.",
  gateway_unavailable:
    "The gateway could not decide: it is starting or stopping, or an internal fault made it refuse (it fails closed).",
  policy_revoked:
    "An open connection was closed (1008) because the tenant's policy changed and now refuses it, or the tenant was deleted.",
  token_expired: "An open connection was closed (1008) because the token it was admitted with expired.",
  cors_method_not_allowed:
    "The HTTP request's method (or a preflight's Access-Control-Request-Method) is not in the policy's cors.methods (compared case-sensitively).",
  cors_header_not_allowed:
    "A preflight's Access-Control-Request-Headers names a header that is not in the policy's cors.allowHeaders (Authorization only when named).",
  bad_request:
    "The HTTP request cannot be forwarded as it is: its path would leave the upstream's base (dot segments, encoded slashes), or a forward-auth subrequest lacked a usable original method or URI.",
};
