/**
 * The tester's request bodies (SPEC §10 `POST /api/v1/tester/handshake|scan`), validated
 * with zod. The dashboard validates with these schemas before it calls the gateway and the
 * gateway validates again (it never trusts its caller), so both answer the same 422s.
 *
 * What is refused, and why:
 * - header values with control characters (CR/LF would inject headers) or non-ASCII
 *   characters (browsers send IDN hosts in punycode; anything else would reach the target
 *   as bytes the decision trace could not reproduce);
 * - extra headers that would break or override the handshake itself (Host, Upgrade,
 *   Connection, Sec-WebSocket-*, framing headers) and Origin/Cookie/Authorization, which
 *   have their own fields (so the trace and the audit know about them);
 * - a `path` together with `url`: a registered endpoint is tested exactly as registered;
 * - a `path` that would leave the tenant endpoint: the gateway's own path rule
 *   (server/gateway/upstream-path.ts — dot segments raw or percent-encoded, encoded
 *   slashes, backslashes). The URL parser the tester connects with resolves
 *   `/%2e%2e/%2e%2e/admin/stream` to `/admin/stream`, so the rule is checked here, before
 *   any URL is built.
 *
 * Browser-safe (zod and pure modules): the tester page uses the same limits for its form.
 */
import { z } from "zod";
import { checkRest } from "../gateway/upstream-path";
import { HTTP_TOKEN } from "../policy/document";

/** Printable ASCII and tab: what may go into a header value unchanged. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/** A path (and query) under the tenant endpoint: printable ASCII without space or '#'. */
const PATH_PATTERN = /^(?:[/?][\x21-\x22\x24-\x7e]*)?$/;

export const LIMITS = {
  originLength: 2048,
  headerValueLength: 8192,
  headers: 32,
  subprotocols: 16,
  subprotocolLength: 256,
  tokenLength: 8192,
  pathLength: 2048,
} as const;

/** Lower-case names an extra header may not have. */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "upgrade",
  "connection",
  "content-length",
  "transfer-encoding",
  "te",
  "trailer",
  "keep-alive",
  "proxy-connection",
  "expect",
  "origin",
  "cookie",
  "authorization",
]);

export const headerValue = (what: string, max: number) =>
  z
    .string()
    .max(max, `${what} is longer than ${max} characters`)
    .regex(HEADER_VALUE, `${what} may only contain printable ASCII characters (no line breaks or control characters)`);

const headersSchema = z
  .record(z.string(), z.string())
  .optional()
  .superRefine((headers, ctx) => {
    if (!headers) return;
    const entries = Object.entries(headers);
    if (entries.length > LIMITS.headers) {
      ctx.addIssue({ code: "custom", message: `at most ${LIMITS.headers} extra headers` });
      return;
    }
    const seen = new Set<string>();
    for (const [name, value] of entries) {
      const lower = name.toLowerCase();
      if (!HTTP_TOKEN.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "a header name is made of letters, digits and !#$%&'*+-.^_`|~",
        });
      } else if (seen.has(lower)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "this header is given twice (names are case-insensitive)",
        });
      } else if (lower === "origin" || lower === "cookie" || lower === "authorization") {
        ctx.addIssue({ code: "custom", path: [name], message: `use the ${lower} field instead of an extra header` });
      } else if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith("sec-websocket-")) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} is part of the handshake the tester performs and cannot be overridden (use subprotocols/token for Sec-WebSocket-Protocol)`,
        });
      }
      seen.add(lower);
      if (value.length > LIMITS.headerValueLength) {
        ctx.addIssue({ code: "custom", path: [name], message: `longer than ${LIMITS.headerValueLength} characters` });
      } else if (!HEADER_VALUE.test(value)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "may only contain printable ASCII characters (no line breaks or control characters)",
        });
      }
    }
  });

/** Fields every tester run shares (the CORS runs reuse them: server/tester/cors-input.ts). */
export const common = {
  /** A tenant slug on this gateway. */
  tenant: z.string().min(1).max(100).optional(),
  /** An endpoint registered for a tenant (ws:// or wss://). */
  url: z.string().min(1).max(2048).optional(),
  /** What follows /t/<slug> for a tenant target: "", "/path" or "?query". */
  path: z
    .string()
    .max(LIMITS.pathLength)
    .regex(PATH_PATTERN, "the path starts with / or ? and contains printable characters only (no spaces or #)")
    .superRefine((p, ctx) => {
      const checked = checkRest(p);
      if (!checked.ok)
        ctx.addIssue({ code: "custom", message: `${checked.message}: the path stays under the tenant endpoint` });
    })
    .optional(),
  cookie: headerValue("cookie", LIMITS.headerValueLength).optional(),
  authorization: headerValue("authorization", LIMITS.headerValueLength).optional(),
  /** Sent as the `bearer.<token>` Sec-WebSocket-Protocol entry. */
  token: z
    .string()
    .min(1)
    .max(LIMITS.tokenLength)
    .regex(HTTP_TOKEN, "a token is sent as a subprotocol entry: letters, digits and .-_ only (a JWT is fine)")
    .optional(),
  subprotocols: z
    .array(
      z
        .string()
        .min(1)
        .max(LIMITS.subprotocolLength)
        .regex(HTTP_TOKEN, "a subprotocol name is made of letters, digits and !#$%&'*+-.^_`|~"),
    )
    .max(LIMITS.subprotocols)
    .optional(),
  headers: headersSchema,
};

export function targetRules(
  value: { tenant?: string; url?: string; path?: string },
  ctx: z.RefinementCtx,
  needsTenant: boolean,
) {
  if (value.tenant === undefined && value.url === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["tenant"],
      message: "give a tenant (this gateway) or a registered endpoint url",
    });
  }
  if (needsTenant && value.tenant === undefined) {
    ctx.addIssue({ code: "custom", path: ["tenant"], message: "a scan needs the tenant whose allowlist it tests" });
  }
  if (value.url !== undefined && value.path !== undefined && value.path !== "") {
    ctx.addIssue({
      code: "custom",
      path: ["path"],
      message: "a registered endpoint is tested exactly as registered: register the URL with this path instead",
    });
  }
}

export const handshakeInputSchema = z
  .strictObject({
    ...common,
    /** The Origin header: a string is sent verbatim ("null" included); null or absent = no header. */
    origin: headerValue("origin", LIMITS.originLength).nullable().optional(),
  })
  .superRefine((value, ctx) => targetRules(value, ctx, false));

export const scanInputSchema = z.strictObject(common).superRefine((value, ctx) => targetRules(value, ctx, true));

export type HandshakeInput = z.output<typeof handshakeInputSchema>;
export type ScanInput = z.output<typeof scanInputSchema>;
