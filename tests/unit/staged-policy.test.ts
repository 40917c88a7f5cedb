/**
 * Staged versions at enforcement time (server/policy-store/staged-policy.ts): which policy
 * decides a client under shadow and canary, the stable address buckets of a percentage
 * canary, and the guard-tripped hook's delivery.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../server/policy";
import { defaultPolicyDocument } from "../../server/policy/document";
import {
  auditOutcome,
  canaryAppliesToGateway,
  canaryBucket,
  choosePolicy,
  type StagedRuntime,
} from "../../server/policy-store/staged-policy";
import { emitRolloutGuardTripped, onRolloutGuardTripped } from "../../server/rollout/guard-tripped";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const active = compilePolicy({ ...defaultPolicyDocument(), origins: [{ pattern: "https://a.example.com" }] }, NOW, {
  version: 1,
  tenant: "acme",
});
const stagedPolicy = compilePolicy(
  { ...defaultPolicyDocument(), origins: [{ pattern: "https://b.example.com" }] },
  NOW,
  {
    version: 2,
    tenant: "acme",
  },
);

function staged(overrides: Partial<StagedRuntime>): StagedRuntime {
  return {
    rolloutId: "r1",
    version: 2,
    stage: "shadow",
    compiled: stagedPolicy,
    everyone: false,
    percent: 0,
    guardMaxNewRefusalsPerMinute: null,
    ...overrides,
  };
}

describe("choosePolicy", () => {
  it("without a staged version: the active policy, nothing else", () => {
    expect(choosePolicy(active, null, "10.0.0.1")).toEqual({
      enforced: active,
      shadow: null,
      guardBaseline: null,
      staged: null,
    });
  });

  it("shadow: the active policy decides, the staged one is consulted", () => {
    const choice = choosePolicy(active, staged({}), "10.0.0.1");
    expect(choice.enforced).toBe(active);
    expect(choice.shadow).toBe(stagedPolicy);
  });

  it("canary by label: the staged policy for every client of a labelled gateway", () => {
    const s = staged({ stage: "canary", everyone: true });
    for (const address of ["10.0.0.1", "192.0.2.7", "2001:db8::1"]) {
      expect(choosePolicy(active, s, address).enforced).toBe(stagedPolicy);
    }
    expect(canaryAppliesToGateway(["canary"], ["eu-west", "canary"])).toBe(true);
    expect(canaryAppliesToGateway(["canary"], [])).toBe(false);
  });

  it("canary by label on an unlabelled gateway: the active policy, no guard counting", () => {
    expect(choosePolicy(active, staged({ stage: "canary" }), "10.0.0.1")).toMatchObject({
      enforced: active,
      staged: null,
    });
  });

  it("canary by percent: the staged policy exactly for the addresses in the first buckets; the guard sees the active one", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 1, max: 99 }), (address, percent) => {
        const choice = choosePolicy(
          active,
          staged({ stage: "canary", percent, guardMaxNewRefusalsPerMinute: 5 }),
          address,
        );
        const inCanary = canaryBucket(address) < percent;
        expect(choice.enforced).toBe(inCanary ? stagedPolicy : active);
        expect(choice.guardBaseline).toBe(inCanary ? active : null);
      }),
    );
  });

  it("buckets are stable and spread over 0-99", () => {
    expect(canaryBucket("203.0.113.9")).toBe(canaryBucket("203.0.113.9"));
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(canaryBucket(`10.${i >> 8}.${i & 255}.1`));
    expect(Math.min(...seen)).toBe(0);
    expect(Math.max(...seen)).toBe(99);
    expect(seen.size).toBeGreaterThan(95);
  });
});

describe("auditOutcome", () => {
  it("labels decisions as audit rows do", () => {
    expect(auditOutcome({ allowed: false, enforced: true, reason: "origin_not_allowed" })).toEqual({
      decision: "rejected",
      reason: "origin_not_allowed",
    });
    expect(auditOutcome({ allowed: true, enforced: true, reason: "allowed" })).toEqual({
      decision: "accepted",
      reason: "allowed",
    });
    expect(
      auditOutcome({ allowed: true, enforced: false, reason: "allowed", wouldReject: "origin_not_allowed" }),
    ).toEqual({ decision: "report_only", reason: "origin_not_allowed" });
  });
});

describe("onRolloutGuardTripped", () => {
  it("delivers to every listener, collects a failing one's error, and stops after removal", async () => {
    const seen: string[] = [];
    const off = onRolloutGuardTripped((e) => {
      seen.push(e.rolloutId);
    });
    const offFailing = onRolloutGuardTripped(() => {
      throw new Error("listener broke");
    });
    const event = {
      tenant: "acme",
      tenantId: "t1",
      rolloutId: "r1",
      version: 2,
      stage: "canary" as const,
      newRefusals: 6,
      maxNewRefusalsPerMinute: 5,
      gatewayId: "gw-1",
      at: new Date(NOW),
    };
    const errors = await emitRolloutGuardTripped(event);
    expect(seen).toEqual(["r1"]);
    expect(errors).toHaveLength(1);
    off();
    offFailing();
    expect(await emitRolloutGuardTripped(event)).toEqual([]);
    expect(seen).toEqual(["r1"]);
  });
});
