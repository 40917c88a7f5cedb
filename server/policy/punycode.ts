/**
 * Punycode (RFC 3492), the encoding of IDN labels after `xn--`: our own small codec, so the
 * engine's verdict on an `xn--` label never depends on the runtime (Node's `node:punycode` is
 * deprecated, and the WHATWG URL parser shipped with Node 20 and Node 24 disagree on which
 * `xn--` labels are valid — issue 20).
 *
 * - `decodePunycode("bcher-kva")` → the code points of "bücher"; null on any RFC 3492
 *   failure (a non-basic code point before the delimiter, an invalid digit, a truncated
 *   variable-length integer, an overflow) and for results that are not Unicode scalar
 *   values (a surrogate, above U+10FFFF).
 * - `encodePunycode(codePoints)` → the lower-case Punycode string (the encoder emits digits
 *   in lower case and copies basic code points as they are).
 *
 * Pure arithmetic, no tables, no I/O: the same answer on every runtime and in the browser.
 * Cost is linear in the label (labels are at most 63 characters).
 */

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 0x80;
const DELIMITER = 0x2d; // "-"
const MAX_INT = 0x7fffffff;
const MAX_CODE_POINT = 0x10ffff;

/** RFC 3492 §6.1. */
function adapt(delta: number, numPoints: number, firstTime: boolean): number {
  let d = firstTime ? Math.floor(delta / DAMP) : delta >> 1;
  d += Math.floor(d / numPoints);
  let k = 0;
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

/** 0-25 for a-z / A-Z, 26-35 for 0-9, BASE for anything else. */
function digitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 22;
  if (code >= 0x41 && code <= 0x5a) return code - 0x41;
  if (code >= 0x61 && code <= 0x7a) return code - 0x61;
  return BASE;
}

function digitChar(digit: number): string {
  // 0-25 → a-z, 26-35 → 0-9.
  return String.fromCharCode(digit < 26 ? digit + 0x61 : digit + 22);
}

function threshold(k: number, bias: number): number {
  return k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
}

/** The code points a Punycode string (without `xn--`) stands for, or null when it is invalid. */
export function decodePunycode(input: string): number[] | null {
  const output: number[] = [];
  const lastDelimiter = input.lastIndexOf("-");
  const basicLength = Math.max(lastDelimiter, 0); // no delimiter: no basic code points
  for (let index = 0; index < basicLength; index++) {
    const code = input.charCodeAt(index);
    if (code >= 0x80) return null;
    output.push(code);
  }
  let n = INITIAL_N;
  let bias = INITIAL_BIAS;
  let i = 0;
  for (let position = basicLength > 0 ? basicLength + 1 : 0; position < input.length; ) {
    const oldI = i;
    let weight = 1;
    for (let k = BASE; ; k += BASE) {
      if (position >= input.length) return null;
      const digit = digitValue(input.charCodeAt(position++));
      if (digit >= BASE) return null;
      if (digit > Math.floor((MAX_INT - i) / weight)) return null;
      i += digit * weight;
      const t = threshold(k, bias);
      if (digit < t) break;
      if (weight > Math.floor(MAX_INT / (BASE - t))) return null;
      weight *= BASE - t;
    }
    const length = output.length + 1;
    bias = adapt(i - oldI, length, oldI === 0);
    if (Math.floor(i / length) > MAX_INT - n) return null;
    n += Math.floor(i / length);
    i %= length;
    if (n > MAX_CODE_POINT || (n >= 0xd800 && n <= 0xdfff)) return null;
    output.splice(i, 0, n);
    i++;
  }
  return output;
}

/** The Punycode string (without `xn--`) for these code points, digits in lower case. */
export function encodePunycode(codePoints: readonly number[]): string {
  let output = "";
  for (const code of codePoints) if (code < 0x80) output += String.fromCharCode(code);
  const basicLength = output.length;
  let handled = basicLength;
  if (basicLength > 0) output += String.fromCharCode(DELIMITER);
  let n = INITIAL_N;
  let delta = 0;
  let bias = INITIAL_BIAS;
  while (handled < codePoints.length) {
    let next = MAX_CODE_POINT + 1;
    for (const code of codePoints) if (code >= n && code < next) next = code;
    delta += (next - n) * (handled + 1);
    n = next;
    for (const code of codePoints) {
      if (code < n) delta++;
      if (code === n) {
        let q = delta;
        for (let k = BASE; ; k += BASE) {
          const t = threshold(k, bias);
          if (q < t) break;
          output += digitChar(t + ((q - t) % (BASE - t)));
          q = Math.floor((q - t) / (BASE - t));
        }
        output += digitChar(q);
        bias = adapt(delta, handled + 1, handled === basicLength);
        delta = 0;
        handled++;
      }
    }
    delta++;
    n++;
  }
  return output;
}
