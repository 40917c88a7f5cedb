/**
 * The credential rule of SPEC §4.3 (issue 11 item 6): `credentials: allow` is refused at
 * validation with `*`, with `null` and with a wildcard whose subtree holds public suffixes
 * (`https://*.amazonaws.com` covers `s3.amazonaws.com`); and a policy that reaches the
 * gateway with such an entry anyway withholds credentials from it (fail closed).
 *
 * Sources: the security review of issue 11 (`https://*.amazonaws.com` + `credentials: allow`
 * was saved, and `Origin: https://attacker-bucket.s3.amazonaws.com` with a Cookie got 101;
 * `null` + allow was saved); the Public Suffix List's private section (Amazon S3, GitHub
 * Pages); PortSwigger "Exploiting CORS misconfigurations" (the null origin from a sandboxed
 * iframe); the Fetch standard (no `*` with credentials).
 */
import { getPublicSuffix } from "tldts";
import { describe, expect, it } from "vitest";
import { computePublicSuffixParents } from "../../server/cli/psl-parents";
import {
  compilePolicy,
  decideHandshake,
  defaultPolicyDocument,
  explainHandshake,
  type PolicyDocument,
  parsePattern,
  validatePolicy,
} from "../../server/policy";
import { credentialsRisk, publicSuffixBelow } from "../../server/policy/credential-rules";
import { PUBLIC_SUFFIX_PARENTS } from "../../server/policy/public-suffix-parents";

const NOW = Date.UTC(2030, 0, 1);

function document(patterns: string[], credentials: "allow" | "forbid"): PolicyDocument {
  return {
    ...defaultPolicyDocument(),
    origins: patterns.map((pattern) => ({ pattern, note: null, expiresAt: null })),
    credentials,
  };
}

function errorsAt(doc: PolicyDocument, path: string): string[] {
  return validatePolicy(doc)
    .filter((issue) => issue.severity === "error" && issue.path === path)
    .map((issue) => issue.message);
}

describe("validatePolicy refuses credentials: allow with patterns that reach other people's pages", () => {
  it.each([
    [
      "https://*.amazonaws.com",
      ["s3.amazonaws.com", "Public Suffix List", "credentials: forbid", "https://your-name."],
    ],
    ["https://*.amazonaws.com:8443", ["s3.amazonaws.com"]],
    ["https://*.amazonaws.com.", ["s3.amazonaws.com"]],
    ["https://*.cloudscale.ch", ["public suffixes such as", ".cloudscale.ch"]],
    ["https://*.østfold.no", ["public suffixes such as", ".xn--stfold-9xa.no"]],
    ["*", ['"*" cannot be combined with credentials: allow', "credentials: forbid"]],
    ["null", ['"null" cannot be combined with credentials: allow', "sandboxed iframe", "credentials: forbid"]],
  ])("%s", (pattern, messageParts) => {
    const errors = errorsAt(document([pattern], "allow"), "origins[0].pattern");
    expect(errors).toHaveLength(1);
    for (const part of messageParts) expect(errors[0]).toContain(part);
  });

  it.each(["https://*.amazonaws.com", "*", "null"])("%s with credentials: forbid is no error", (pattern) => {
    expect(validatePolicy(document([pattern], "forbid")).filter((issue) => issue.severity === "error")).toEqual([]);
  });

  it.each([
    "https://*.example.com",
    "https://*.alice.github.io",
    "https://*.my-bucket.s3.amazonaws.com",
    "https://app.s3.amazonaws.com",
    "https://*.bücher.de",
    "http://*.localhost:3000",
  ])("%s with credentials: allow is accepted (nothing public beneath it)", (pattern) => {
    expect(errorsAt(document([pattern], "allow"), "origins[0].pattern")).toEqual([]);
  });

  it("a wildcard directly on a public suffix stays a pattern error whatever the credential policy", () => {
    for (const credentials of ["allow", "forbid"] as const) {
      expect(errorsAt(document(["https://*.s3.amazonaws.com"], credentials), "origins[0].pattern")[0]).toContain(
        "public suffix",
      );
    }
  });

  it("names the right entry among several", () => {
    const doc = document(["https://app.example.com", "https://*.amazonaws.com", "null"], "allow");
    const errors = validatePolicy(doc).filter((issue) => issue.severity === "error");
    expect(errors.map((issue) => issue.path)).toEqual(["origins[1].pattern", "origins[2].pattern"]);
  });
});

describe("the gateway withholds credentials from such entries when one arrives anyway", () => {
  // As the review found it: saved before the rule existed, or written to the database directly.
  const compiled = compilePolicy(
    document(["https://app.example.com", "https://*.amazonaws.com", "*", "null"], "allow"),
    NOW,
    { version: 3, tenant: "acme" },
  );
  const handshake = (origin: string, hasCookie: boolean) =>
    decideHandshake(compiled, { origin, hasCookie, hasAuthorization: false, offeredSubprotocols: [], now: NOW });

  it("refuses the attack of the review: a Cookie from attacker-bucket.s3.amazonaws.com", () => {
    const decision = handshake("https://attacker-bucket.s3.amazonaws.com", true);
    expect(decision).toMatchObject({
      allowed: false,
      reason: "credentials_forbidden",
      status: 403,
      matchedPattern: "https://*.amazonaws.com",
    });
    expect(decision.detail).toContain("s3.amazonaws.com");
  });

  it("refuses Cookie or Authorization through * and null too", () => {
    expect(handshake("https://evil.example", true).reason).toBe("credentials_forbidden");
    expect(handshake("null", true).reason).toBe("credentials_forbidden");
    const withAuthorization = decideHandshake(compiled, {
      origin: "https://evil.example",
      hasCookie: false,
      hasAuthorization: true,
      offeredSubprotocols: [],
      now: NOW,
    });
    expect(withAuthorization.reason).toBe("credentials_forbidden");
  });

  it("still admits those origins without credentials, and credentials through safe entries", () => {
    expect(handshake("https://attacker-bucket.s3.amazonaws.com", false).reason).toBe("allowed");
    expect(handshake("null", false).reason).toBe("allowed");
    expect(handshake("https://app.example.com", true)).toMatchObject({ allowed: true, reason: "allowed" });
  });

  it("lists the withheld entries, and none when credentials are forbidden anyway", () => {
    expect([...compiled.credentialsWithheld.keys()]).toEqual(["https://*.amazonaws.com", "*", "null"]);
    const forbid = compilePolicy(document(["https://*.amazonaws.com", "*"], "forbid"), NOW, {
      version: 1,
      tenant: "t",
    });
    expect(forbid.credentialsWithheld.size).toBe(0);
  });

  it("the explanation says why", () => {
    const explanation = explainHandshake(compiled, {
      origin: "https://attacker-bucket.s3.amazonaws.com",
      hasCookie: true,
      hasAuthorization: false,
      offeredSubprotocols: [],
      now: NOW,
    });
    const step = explanation.steps.find((candidate) => candidate.check === "credentials");
    expect(step).toMatchObject({ outcome: "fail" });
    expect(step?.message).toContain("credentials: allow never extends to https://*.amazonaws.com");
  });
});

describe("public-suffix-parents.ts (generated from tldts's Public Suffix List)", () => {
  it("is what server/cli/psl-parents.ts generates from the installed tldts (regenerate on a tldts upgrade)", () => {
    expect([...PUBLIC_SUFFIX_PARENTS]).toEqual(computePublicSuffixParents());
  });

  it("each parent is no public suffix itself, and its example is one, strictly beneath it", () => {
    expect(PUBLIC_SUFFIX_PARENTS.size).toBeGreaterThan(400);
    for (const [parent, example] of PUBLIC_SUFFIX_PARENTS) {
      expect(getPublicSuffix(parent, { allowPrivateDomains: true })).not.toBe(parent);
      expect(example.endsWith(`.${parent}`)).toBe(true);
      const concrete = example.startsWith("*.") ? `x${example.slice(1)}` : example;
      expect(getPublicSuffix(concrete, { allowPrivateDomains: true }), example).toBe(concrete);
      // Every parent is a legal wildcard suffix, so the credential rule is what stops it.
      expect(parsePattern(`https://*.${parent}`).ok, parent).toBe(true);
    }
  });

  it("covers the cases of the review and leaves registrable domains alone", () => {
    expect(publicSuffixBelow("amazonaws.com")).toBe("s3.amazonaws.com");
    expect(publicSuffixBelow("amazonaws.com.")).toBe("s3.amazonaws.com");
    for (const domain of ["example.com", "github.io", "alice.github.io", "localhost", "co.uk"]) {
      expect(publicSuffixBelow(domain), domain).toBeNull();
    }
  });

  it("credentialsRisk says nothing about exact and any-port entries", () => {
    for (const pattern of ["https://attacker.s3.amazonaws.com", "http://localhost:*", "https://amazonaws.com"]) {
      const parsed = parsePattern(pattern);
      expect(parsed.ok && credentialsRisk(parsed.value)).toBeNull();
    }
  });
});
