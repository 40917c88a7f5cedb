/**
 * The path rule of a tenant endpoint (SPEC §5): what a client writes after `/t/<slug>`
 * (`rest`) is joined *under* the upstream URL's own path, and nothing a client writes can
 * make the upstream see a path outside that base. One definition for every place a client
 * path is forwarded or followed: the WebSocket upstream (relay.ts), the HTTP proxy (which
 * answers a refusal with `bad_request`), and the handshake tester's tenant path.
 *
 * Refused (the handshake answers 400 `bad_handshake`):
 *   - a dot segment, `.` or `..`, raw or percent-encoded in any case (`%2e`, `%2E%2e`),
 *     also nested encodings (`%252e%252e`, which an upstream that decodes twice would
 *     follow) and with path parameters (`..;x`, which some servers treat as `..`);
 *   - an encoded slash or backslash (`%2f`, `%5c`, nested too): an upstream that decodes
 *     before routing would see another segment structure than the one checked here;
 *   - a raw backslash, space or control character: the WHATWG URL parser (which `ws` and
 *     `fetch` use) turns `\` into `/` and silently drops tabs and newlines, so `/.\t./`
 *     would become `/../` after the check;
 *   - a fragment (`#`), malformed percent-encoding, and encodings nested deeper than
 *     MAX_DECODE_DEPTH.
 * Joining then sets the path with the URL parser and checks again that the result lies
 * under the base (defense in depth: if the rule above ever missed a form the parser
 * normalizes, the join refuses instead of forwarding).
 *
 * Query: forwarded as the client wrote it (pairs kept byte for byte, appended after the
 * upstream URL's own query) except every `access_token` parameter, which is a credential
 * for the gateway and never travels further. Names are compared after decoding exactly as
 * `URLSearchParams` decodes them (the gateway reads the token that way, so what it reads
 * and what it strips are the same parameters).
 *
 * Pure and browser-safe (the `URL` and `URLSearchParams` globals only): the tester's input
 * schema, which the dashboard also runs, uses checkRest.
 */

export const ACCESS_TOKEN_PARAM = "access_token";

/** Decoding levels examined for hidden dots and slashes; deeper nesting is refused. */
const MAX_DECODE_DEPTH = 4;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const FORBIDDEN_IN_PATH = /[\u0000-\u0020\u007f\\#]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const FORBIDDEN_IN_QUERY = /[\u0000-\u0020\u007f#]/;
const PERCENT = /%/;
const VALID_ESCAPES = /^(?:[^%]|%[0-9A-Fa-f]{2})*$/s;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;

export type RestCheck = { ok: true; path: string; query: string } | { ok: false; message: string };
export type UpstreamTarget = { ok: true; url: string } | { ok: false; message: string };

/**
 * Splits `rest` ("", "/path...", "?query" or "/path?query") into its path and raw query and
 * checks that the path stays under the endpoint. `message` says what was refused, in words.
 */
/** A tenant endpoint's `<rest>` without its query (what audit rows and path rules see). */
export function pathOnly(rest: string): string {
  const q = rest.indexOf("?");
  return q === -1 ? rest : rest.slice(0, q);
}

export function checkRest(rest: string): RestCheck {
  if (typeof rest !== "string") return { ok: false, message: "no path" };
  const q = rest.indexOf("?");
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? "" : rest.slice(q + 1);
  if (path !== "" && !path.startsWith("/")) return { ok: false, message: "the path must start with /" };
  if (FORBIDDEN_IN_PATH.test(path) || FORBIDDEN_IN_QUERY.test(query)) {
    return {
      ok: false,
      message: "the path contains a backslash, a space, a control character or a fragment (#)",
    };
  }
  // Hot path (every handshake): without a "%" or a "." no segment can be a dot segment or
  // hide an encoded one, so the per-segment walk below has nothing to find.
  if (!path.includes("%") && !path.includes(".")) return { ok: true, path, query };
  if (!VALID_ESCAPES.test(path)) return { ok: false, message: "the path has malformed percent-encoding" };
  for (const segment of path.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) return { ok: false, message: problem };
  }
  return { ok: true, path, query };
}

/** Why a path segment is refused, or null when it is a plain name. */
function segmentProblem(raw: string): string | null {
  let segment = raw;
  for (let depth = 0; ; depth++) {
    if (isDotSegment(segment)) {
      return depth === 0
        ? "the path contains a . or .. segment"
        : "the path contains a percent-encoded . or .. segment";
    }
    if (depth > 0 && (segment.includes("/") || segment.includes("\\"))) {
      return "the path contains an encoded slash or backslash (%2f, %5c)";
    }
    if (!PERCENT.test(segment)) return null;
    if (depth === MAX_DECODE_DEPTH) return "the path's percent-encoding is nested too deep";
    // Byte-wise (latin1) decoding: enough to see dots and slashes, never throws on bytes
    // that are not UTF-8. A `%` not followed by two hex digits stays as it is.
    const decoded = segment.replace(ESCAPE, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (decoded === segment) return null;
    segment = decoded;
  }
}

/** `.` or `..`, ignoring path parameters (`..;jsessionid=x` is `..` to some servers). */
function isDotSegment(segment: string): boolean {
  const semicolon = segment.indexOf(";");
  const name = semicolon === -1 ? segment : segment.slice(0, semicolon);
  return name === "." || name === "..";
}

/** Every value of parameter `name` in a raw query string, decoded as URLSearchParams does, in order. */
export function queryValues(query: string, name: string): string[] {
  return query === "" ? [] : new URLSearchParams(query).getAll(name);
}

/** Every `access_token` value of `rest`'s query (all of them: a repeated one is ambiguous). */
export function accessTokenValues(rest: string): string[] {
  const q = rest.indexOf("?");
  if (q === -1) return [];
  const query = rest.slice(q + 1);
  // Hot path (every handshake): a query that spells neither the name nor any %-escape
  // cannot hold the parameter once decoded, so URLSearchParams (several µs) is skipped.
  if (!query.includes(ACCESS_TOKEN_PARAM) && !query.includes("%")) return [];
  return queryValues(query, ACCESS_TOKEN_PARAM);
}

/** True when a raw `name=value` pair is the parameter `name` (decoded as URLSearchParams does). */
function isParam(pair: string, name: string): boolean {
  const first = new URLSearchParams(pair).keys().next();
  return first.done !== true && first.value === name;
}

/**
 * The URL to forward to: `<upstream>` with `rest`'s path joined under its own path and the
 * client's query (without `access_token`) after its own query. Refused when `rest` breaks
 * the path rule, or (should the URL parser ever normalize the joined path out of the base)
 * when the result does not lie under the base.
 */
export function upstreamTarget(upstreamUrl: string, rest: string): UpstreamTarget {
  const checked = checkRest(rest);
  if (!checked.ok) return checked;
  const target = new URL(upstreamUrl);
  const base = target.pathname.replace(/\/+$/, "");
  target.pathname = `${base}${checked.path}` || "/";
  const joined = target.pathname;
  if (!(joined === (base || "/") || joined.startsWith(`${base}/`))) {
    return { ok: false, message: "the path would leave the upstream's base path" };
  }
  const pairs = checked.query.split("&").filter((pair) => pair !== "" && !isParam(pair, ACCESS_TOKEN_PARAM));
  const own = target.search.slice(1);
  target.search = [own, ...pairs].filter((part) => part !== "").join("&");
  return { ok: true, url: target.toString() };
}
