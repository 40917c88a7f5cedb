/**
 * The dashboard's pure pieces: policy diffs (what history and conflicts show), replaying a
 * diff onto another version (conflict "re-apply"), If-Match parsing, input schemas and the
 * role table.
 */
import { describe, expect, it } from "vitest";
import { optionalIfMatch, requireIfMatch } from "../../app/_lib/api/if-match";
import { applyDiff } from "../../app/_lib/policy/apply-diff";
import { can, ROLE_PERMISSIONS, ROLES } from "../../server/domain/auth/permissions";
import { AppError } from "../../server/domain/errors";
import { diffDocuments, isEmptyDiff } from "../../server/domain/policy/diff-documents";
import { createTenantInput, updateTenantInput } from "../../server/domain/tenants/tenant-input";
import { defaultPolicyDocument, type PolicyDocument } from "../../server/policy/document";

function doc(patterns: Array<string | [string, string | null, string | null]>, extra: Partial<PolicyDocument> = {}) {
  return {
    ...defaultPolicyDocument(),
    origins: patterns.map((p) =>
      typeof p === "string"
        ? { pattern: p, note: null, expiresAt: null }
        : { pattern: p[0], note: p[1], expiresAt: p[2] },
    ),
    ...extra,
  };
}

describe("diffDocuments", () => {
  it("reports added, removed and changed entries by pattern, whatever the order", () => {
    const before = doc(["https://a.example.com", ["https://b.example.com", "old", null], "https://c.example.com"]);
    const after = doc([
      "https://d.example.com",
      ["https://b.example.com", "new", "2030-01-01T00:00:00.000Z"],
      "https://a.example.com",
    ]);
    const diff = diffDocuments(before, after);
    expect(diff.origins.added.map((o) => o.pattern)).toEqual(["https://d.example.com"]);
    expect(diff.origins.removed.map((o) => o.pattern)).toEqual(["https://c.example.com"]);
    expect(diff.origins.changed).toEqual([
      {
        pattern: "https://b.example.com",
        before: { note: "old", expiresAt: null },
        after: { note: "new", expiresAt: "2030-01-01T00:00:00.000Z" },
      },
    ]);
    expect(diff.fields).toEqual([]);
  });

  it("treats equal instants in different notations as unchanged", () => {
    const a = doc([["https://a.example.com", null, "2030-01-01T01:00:00+01:00"]]);
    const b = doc([["https://a.example.com", null, "2030-01-01T00:00:00.000Z"]]);
    expect(isEmptyDiff(diffDocuments(a, b))).toBe(true);
  });

  it("reports every changed field, limits one by one", () => {
    const diff = diffDocuments(
      doc([]),
      doc([], {
        mode: "report-only",
        token: "required",
        subprotocols: ["chat"],
        limits: { ...defaultPolicyDocument().limits, maxMessageBytes: 10, maxConnections: 5 },
      }),
    );
    expect(diff.fields.map((f) => f.path)).toEqual([
      "mode",
      "token",
      "subprotocols",
      "limits.maxMessageBytes",
      "limits.maxConnections",
    ]);
    expect(diff.fields[0]).toEqual({ path: "mode", before: "enforce", after: "report-only" });
  });

  it("against nothing (first revision) lists everything as added/set", () => {
    const diff = diffDocuments(null, doc(["https://a.example.com"]));
    expect(diff.origins.added).toHaveLength(1);
    expect(diff.fields.map((f) => f.path)).toContain("mode");
  });
});

describe("applyDiff (re-apply my changes on a newer version)", () => {
  it("replays additions, removals, edits and field changes onto someone else's version", () => {
    const base = doc(["https://a.example.com", "https://b.example.com"]);
    const mine = doc(["https://a.example.com", ["https://c.example.com", "mine", null]], { token: "required" });
    const theirs = doc(["https://a.example.com", "https://b.example.com", "https://t.example.com"], {
      mode: "report-only",
    });
    const merged = applyDiff(theirs, diffDocuments(base, mine));
    expect(merged.origins.map((o) => o.pattern)).toEqual([
      "https://a.example.com",
      "https://t.example.com",
      "https://c.example.com",
    ]);
    expect(merged.mode).toBe("report-only");
    expect(merged.token).toBe("required");
    // The diff from theirs to the merge is exactly my change.
    const replayed = diffDocuments(theirs, merged);
    expect(replayed.origins.added.map((o) => o.pattern)).toEqual(["https://c.example.com"]);
    expect(replayed.origins.removed.map((o) => o.pattern)).toEqual(["https://b.example.com"]);
    expect(replayed.fields.map((f) => f.path)).toEqual(["token"]);
  });

  it("does not mutate its input", () => {
    const theirs = doc(["https://a.example.com"]);
    const copy = structuredClone(theirs);
    applyDiff(theirs, diffDocuments(doc([]), doc(["https://x.example.com"], { subprotocols: ["v2"] })));
    expect(theirs).toEqual(copy);
  });
});

describe("If-Match", () => {
  const req = (value?: string) =>
    new Request("http://x/", { headers: value === undefined ? {} : { "If-Match": value } });
  it.each([
    ['"3"', 3],
    ["3", 3],
    ['W/"12"', 12],
    [' "7" ', 7],
  ])("reads %s", (header, version) => {
    expect(requireIfMatch(req(header))).toBe(version);
  });
  it("is required (428) when absent, 400 when unreadable", () => {
    expect(() => requireIfMatch(req())).toThrow(
      expect.objectContaining({ status: 428, code: "precondition_required" }),
    );
    expect(optionalIfMatch(req())).toBeUndefined();
    for (const bad of ["*", '"abc"', "1,2", "-1"]) {
      expect(() => requireIfMatch(req(bad))).toThrow(AppError);
    }
  });
});

describe("tenant input", () => {
  it("accepts DNS-label slugs only", () => {
    for (const slug of ["a", "payments-prod", "a1-b2", "x".repeat(63)]) {
      expect(createTenantInput.safeParse({ slug, name: "n" }).success, slug).toBe(true);
    }
    for (const slug of ["", "-a", "a-", "A", "a_b", "a.b", "x".repeat(64), "é"]) {
      expect(createTenantInput.safeParse({ slug, name: "n" }).success, slug).toBe(false);
    }
  });

  it("accepts ws:// and wss:// upstreams only, without credentials or query", () => {
    const up = (upstreamUrl: string | null) => createTenantInput.safeParse({ slug: "a", name: "n", upstreamUrl });
    expect(up("wss://Backend.Example.com:9000/socket/")).toMatchObject({
      success: true,
      data: { upstreamUrl: "wss://backend.example.com:9000/socket" },
    });
    expect(up("")).toMatchObject({ success: true, data: { upstreamUrl: null } });
    expect(up(null).success).toBe(true);
    for (const bad of ["http://x", "https://x", "ws://u:p@x", "ws://x/?a=1", "ws://x/#f", "not a url", "wss://"]) {
      expect(up(bad).success, bad).toBe(false);
    }
  });

  it("refuses a slug change and unknown fields on update", () => {
    expect(updateTenantInput.safeParse({ slug: "other" }).success).toBe(false);
    expect(updateTenantInput.safeParse({ nmae: "typo" }).success).toBe(false);
    expect(updateTenantInput.safeParse({ name: "Renamed" }).success).toBe(true);
  });
});

describe("roles", () => {
  it("are strictly nested: each role can do everything the one below can", () => {
    for (const permission of ROLE_PERMISSIONS.viewer) expect(can("editor", permission)).toBe(true);
    for (const permission of ROLE_PERMISSIONS.editor) expect(can("admin", permission)).toBe(true);
    expect(ROLES).toEqual(["viewer", "editor", "admin"]);
  });

  it("keeps writes away from viewers and tenant/user/token management away from editors", () => {
    for (const p of ["policy.write", "tenants.write", "users.manage", "tokens.manage"] as const)
      expect(can("viewer", p)).toBe(false);
    for (const p of ["tenants.write", "tenants.rotate_secret", "users.manage", "tokens.manage"] as const) {
      expect(can("editor", p)).toBe(false);
    }
  });
});
