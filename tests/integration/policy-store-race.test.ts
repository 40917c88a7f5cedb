/**
 * The policy store's read race (issue 12 item 2), made deterministic: a full reload's SELECT
 * runs against the real Postgres, but its result is held at a gate (a wrapper around the
 * real pool) while the test commits changes and waits until the store has applied them
 * through NOTIFY (one-tenant reloads, not gated). Then the gate opens and the older full
 * result is applied. It must not install an older policy over a newer one, drop a tenant
 * created after its read, or bring back a tenant deleted after its read.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "../../server/db/pool";
import { createLogger } from "../../server/log";
import { PolicyStore, type TenantRuntime } from "../../server/policy-store/policy-store";
import { configuredSecretBox } from "../../server/secrets/secrets-key";
import { createTenant, query, updatePolicy } from "../helpers/fixtures";
import { eventually } from "../helpers/gateway";
import { createTestDatabase } from "../helpers/test-db";

/** A real pool whose full-policy SELECT results can be held back until release(). */
class GatedPool {
  private gate: { armed: boolean; held: Array<() => void>; onHeld: (() => void) | null } = {
    armed: false,
    held: [],
    onHeld: null,
  };
  readonly pool: pg.Pool;

  constructor(readonly real: pg.Pool) {
    this.pool = new Proxy(real, {
      get: (target, prop) => {
        if (prop === "query") return (text: string, values?: unknown[]) => this.query(text, values);
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  /** The next full reload's result will wait; resolves once it has been read and is held. */
  arm(): Promise<void> {
    this.gate.armed = true;
    return new Promise((resolve) => {
      this.gate.onHeld = resolve;
    });
  }

  release(): void {
    this.gate.armed = false;
    for (const go of this.gate.held.splice(0)) go();
  }

  private async query(text: string, values?: unknown[]) {
    const result = await this.real.query(text, values);
    const fullReload = text.includes("from tenant t join policy p") && !text.includes("where t.id");
    if (fullReload && this.gate.armed) {
      await new Promise<void>((resolve) => {
        this.gate.held.push(resolve);
        this.gate.onHeld?.();
      });
    }
    return result;
  }
}

let db: string;
let gated: GatedPool;
let store: PolicyStore;

/** Resolves with the next `reload` event for `slug` that satisfies `test`. */
function reloaded(slug: string, test: (r: TenantRuntime | null) => boolean): Promise<TenantRuntime | null> {
  return new Promise((resolve) => {
    const listener = (s: string, runtime: TenantRuntime | null) => {
      if (s !== slug || !test(runtime)) return;
      store.off("reload", listener);
      resolve(runtime);
    };
    store.on("reload", listener);
  });
}

beforeAll(async () => {
  db = await createTestDatabase("store_race");
  gated = new GatedPool(createPool(db, { max: 4 }));
  store = new PolicyStore({
    pool: gated.pool,
    connectionString: db,
    gatewayId: "race",
    logger: createLogger({ name: "race", level: "silent" }),
    // Only the reloads this test starts, and NOTIFY, touch the store.
    reconcileIntervalMs: 600_000,
    secrets: configuredSecretBox(),
  });
  await store.start();
  await store.listening;
});
afterAll(async () => {
  gated?.release();
  await store?.stop();
  await gated?.real.end();
});

describe("a full reload whose result is older than what NOTIFY already brought", () => {
  it("never installs an older policy over a newer one, nor drops a tenant created after its read", async () => {
    const tenant = await createTenant(db, { policy: { origins: ["https://v1.example.com"] } });
    await eventually(() => store.get(tenant.slug)?.version === 1);

    const held = gated.arm();
    const full = store.reloadAll(); // reads version 1 and no `late` tenant, then waits at the gate
    await held;

    const v2 = reloaded(tenant.slug, (r) => r?.version === 2);
    await updatePolicy(db, tenant.id, { origins: ["https://v2.example.com"] });
    await v2;
    const lateSlug = `late-${Date.now().toString(36)}`;
    const late = reloaded(lateSlug, (r) => r !== null);
    await createTenant(db, { slug: lateSlug });
    await late;

    gated.release();
    await full;
    expect(store.get(tenant.slug)?.version).toBe(2);
    expect(store.get(tenant.slug)?.row.document.origins.map((o) => o.pattern)).toEqual(["https://v2.example.com"]);
    expect(store.get(lateSlug)).toBeDefined();
  });

  it("does not bring back a tenant deleted after its read", async () => {
    const tenant = await createTenant(db);
    await eventually(() => store.get(tenant.slug));

    const held = gated.arm();
    const full = store.reloadAll(); // still sees the tenant
    await held;

    const gone = reloaded(tenant.slug, (r) => r === null);
    await query(db, "delete from tenant where id = $1", [tenant.id]);
    await gone;

    gated.release();
    await full;
    expect(store.get(tenant.slug)).toBeUndefined();
    // A later read that does not see it either leaves it gone (and forgets the tombstone).
    await store.reloadAll();
    expect(store.get(tenant.slug)).toBeUndefined();
  });

  it("still drops a tenant that was deleted before the read began, and installs what is newer", async () => {
    const kept = await createTenant(db);
    const dropped = await createTenant(db);
    await eventually(() => store.get(kept.slug) && store.get(dropped.slug));
    // Changes the store does not hear about: NOTIFY is suppressed for them.
    await query(db, "alter table policy disable trigger policy_notify");
    try {
      await updatePolicy(db, kept.id, { origins: ["https://new.example.com"] });
      await query(db, "delete from tenant where id = $1", [dropped.id]);
    } finally {
      await query(db, "alter table policy enable trigger policy_notify");
    }
    expect(store.get(dropped.slug)).toBeDefined();
    await store.reloadAll();
    expect(store.get(dropped.slug)).toBeUndefined();
    expect(store.get(kept.slug)?.version).toBe(2);
  });
});
