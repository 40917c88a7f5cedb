/**
 * bench:policy-save — what a policy PUT costs at 10k, 50k and 100k allowlist entries
 * (MAX_POLICY_ORIGINS is 100,000), against a real Postgres, side by side in the same run
 * with the write path it replaced.
 *
 * Scenarios per size, each through `savePolicy` (the one writer: validation, lock, diff,
 * revision snapshot, in one transaction):
 *   create   the whole allowlist is new (empty before);
 *   same     the same document again (nothing to write but the revision);
 *   change   a tenth replaced and another tenth's notes edited.
 * Columns: wall time; `checkPolicyDocument` alone (validation + normalisation, synchronous
 * CPU); the longest event-loop stall during the save (monitorEventLoopDelay: how long any
 * other request of the dashboard process could have waited); write statements, counted as
 * the growth of `policy.generation` (every statement on the allowlist bumps it once).
 *
 * Baseline ("row-wise"): the write path before this change — Prisma createMany in chunks of
 * 5,000 and one UPDATE per changed entry — with everything else identical, in the same run
 * (skipped at 100k, where it runs past the 60 s transaction timeout on a loaded machine).
 *
 * Run: npm run bench:policy-save
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { policyColumns, toJsonValue } from "../../server/domain/policy/document";
import { checkPolicyDocument, readPolicy, savePolicy } from "../../server/domain/policy/save-policy";
import { createTenant } from "../../server/domain/tenants/create-tenant";
import type { PolicyDocument } from "../../server/policy/document";
import { benchDatabase, machineLine } from "./kit";

const SIZES = [10_000, 50_000, 100_000];
const BASELINE_SIZES = new Set([10_000, 50_000]);
const actor = { id: null, label: "bench" };

function document(count: number, variant: "base" | "change" = "base") {
  const tenth = Math.floor(count / 10);
  return {
    mode: "enforce",
    origins: Array.from({ length: count }, (_, i) => {
      if (variant === "change" && i < tenth) return { pattern: `https://new${i}.example.net` };
      const note = variant === "change" && i < 2 * tenth ? "edited" : i % 10 === 0 ? `entry ${i}` : undefined;
      return { pattern: `https://app${i}.team${i % 500}.example.com`, ...(note ? { note } : {}) };
    }),
    credentials: "forbid",
    token: "off",
    missingOrigin: "reject",
    subprotocols: [],
    limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 10000, handshakesPerMinutePerIp: 600 },
  };
}

/** savePolicy as it was before this change (row-wise allowlist writes), for the baseline. */
async function rowWiseSave(db: PrismaClient, slug: string, raw: unknown): Promise<void> {
  const now = new Date();
  const { document: doc } = checkPolicyDocument(raw, now);
  await db.$transaction(
    async (tx) => {
      const tenant = await tx.tenant.findUniqueOrThrow({ where: { slug } });
      const [locked] = await tx.$queryRaw<Array<{ version: number }>>`
        select version from policy where tenant_id = ${tenant.id}::uuid for update`;
      const version = (locked?.version ?? 0) + 1;
      await tx.policy.update({
        where: { tenantId: tenant.id },
        data: { ...policyColumns(doc), version, updatedAt: now, updatedBy: actor.label },
      });
      await rowWiseOrigins(tx, tenant.id, doc, now);
      const saved = await readPolicy(tx, tenant.id);
      await tx.policyRevision.create({
        data: { tenantId: tenant.id, version, document: toJsonValue(saved.document), author: actor.label },
      });
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
}

async function rowWiseOrigins(
  tx: Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0],
  tenantId: string,
  doc: PolicyDocument,
  now: Date,
) {
  const existing = await tx.allowedOrigin.findMany({
    where: { tenantId },
    select: { id: true, pattern: true, note: true, expiresAt: true },
  });
  const wanted = new Map(doc.origins.map((o) => [o.pattern, o]));
  const byPattern = new Map(existing.map((o) => [o.pattern, o]));
  const removed = existing.filter((o) => !wanted.has(o.pattern)).map((o) => o.id);
  for (let i = 0; i < removed.length; i += 5000) {
    await tx.allowedOrigin.deleteMany({ where: { id: { in: removed.slice(i, i + 5000) } } });
  }
  const added = doc.origins.filter((o) => !byPattern.has(o.pattern));
  for (let i = 0; i < added.length; i += 5000) {
    await tx.allowedOrigin.createMany({
      data: added.slice(i, i + 5000).map((o) => ({
        tenantId,
        pattern: o.pattern,
        note: o.note,
        expiresAt: o.expiresAt ? new Date(o.expiresAt) : null,
        createdAt: now,
        createdBy: actor.label,
      })),
    });
  }
  for (const entry of doc.origins) {
    const old = byPattern.get(entry.pattern);
    if (!old) continue;
    const expiresAt = entry.expiresAt ? new Date(entry.expiresAt) : null;
    if (old.note !== entry.note || (old.expiresAt?.getTime() ?? null) !== (expiresAt?.getTime() ?? null)) {
      await tx.allowedOrigin.update({ where: { id: old.id }, data: { note: entry.note, expiresAt } });
    }
  }
}

interface Row {
  size: number;
  scenario: string;
  path: "bulk" | "row-wise";
  ms: number;
  stallMs: number;
  statements: number;
}

async function measure(
  db: PrismaClient,
  slug: string,
  path: Row["path"],
  save: () => Promise<unknown>,
): Promise<Omit<Row, "size" | "scenario">> {
  const generation = async () =>
    (
      await db.$queryRaw<Array<{ g: number }>>`
        select p.generation as g from policy p join tenant t on t.id = p.tenant_id where t.slug = ${slug}`
    )[0]!.g;
  const before = await generation();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = performance.now();
  await save();
  const ms = performance.now() - started;
  loop.disable();
  return { path, ms, stallMs: loop.max / 1e6, statements: (await generation()) - before - 1 };
}

async function main(): Promise<void> {
  const database = await benchDatabase("policy_save");
  const db = createPrisma(database.url);
  const rows: Row[] = [];
  const checks: Array<{ size: number; ms: number }> = [];
  try {
    console.log(machineLine(database.postgresVersion));
    for (const size of SIZES) {
      const base = document(size);
      const changed = document(size, "change");
      const started = performance.now();
      checkPolicyDocument(base, new Date());
      checks.push({ size, ms: performance.now() - started });
      for (const path of ["bulk", "row-wise"] as const) {
        if (path === "row-wise" && !BASELINE_SIZES.has(size)) continue;
        const slug = `bench-${path}-${size}`;
        await createTenant({
          db,
          input: { slug, name: slug },
          actor,
          document: { ...base, origins: [] } as never,
        });
        let version = 1;
        const save = (doc: unknown) =>
          path === "bulk"
            ? savePolicy({ db, slug, expectedVersion: version++, document: doc, actor })
            : rowWiseSave(db, slug, doc);
        for (const [scenario, doc] of [
          ["create", base],
          ["same", base],
          ["change", changed],
        ] as const) {
          const result = await measure(db, slug, path, () => save(doc));
          rows.push({ size, scenario, ...result });
          console.log(
            `${String(size).padStart(7)} ${scenario.padEnd(6)} ${path.padEnd(8)} ${result.ms.toFixed(0).padStart(7)} ms  stall ${result.stallMs.toFixed(0).padStart(5)} ms  statements ${result.statements}`,
          );
        }
      }
    }
    console.log(
      "\n| entries | scenario | bulk (this) | row-wise (before) | ratio | longest stall (bulk) | statements bulk / row-wise |",
    );
    console.log("|---:|---|---:|---:|---:|---:|---|");
    for (const size of SIZES) {
      for (const scenario of ["create", "same", "change"]) {
        const bulk = rows.find((r) => r.size === size && r.scenario === scenario && r.path === "bulk")!;
        const old = rows.find((r) => r.size === size && r.scenario === scenario && r.path === "row-wise");
        console.log(
          `| ${size.toLocaleString("en")} | ${scenario} | ${(bulk.ms / 1000).toFixed(2)} s | ${old ? `${(old.ms / 1000).toFixed(2)} s` : "n/a"} | ${old ? `${(old.ms / bulk.ms).toFixed(1)}×` : "n/a"} | ${bulk.stallMs.toFixed(0)} ms | ${bulk.statements} / ${old ? old.statements : "n/a"} |`,
        );
      }
    }
    console.log("\nvalidation + normalisation alone (checkPolicyDocument):");
    for (const c of checks) console.log(`  ${c.size.toLocaleString("en")} entries: ${c.ms.toFixed(0)} ms`);
  } finally {
    await db.$disconnect();
    await database.drop();
  }
}

await main();
