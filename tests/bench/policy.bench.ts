/**
 * bench:policy — decision cost of the policy engine at 10, 1k, 10k and 50k patterns,
 * side by side in the same run with the usual implementation: an array of anchored
 * RegExps tested in a loop (built the way blog posts do it: escape dots, `*.` becomes
 * `([a-z0-9-]+\.)+`).
 *
 * Workload: half the patterns are exact origins, half wildcards; half the lookups hit
 * (an exact origin or a subdomain under a wildcard), half miss (lookalike hosts that a
 * correct matcher must refuse). The engine figure is a full `decideHandshake` (Origin
 * parsing with the WHATWG URL parser, matching, credential/token/subprotocol checks); the
 * "match only" column is `compiled.match` on a pre-parsed origin.
 *
 * Method: warm-up, then time-boxed rounds timed with process.hrtime.bigint; the median round
 * is reported. Engine rounds are interleaved across sizes (load from other processes then
 * hits every size alike); the RegExp loop is measured one size at a time with only its own
 * RegExps alive, and its rounds are time-boxed so the whole run stays well under 60 s.
 * Before timing, both implementations are checked against the expected answers.
 *
 * Goals (SPEC §9): engine at 50k ≤ 2× engine at 10; ≥ 100× faster than the RegExp loop at 10k.
 * Run: npm run bench:policy
 */
import os from "node:os";
import {
  type CompiledPolicy,
  compilePolicy,
  decideHandshake,
  defaultPolicyDocument,
  type HandshakeRequest,
  type ParsedOrigin,
  parseOrigin,
} from "../../server/policy";

const SIZES = [10, 1_000, 10_000, 50_000];
const LOOKUPS = 4_096;
const ENGINE_ROUNDS = 15;
const ENGINE_ROUND_MS = 150;
const REGEXP_ROUNDS = 7;
const REGEXP_ROUND_MS = 400;
/** The RegExp loop at 50k takes tens of ms per lookup: check its answers for about this long. */
const REGEXP_CHECK_MS = 1_000;
const NOW = Date.UTC(2030, 0, 1);

interface Workload {
  patterns: string[];
  origins: string[];
  expected: boolean[];
}

/** Deterministic pseudo-random numbers (mulberry32) so every run measures the same lookups. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function buildWorkload(size: number): Workload {
  const patterns = Array.from({ length: size }, (_, index) =>
    index % 2 === 0 ? `https://app${index}.example.org` : `https://*.tenant${index}.example.com`,
  );
  const next = random(size);
  const origins: string[] = [];
  const expected: boolean[] = [];
  for (let lookup = 0; lookup < LOOKUPS; lookup++) {
    const index = Math.floor(next() * size);
    const hit = lookup % 2 === 0;
    const wildcard = index % 2 === 1;
    if (hit)
      origins.push(wildcard ? `https://user${lookup}.tenant${index}.example.com` : `https://app${index}.example.org`);
    else {
      // Misses that look like the real thing: the apex of a wildcard, a suffix lookalike,
      // a prefix lookalike, an http downgrade.
      const kind = lookup % 8;
      if (wildcard)
        origins.push(kind < 4 ? `https://tenant${index}.example.com` : `https://eviltenant${index}.example.com`);
      else origins.push(kind < 4 ? `https://app${index}.example.org.evil.net` : `http://app${index}.example.org`);
    }
    expected.push(hit);
  }
  return { patterns, origins, expected };
}

/** The usual hand-rolled matcher: one anchored RegExp per pattern, tested in order. */
function buildRegExps(patterns: readonly string[]): RegExp[] {
  return patterns.map((pattern) => {
    const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\\\.\*/g, ".*");
    const source = escaped.replace("://*\\.", "://([a-z0-9-]+\\.)+");
    return new RegExp(`^${source}$`);
  });
}

function regexpAllows(regexps: readonly RegExp[], origin: string): boolean {
  for (const regexp of regexps) if (regexp.test(origin)) return true;
  return false;
}

function compile(patterns: readonly string[]): CompiledPolicy {
  return compilePolicy({ ...defaultPolicyDocument(), origins: patterns.map((pattern) => ({ pattern })) }, NOW, {
    version: 1,
    tenant: "bench",
  });
}

/** Runs `body` over the lookups for about `roundMs` (clock checked every `batch` lookups); ns per lookup. */
function timeRound(roundMs: number, batch: number, body: (index: number) => number): number {
  const roundNs = BigInt(roundMs) * 1_000_000n;
  const started = process.hrtime.bigint();
  let operations = 0;
  let elapsed = 0n;
  do {
    for (let done = 0; done < batch; done++) {
      sink += body(operations % LOOKUPS);
      operations++;
    }
    elapsed = process.hrtime.bigint() - started;
  } while (elapsed < roundNs);
  return Number(elapsed) / operations;
}

/** Accumulates every measured result so the JIT cannot drop the work as dead code. */
let sink = 0;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface EngineSubject {
  size: number;
  compileMs: number;
  decide: (index: number) => number;
  match: (index: number) => number;
  decideSamples: number[];
  matchSamples: number[];
}

function engineSubject(workload: Workload): EngineSubject {
  const compileStarted = process.hrtime.bigint();
  const compiled = compile(workload.patterns);
  const compileMs = Number(process.hrtime.bigint() - compileStarted) / 1e6;
  const requests: HandshakeRequest[] = workload.origins.map((origin) => ({
    origin,
    hasCookie: false,
    hasAuthorization: false,
    offeredSubprotocols: [],
    now: NOW,
  }));
  const parsed = workload.origins.map((origin) => parseOrigin(origin) as ParsedOrigin & { kind: "origin" });
  // The engine must give the expected answer on every lookup before anything is timed.
  workload.origins.forEach((origin, index) => {
    if (decideHandshake(compiled, requests[index]!).allowed !== workload.expected[index]) {
      throw new Error(`engine disagrees on ${origin}: expected ${workload.expected[index]}`);
    }
  });
  return {
    size: workload.patterns.length,
    compileMs,
    decide: (index) => (decideHandshake(compiled, requests[index]!).allowed ? 1 : 0),
    match: (index) => (compiled.match(parsed[index]!) === null ? 0 : 1),
    decideSamples: [],
    matchSamples: [],
  };
}

/**
 * The engine at every size, measured in interleaved rounds (each round visits every size,
 * in a rotating order), so that load from other processes on a shared machine hits all
 * sizes alike and the ratios stay meaningful. Median of the rounds per size.
 */
function benchEngine(
  workloads: readonly Workload[],
): Map<number, { compileMs: number; decideNs: number; matchNs: number }> {
  const subjects = workloads.map(engineSubject);
  for (const subject of subjects) {
    timeRound(ENGINE_ROUND_MS, 64, subject.decide); // warm-up: JIT and caches
    timeRound(ENGINE_ROUND_MS, 64, subject.match);
  }
  for (let round = 0; round < ENGINE_ROUNDS; round++) {
    for (let step = 0; step < subjects.length; step++) {
      const subject = subjects[(round + step) % subjects.length]!;
      subject.decideSamples.push(timeRound(ENGINE_ROUND_MS, 64, subject.decide));
      subject.matchSamples.push(timeRound(ENGINE_ROUND_MS, 64, subject.match));
    }
  }
  return new Map(
    subjects.map((subject) => [
      subject.size,
      { compileMs: subject.compileMs, decideNs: median(subject.decideSamples), matchNs: median(subject.matchSamples) },
    ]),
  );
}

/** The RegExp loop at one size; only this size's RegExps are alive while it runs. */
function benchRegExps(workload: Workload): number {
  const regexps = buildRegExps(workload.patterns);
  // Slow at 50k: check its answers on as many lookups as fit in REGEXP_CHECK_MS.
  const checkStarted = process.hrtime.bigint();
  for (let index = 0; index < LOOKUPS; index++) {
    if (regexpAllows(regexps, workload.origins[index]!) !== workload.expected[index]) {
      throw new Error(`RegExp loop disagrees on ${workload.origins[index]}: expected ${workload.expected[index]}`);
    }
    if (index >= 16 && process.hrtime.bigint() - checkStarted > BigInt(REGEXP_CHECK_MS) * 1_000_000n) break;
  }
  const body = (index: number) => (regexpAllows(regexps, workload.origins[index]!) ? 1 : 0);
  timeRound(REGEXP_ROUND_MS, 1, body); // warm-up
  return median(Array.from({ length: REGEXP_ROUNDS }, () => timeRound(REGEXP_ROUND_MS, 1, body)));
}

function format(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

function perSecond(ns: number): string {
  return Math.round(1e9 / ns).toLocaleString("en-US");
}

function main(): void {
  const started = Date.now();
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `bench:policy — ${new Date().toISOString()} — Node ${process.version}, ${os.cpus().length} cores (${cpu})`,
  );
  console.log(`workload: half exact / half wildcard patterns; ${LOOKUPS} lookups, half hits / half lookalike misses\n`);

  const workloads = SIZES.map(buildWorkload);
  const engine = benchEngine(workloads);
  console.error("  measured the engine");
  const regexp = new Map<number, number>();
  for (const workload of workloads) {
    regexp.set(workload.patterns.length, benchRegExps(workload));
    console.error(`  measured the RegExp loop at ${workload.patterns.length} patterns`);
  }

  const base = engine.get(SIZES[0]!)!.decideNs;
  console.log(
    "| patterns | engine ns/decision | engine decisions/s | match only | RegExp loop ns/decision | RegExp decisions/s | RegExp ÷ engine | engine ÷ engine@10 | compile |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const size of SIZES) {
    const row = engine.get(size)!;
    const loop = regexp.get(size)!;
    console.log(
      `| ${size.toLocaleString("en-US")} | ${format(row.decideNs)} | ${perSecond(row.decideNs)} | ${format(row.matchNs)} | ${format(loop)} | ${perSecond(loop)} | ${(loop / row.decideNs).toFixed(1)}× | ${(row.decideNs / base).toFixed(2)}× | ${row.compileMs.toFixed(1)} ms |`,
    );
  }
  const flat = engine.get(50_000)!.decideNs / base;
  const speedup = regexp.get(10_000)! / engine.get(10_000)!.decideNs;
  console.log("");
  console.log(`goal: engine@50k ≤ 2× engine@10 → ${flat.toFixed(2)}× ${flat <= 2 ? "PASS" : "FAIL"}`);
  console.log(
    `goal: ≥ 100× faster than the RegExp loop at 10k → ${speedup.toFixed(0)}× ${speedup >= 100 ? "PASS" : "FAIL"}`,
  );
  console.log(`total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (sink === -1) console.log(sink); // keeps `sink` observable
}

main();
