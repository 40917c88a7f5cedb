/**
 * credentialsRisk: the one definition of which allowlist patterns must never admit ambient
 * credentials (SPEC §4.3). With `credentials: allow`, a handshake carrying the user's
 * cookies or Authorization header is accepted from every origin the pattern matches, so the
 * pattern must only match pages the tenant controls. Three kinds cannot promise that:
 *
 * - `*`: every website (the Fetch standard refuses `Access-Control-Allow-Origin: *` with
 *   credentials for the same reason);
 * - `null`: any page produces the opaque origin with `<iframe sandbox>`;
 * - a wildcard whose subtree holds public suffixes, the Public Suffix List's private
 *   section included: `https://*.amazonaws.com` covers `s3.amazonaws.com`, under which
 *   anyone can create a bucket and serve a page. (A wildcard *directly* on a public suffix,
 *   `*.github.io`, is already refused by parsePattern whatever the credential policy.)
 *
 * Used twice, so the rule cannot drift: validatePolicy refuses to save such a combination,
 * and compilePolicy withholds credentials from such entries if one reaches the gateway
 * anyway (a policy saved before the rule existed, or written to the database directly):
 * they then admit only handshakes without Cookie/Authorization, as `credentials: forbid`
 * would (fail closed, without refusing the tenant's other traffic).
 *
 * Pure, browser-safe; the list of domains with public suffixes beneath them is generated
 * from tldts's copy of the PSL (public-suffix-parents.ts).
 */
import type { ParsedPattern } from "./parse-pattern";
import { PUBLIC_SUFFIX_PARENTS } from "./public-suffix-parents";

/** Why `credentials: allow` cannot go with this pattern (a sentence that says what to do), or null. */
export function credentialsRisk(pattern: ParsedPattern): string | null {
  switch (pattern.kind) {
    case "any":
      return '"*" cannot be combined with credentials: allow — any website could open the socket with your users\' cookies (the same rule forbids Access-Control-Allow-Origin: * with credentials). List the origins, or set credentials: forbid';
    case "null":
      return '"null" cannot be combined with credentials: allow — any website can send the null origin from a sandboxed iframe (<iframe sandbox>) and would open the socket with your users\' cookies. Remove it, or set credentials: forbid (with token: required for the clients that need null)';
    case "wildcard": {
      const below = publicSuffixBelow(pattern.suffix);
      if (below === null) return null;
      const covered = below.startsWith("*.") ? `every name directly under ${below.slice(2)}` : below;
      const example = `${pattern.scheme}://your-name.${below.startsWith("*.") ? `example.${below.slice(2)}` : below}`;
      return `${pattern.pattern} cannot be combined with credentials: allow — it covers public suffixes such as ${covered} (Public Suffix List), where anyone can host a page that would open the socket with your users' cookies. List the origins you own, e.g. ${example}, or set credentials: forbid`;
    }
    default:
      return null;
  }
}

/** A public suffix strictly beneath this domain (trailing dot ignored), or null. */
export function publicSuffixBelow(domain: string): string | null {
  const name = domain.endsWith(".") ? domain.slice(0, -1) : domain;
  return PUBLIC_SUFFIX_PARENTS.get(name) ?? null;
}
