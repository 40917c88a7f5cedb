/**
 * Header filtering for the HTTP proxy (RFC 9110 §7.6.1): hop-by-hop fields are meant for
 * one connection and never forwarded — `Connection` itself, every field it names, and the
 * fields a proxy must treat as hop-by-hop whether named or not (`Keep-Alive`,
 * `Proxy-Connection`, `TE`, `Transfer-Encoding`, `Upgrade`, `Trailer`,
 * `Proxy-Authenticate`, `Proxy-Authorization`; the same list as Go's
 * httputil.ReverseProxy). The caller adds its own drop list (headers the gateway sets
 * itself, or owns, such as the CORS response headers).
 *
 * Works on Node's `rawHeaders` (a flat name/value list): names keep their case and
 * repeated fields stay separate lines, so nothing is merged or reordered on the way.
 * Pure.
 */

const ALWAYS_HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
]);

/** Lower-case names listed in the `Connection` field lines of `raw`. */
export function connectionTokens(raw: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "connection") continue;
    for (const token of raw[i + 1]!.split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "") named.add(name);
    }
  }
  return named;
}

/**
 * The end-to-end lines of `raw` (flat name/value list) without hop-by-hop fields and
 * without any field whose lower-case name is in `drop` or starts with a prefix in
 * `dropPrefixes`.
 */
export function endToEndHeaders(
  raw: readonly string[],
  drop: ReadonlySet<string> = new Set(),
  dropPrefixes: readonly string[] = [],
): string[] {
  const named = connectionTokens(raw);
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (ALWAYS_HOP_BY_HOP.has(lower) || named.has(lower) || drop.has(lower)) continue;
    if (dropPrefixes.some((prefix) => lower.startsWith(prefix))) continue;
    kept.push(name, raw[i + 1]!);
  }
  return kept;
}

/** True when `name` (any case) is hop-by-hop whatever `Connection` says. */
export function isHopByHop(name: string): boolean {
  return ALWAYS_HOP_BY_HOP.has(name.toLowerCase());
}
