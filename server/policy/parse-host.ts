/**
 * parseHost: the host of an origin as a browser serializes it (SPEC §4.1), checked by the
 * engine's own rules — no URL parser, no Unicode tables — so the verdict is the same on
 * every Node.js version and in every browser that runs the dashboard (issue 20).
 *
 * The input is the host exactly as it appears between `scheme://` and the port. Letter case
 * is the one liberty allowed (RFC 3986 §3.2.2: hosts are case-insensitive): the result is
 * lower-cased. Anything else a URL parser would rewrite is refused, with a message naming
 * the form a browser sends when there is one (`canonical`):
 *
 * - IPv4: exactly four dotted-decimal parts, each 0-255 without leading zeros, no trailing
 *   dot. A host whose last label is a number (`2130706433`, `127.1`, `0x7f.0.0.1`,
 *   `0127.0.0.1`, `foo.1`, `127.0.0.1.`) is read as an IPv4 address by WHATWG URL parsers,
 *   and in any other form is refused.
 * - IPv6, in brackets: exactly the WHATWG serialization (RFC 5952 style): hex pieces
 *   without leading zeros, the first longest run of two or more zero pieces as `::`, no
 *   dotted IPv4 tail (`[::ffff:127.0.0.1]` is sent as `[::ffff:7f00:1]`), no zone id.
 *   Hex letters may be upper-case like any other letter (`[2001:DB8::1]` → `[2001:db8::1]`).
 * - Domain names, ASCII only (browsers send IDN hosts in punycode; a Unicode host is not a
 *   serialized origin): labels of `a-z 0-9 - _` separated by single dots, at most one
 *   trailing dot (kept: a different host), labels at most 63 and the name at most 253
 *   characters (DNS limits, RFC 1035 §2.3.4). Hyphens may begin or end a label and `--`
 *   may appear anywhere (WHATWG URL runs UTS #46 with CheckHyphens=false, so browsers send
 *   such hosts), except that:
 * - a label starting with `xn--` is an IDN A-label and must be valid (the WHATWG URL
 *   Standard's rule, UTS #46 §4 step 4.1 with IgnoreInvalidPunycode=false):
 *   1. what follows `xn--` decodes as RFC 3492 Punycode (our codec, ./punycode.ts);
 *   2. the decoded label is non-empty and holds at least one non-ASCII code point
 *      (`xn--abc-` decodes to plain "abc": UTS #46 since Unicode 15.1);
 *   3. re-encoding it gives back exactly the same text (the IDNA2008 round trip, RFC 5891
 *      §5.4: one spelling per label; with a correct decoder and lower-cased input it never
 *      fires, so it guards the decoder itself);
 *   4. the decoded label does not itself start with `xn--` (UTS #46 V4);
 *   5. its ASCII code points are from the same `a-z 0-9 - _` set as any label, and it holds
 *      none of the code points that no version of IDNA has ever allowed: C1 controls,
 *      spaces and zero-width/format characters that UTS #46 deletes or maps to a space,
 *      the full-stop lookalikes it maps to ".", variation selectors and tags, U+FFF0-U+FFFF
 *      (specials, U+FFFD), surrogates, noncharacters and private-use code points.
 *   What is not checked, on purpose: rules that need Unicode character tables (UTS #46
 *   mapping status, NFC, leading combining marks, CONTEXTJ, Bidi). They would tie the
 *   verdict to the runtime's Unicode version, they do not change which host a value names
 *   (hosts are compared as ASCII strings), and Chromium does not apply them to an `xn--`
 *   label either. Chromium is laxer than all of the above — it sends `xn--zz`, which is
 *   not Punycode — so such an origin is refused here as malformed: no page can be served
 *   under it by a standards-conforming browser, and when in doubt the gateway refuses.
 *
 * `hostToAscii` is the other direction, for text a person typed (patterns, scan variants,
 * never a header): a Unicode host is converted to punycode by the runtime's IDNA (the
 * WHATWG URL parser: UTS #46, as browsers do), but only when that conversion is nothing
 * more than lower-casing, NFC and encoding — checked by decoding the result with our own
 * codec. UTS #46 mappings differ between runtimes (Node 20 maps `faẞ.de` to `fass.de`, a
 * different site, Node 24 and Chromium to `faß.de`; Node 20 refuses scripts added in
 * Unicode 16), so any other rewrite (ẞ, fullwidth letters, ideographic full stops, ignored
 * characters) is refused with the form to type instead. The stored result is therefore the
 * same on every runtime that accepts the input, and the punycode form is accepted on all.
 * The result must then pass `parseHost`.
 *
 * Pure, browser-safe, allocation-light on the common path (it runs on every handshake).
 */
import { decodePunycode, encodePunycode } from "./punycode";

export type HostResult =
  | { ok: true; host: string; type: "domain" | "ipv4" | "ipv6" }
  | { ok: false; message: string; canonical?: string };

const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
/** Lower-case LDH-and-underscore labels separated by single dots, one trailing dot allowed. */
const DOMAIN = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/;
const UPPER = /[A-Z]/;
/** WHATWG "ends in a number": decimal digits, or 0x with hex digits (possibly none). */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;
const DECIMAL_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const CANONICAL_IPV4 = new RegExp(`^${DECIMAL_OCTET}(?:\\.${DECIMAL_OCTET}){3}$`);
const DOT = 0x2e;

/**
 * Code point ranges (inclusive) that are never valid in an IDN label in any version of
 * UTS #46 / IDNA2008 (disallowed, ignored, or mapped to a space or a dot), so refusing them
 * needs no Unicode version.
 */
const NEVER_IN_A_LABEL: ReadonlyArray<readonly [number, number]> = [
  [0x0080, 0x00a0], // C1 controls, no-break space
  [0x00ad, 0x00ad], // soft hyphen
  [0x034f, 0x034f], // combining grapheme joiner
  [0x115f, 0x1160], // Hangul fillers
  [0x1680, 0x1680], // Ogham space mark
  [0x17b4, 0x17b5], // Khmer inherent vowels
  [0x180b, 0x180f], // Mongolian variation selectors, vowel separator
  [0x2000, 0x200b], // spaces, zero-width space (U+200C/D are CONTEXTJ, allowed in context)
  [0x200e, 0x200f], // direction marks
  [0x2028, 0x202f], // line/paragraph separators, bidi embeddings, narrow no-break space
  [0x205f, 0x206f], // medium math space, word joiner, invisible operators, bidi isolates
  [0x3000, 0x3000], // ideographic space
  [0x3002, 0x3002], // ideographic full stop (maps to ".")
  [0x3164, 0x3164], // Hangul filler
  [0xd800, 0xdfff], // surrogates (never produced by our decoder; listed for completeness)
  [0xe000, 0xf8ff], // private use
  [0xfdd0, 0xfdef], // noncharacters
  [0xfe00, 0xfe0f], // variation selectors
  [0xfeff, 0xfeff], // byte order mark / zero-width no-break space
  [0xff0e, 0xff0e], // fullwidth full stop (maps to ".")
  [0xff61, 0xff61], // halfwidth ideographic full stop (maps to ".")
  [0xffa0, 0xffa0], // halfwidth Hangul filler
  [0xfff0, 0xffff], // specials: interlinear annotation, U+FFFC, U+FFFD, noncharacters
  [0x1bca0, 0x1bca3], // shorthand format controls
  [0x1d173, 0x1d17a], // musical symbol format controls
  [0xe0000, 0xe0fff], // tags, variation selectors supplement
  [0xf0000, 0x10ffff], // supplementary private use planes
];

function fail(message: string, canonical?: string): HostResult {
  return canonical === undefined ? { ok: false, message } : { ok: false, message, canonical };
}

/** The host as an origin carries it, checked and lower-cased (see the module header). */
export function parseHost(text: string): HostResult {
  if (text === "") return fail("empty host");
  if (text.charCodeAt(0) === 0x5b /* [ */) return parseIpv6Literal(text);
  const host = UPPER.test(text) ? text.toLowerCase() : text;
  if (!DOMAIN.test(host)) return fail(describeBadName(text));
  const end = host.charCodeAt(host.length - 1) === DOT ? host.length - 1 : host.length;

  // The last label decides whether URL parsers read the whole host as an IPv4 address.
  const lastLabel = host.slice(host.lastIndexOf(".", end - 1) + 1, end);
  if (NUMERIC_LABEL.test(lastLabel)) return checkIpv4(text, host);

  if (end > MAX_HOST_LENGTH) return fail(`host is longer than ${MAX_HOST_LENGTH} characters`);
  // Label by label, scanning (split() would allocate on every handshake).
  let start = 0;
  for (let index = 0; index <= end; index++) {
    if (index !== end && host.charCodeAt(index) !== DOT) continue;
    if (index - start > MAX_LABEL_LENGTH) {
      return fail(`host label "${host.slice(start, index)}" is longer than ${MAX_LABEL_LENGTH} characters`);
    }
    if (
      index - start >= 4 &&
      host.charCodeAt(start) === 0x78 /* x */ &&
      host.charCodeAt(start + 1) === 0x6e /* n */ &&
      host.charCodeAt(start + 2) === 0x2d &&
      host.charCodeAt(start + 3) === 0x2d
    ) {
      const problem = checkALabel(host.slice(start, index));
      if (problem) return fail(problem);
    }
    start = index + 1;
  }
  return { ok: true, host, type: "domain" };
}

/**
 * For text a person typed: a host with non-ASCII characters in punycode (see the module
 * header for why only encoding and case are accepted as changes), or a message. ASCII text
 * is returned unchanged. The caller must still run `parseHost` on the result.
 */
export function hostToAscii(text: string): { ok: true; ascii: string } | { ok: false; message: string } {
  if (isAscii(text)) return { ok: true, ascii: text };
  let ascii: string;
  try {
    ascii = new URL(`http://${text}`).hostname;
  } catch {
    return { ok: false, message: `"${text}" is not a valid internationalized domain name` };
  }
  const expected = text.toLowerCase().normalize("NFC");
  const spelled = ascii
    .split(".")
    .map((label) => {
      if (!label.startsWith("xn--")) return label;
      const decoded = decodePunycode(label.slice(4));
      return decoded === null ? label : String.fromCodePoint(...decoded);
    })
    .join(".");
  if (spelled !== expected) {
    return {
      ok: false,
      message: `IDNA rewrites "${text}" to another name ("${spelled}", in punycode ${ascii}), and not every browser or runtime does the same: type the host exactly as registered, in lower case, or in punycode (xn--…)`,
    };
  }
  return { ok: true, ascii };
}

export function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

/** Rules 1-5 of the module header for one `xn--` label (lower case); null when valid. */
function checkALabel(label: string): string | null {
  const encoded = label.slice(4);
  const invalid = `label "${label}" is not valid punycode`;
  if (encoded === "") return `${invalid} (nothing after "xn--")`;
  const decoded = decodePunycode(encoded);
  if (decoded === null) return `${invalid} (it does not decode)`;
  let nonAscii = false;
  for (const code of decoded) {
    if (code < 0x80) {
      if (!isLabelAscii(code)) return `${invalid} (it decodes to the character "${String.fromCharCode(code)}")`;
    } else {
      nonAscii = true;
      if (neverInALabel(code)) {
        return `${invalid} (it decodes to U+${code.toString(16).toUpperCase().padStart(4, "0")}, which no domain name may contain)`;
      }
    }
  }
  if (!nonAscii) return `${invalid} (it decodes to plain ASCII, which is never written in punycode)`;
  if (encodePunycode(decoded) !== encoded) return `${invalid} (it is not the one encoding of what it decodes to)`;
  if (decoded[0] === 0x78 && decoded[1] === 0x6e && decoded[2] === 0x2d && decoded[3] === 0x2d) {
    return `${invalid} (it decodes to another "xn--" label)`;
  }
  return null;
}

function isLabelAscii(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x5f // a-z 0-9 - _
  );
}

function neverInALabel(code: number): boolean {
  if ((code & 0xfffe) === 0xfffe) return true; // U+xFFFE / U+xFFFF noncharacters of every plane
  for (const [low, high] of NEVER_IN_A_LABEL) {
    if (code < low) return false;
    if (code <= high) return true;
  }
  return false;
}

function describeBadName(text: string): string {
  if (!isAscii(text)) {
    return `host "${text}" is not ASCII: browsers send internationalized hosts in punycode (xn--…)`;
  }
  return `host "${text}" contains characters that are not allowed in a host name`;
}

/** A host ending in a number: only the canonical dotted-decimal IPv4 form is an origin. */
function checkIpv4(text: string, host: string): HostResult {
  if (CANONICAL_IPV4.test(host)) return { ok: true, host, type: "ipv4" };
  const address = whatwgIpv4(host);
  if (address === null) {
    return fail(
      `host "${text}" ends in a number, so URL parsers read it as an IPv4 address, and it is not one (write four decimal numbers 0-255, e.g. 192.0.2.1)`,
    );
  }
  const canonical = [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join(".");
  const what = host.endsWith(".") ? "an IPv4 address with a trailing dot" : "an IPv4 address in a non-standard form";
  return fail(
    `host "${text}" is ${what}: URL parsers rewrite it to ${canonical}, and browsers send only that form (four decimal numbers without leading zeros)`,
    canonical,
  );
}

/**
 * The WHATWG URL Standard's IPv4 parser (decimal, 0x-hex and 0-octal parts, one to four
 * of them, the last filling the remaining bytes), used only to name the address in a
 * message. Null when it is not an address.
 */
function whatwgIpv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    if (part === "") return null;
    let digits = part;
    let radix = 10;
    if (digits.startsWith("0x")) {
      digits = digits.slice(2);
      radix = 16;
    } else if (digits.length > 1 && digits.startsWith("0")) {
      digits = digits.slice(1);
      radix = 8;
    }
    const pattern = radix === 16 ? /^[0-9a-f]*$/ : radix === 8 ? /^[0-7]*$/ : /^[0-9]*$/;
    if (!pattern.test(digits)) return null;
    numbers.push(digits === "" ? 0 : Number.parseInt(digits, radix));
  }
  const last = numbers.pop() as number;
  if (numbers.some((value) => value > 255) || last >= 256 ** (4 - numbers.length)) return null;
  return numbers.reduce((sum, value, index) => sum + value * 256 ** (3 - index), last);
}

/** `[...]`: only the WHATWG serialization (letter case aside). */
function parseIpv6Literal(text: string): HostResult {
  if (!text.endsWith("]")) return fail("IPv6 address without a closing ']'");
  const inner = text.slice(1, -1).toLowerCase();
  const pieces = parseIpv6(inner);
  if (pieces === null) return fail(`invalid IPv6 address "${text}"`);
  const canonical = `[${serializeIpv6(pieces)}]`;
  if (`[${inner}]` !== canonical) {
    return fail(
      `IPv6 address "${text}" is not in the form browsers send (${canonical}: compressed, no leading zeros, no dotted IPv4 part)`,
      canonical,
    );
  }
  return { ok: true, host: canonical, type: "ipv6" };
}

/** The WHATWG URL Standard's IPv6 parser: eight 16-bit pieces, or null. */
function parseIpv6(input: string): number[] | null {
  const address = [0, 0, 0, 0, 0, 0, 0, 0];
  let pieceIndex = 0;
  let compress: number | null = null;
  let pointer = 0;
  const at = (index: number) => input.charCodeAt(index); // NaN past the end
  const isHex = (code: number) => (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66);
  const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
  if (at(0) === 0x3a) {
    if (at(1) !== 0x3a) return null;
    pointer = 2;
    pieceIndex = 1;
    compress = 1;
  }
  while (pointer < input.length) {
    if (pieceIndex === 8) return null;
    if (at(pointer) === 0x3a) {
      if (compress !== null) return null;
      pointer++;
      pieceIndex++;
      compress = pieceIndex;
      continue;
    }
    let value = 0;
    let length = 0;
    while (length < 4 && isHex(at(pointer))) {
      value = value * 16 + Number.parseInt(input[pointer]!, 16);
      pointer++;
      length++;
    }
    if (at(pointer) === DOT) {
      if (length === 0) return null;
      pointer -= length;
      if (pieceIndex > 6) return null;
      let numbersSeen = 0;
      while (pointer < input.length) {
        let ipv4Piece: number | null = null;
        if (numbersSeen > 0) {
          if (at(pointer) === DOT && numbersSeen < 4) pointer++;
          else return null;
        }
        if (!isDigit(at(pointer))) return null;
        while (isDigit(at(pointer))) {
          const digit = at(pointer) - 0x30;
          if (ipv4Piece === null) ipv4Piece = digit;
          else if (ipv4Piece === 0) return null;
          else ipv4Piece = ipv4Piece * 10 + digit;
          if (ipv4Piece > 255) return null;
          pointer++;
        }
        address[pieceIndex] = address[pieceIndex]! * 256 + (ipv4Piece as number);
        numbersSeen++;
        if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
      }
      if (numbersSeen !== 4) return null;
      break;
    }
    if (at(pointer) === 0x3a) {
      pointer++;
      if (pointer >= input.length) return null;
    } else if (pointer < input.length) return null;
    address[pieceIndex] = value;
    pieceIndex++;
  }
  if (compress !== null) {
    let swaps = pieceIndex - compress;
    pieceIndex = 7;
    while (pieceIndex !== 0 && swaps > 0) {
      const other = compress + swaps - 1;
      [address[pieceIndex], address[other]] = [address[other]!, address[pieceIndex]!];
      pieceIndex--;
      swaps--;
    }
  } else if (pieceIndex !== 8) return null;
  return address;
}

/** The WHATWG URL Standard's IPv6 serializer (without brackets). */
function serializeIpv6(pieces: readonly number[]): string {
  // The first longest run of two or more zero pieces is compressed.
  let compress = -1;
  let bestLength = 1;
  for (let index = 0; index < 8; ) {
    if (pieces[index] !== 0) {
      index++;
      continue;
    }
    let end = index;
    while (end < 8 && pieces[end] === 0) end++;
    if (end - index > bestLength) {
      compress = index;
      bestLength = end - index;
    }
    index = end;
  }
  let output = "";
  for (let index = 0; index < 8; index++) {
    if (index === compress) {
      output += index === 0 ? "::" : ":";
      index += bestLength - 1;
      continue;
    }
    output += pieces[index]!.toString(16);
    if (index !== 7) output += ":";
  }
  return output;
}
