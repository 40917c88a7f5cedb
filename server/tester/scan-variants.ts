/**
 * The Origin values a scan tries for one tenant (SPEC §8 scan mode): every allowlist
 * entry's `bypassVariants` (prefix/suffix lookalikes, unescaped dots, scheme downgrade,
 * special characters after the host, port changes, homoglyphs, `null`, missing Origin,
 * third-party origins) plus, per entry, one origin the entry genuinely allows (a control:
 * if the target refuses even that, the scan is inconclusive — wrong path, missing
 * credentials — rather than "secure"), deduplicated by value and bounded.
 *
 * Order: the origin-independent cases first (missing, null, third party), then entry by
 * entry, so a truncated list still covers the first entries completely.
 *
 * Browser-safe, pure (the tester page previews the list with it).
 */
import { type BypassVariant, bypassVariants } from "../policy/bypass-variants";
import { parsePattern } from "../policy/parse-pattern";

export const MAX_SCAN_VARIANTS = 500;

export interface ScanVariant extends BypassVariant {
  /** The allowlist entries that produced it (empty for the global cases). */
  patterns: string[];
}

export interface ScanVariantList {
  variants: ScanVariant[];
  /** True when more variants existed than `max`. */
  truncated: boolean;
}

const GLOBAL: BypassVariant[] = [
  { label: "no Origin header (non-browser client)", origin: null },
  { label: 'opaque origin "null" (sandboxed iframe, file://)', origin: "null" },
  { label: "unrelated third-party origin", origin: "https://evil.net" },
];

export function scanVariants(patterns: readonly string[], max = MAX_SCAN_VARIANTS): ScanVariantList {
  const byOrigin = new Map<string | null, ScanVariant>();
  const variants: ScanVariant[] = [];
  let truncated = false;
  const add = (variant: BypassVariant, pattern: string | null): boolean => {
    const existing = byOrigin.get(variant.origin);
    if (existing) {
      // The global cases stay global: every entry would list them otherwise.
      const global = GLOBAL.some((g) => g.origin === existing.origin);
      if (!global && pattern !== null && !existing.patterns.includes(pattern) && existing.patterns.length < 20)
        existing.patterns.push(pattern);
      return true;
    }
    if (variants.length >= max) {
      truncated = true;
      return false;
    }
    const entry: ScanVariant = { ...variant, patterns: pattern === null ? [] : [pattern] };
    byOrigin.set(variant.origin, entry);
    variants.push(entry);
    return true;
  };
  for (const variant of GLOBAL) add(variant, null);
  for (const pattern of patterns) {
    const control = allowedSample(pattern);
    if (control && !add(control, pattern)) break;
    let full = false;
    for (const variant of bypassVariants(pattern)) {
      if (!add(variant, pattern)) {
        full = true;
        break;
      }
    }
    if (full) break;
  }
  return { variants, truncated };
}

/** An origin the entry itself allows, or null (`*`, `null` and wildcards have their own samples). */
function allowedSample(pattern: string): BypassVariant | null {
  const parsed = parsePattern(pattern);
  if (!parsed.ok) return null;
  const value = parsed.value;
  if (value.kind === "exact") {
    return { label: "the allowed origin itself (control: must be accepted)", origin: value.origin };
  }
  if (value.kind === "any-port") {
    return {
      label: "the allowed host on a sample port (control: must be accepted)",
      origin: `${value.scheme}://${value.host}:3000`,
    };
  }
  return null;
}
