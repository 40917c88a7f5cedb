/**
 * validatePolicy's unknown-field check on keys JavaScript treats specially. JSON.parse makes
 * `__proto__` and `constructor` own keys; `"__proto__" in {}` is true, so an `in` check
 * would take them for known limits and the save would drop them silently.
 */
import { describe, expect, it } from "vitest";
import { defaultPolicyDocument, validatePolicy } from "../../server/policy";

const errorsOf = (json: string) =>
  validatePolicy(JSON.parse(json))
    .filter((i) => i.severity === "error")
    .map((i) => i.path);

describe("own keys named like Object.prototype members", () => {
  const base = JSON.stringify(defaultPolicyDocument());
  const withLimit = (extra: string) => base.replace(/"limits":\{/, `"limits":{${extra},`);
  const withEntry = (extra: string) =>
    base.replace(/"origins":\[\]/, `"origins":[{"pattern":"https://a.example.com",${extra}}]`);

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"])(
    "limits.%s is an unknown limit",
    (key) => {
      expect(errorsOf(withLimit(`"${key}":1`))).toEqual([`limits.${key}`]);
    },
  );

  it.each(["__proto__", "constructor"])("%s at the top level and in an entry is an unknown field", (key) => {
    expect(errorsOf(base.replace(/^\{/, `{"${key}":{"mode":"report-only"},`))).toEqual([key]);
    expect(errorsOf(withEntry(`"${key}":1`))).toEqual([`origins[0].${key}`]);
  });

  it("the plain document has no errors", () => {
    expect(errorsOf(base)).toEqual([]);
  });
});
