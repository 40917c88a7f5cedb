/**
 * A short word for what an allowlist pattern covers ("exact", "subdomains", ...), from the
 * gateway's own pattern parser. Shared by the allowlist table and the add form.
 */
import { parsePattern } from "@/server/policy/browser";

export function kindLabel(pattern: string): string {
  const parsed = parsePattern(pattern);
  if (!parsed.ok) return "invalid";
  switch (parsed.value.kind) {
    case "exact":
      return "exact";
    case "wildcard":
      return "subdomains";
    case "any-port":
      return "any port";
    case "any":
      return "any origin";
    case "null":
      return "null origin";
  }
}
