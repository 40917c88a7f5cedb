/**
 * Which Node.js runtimes OriginGate supports, and the warning `npm start` prints on one that
 * no longer gets security fixes (issue 20).
 *
 * - TESTED_NODE_MAJORS: the release lines CI proves: .ci/run runs every test tier on the
 *   machine's Node (20 on these machines) and again on Node 24 LTS. `engines` in
 *   package.json and the README name the same lines; keep the three in step.
 * - NODE_END_OF_LIFE: the official end-of-life dates (github.com/nodejs/Release,
 *   schedule.json), as of 2026-12-02. Small on purpose: lines not listed are either older
 *   than 18 (long dead) or newer than 26 (too new to be tested here). Add a row when a new
 *   line is released.
 *
 * Pure: the caller passes the version and today's date.
 */

export const TESTED_NODE_MAJORS = [20, 24] as const;
export const RECOMMENDED_NODE_MAJOR = 24;

/** Release line → end of life (UTC date). Odd lines are never LTS: about eight months of support. */
export const NODE_END_OF_LIFE: Readonly<Record<number, string>> = {
  18: "2025-04-30",
  19: "2023-06-01",
  20: "2026-04-30",
  21: "2024-06-01",
  22: "2027-04-30",
  23: "2025-06-01",
  24: "2028-04-30",
  25: "2026-06-01",
  26: "2029-04-30",
};
const OLDEST_LISTED = 18;
const NEWEST_LISTED = 26;

export interface RuntimeNotice {
  level: "warning" | "notice";
  message: string;
}

/** What to tell the operator about running on `version` (e.g. "v20.20.2") on `today`, or null. */
export function runtimeNotice(version: string, today: Date): RuntimeNotice | null {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!Number.isInteger(major)) return null;
  const tested = `OriginGate is tested on Node.js ${TESTED_NODE_MAJORS.join(" and ")}; use Node.js ${RECOMMENDED_NODE_MAJOR} LTS`;
  const endOfLife = NODE_END_OF_LIFE[major];
  if (major < OLDEST_LISTED || (endOfLife !== undefined && today.getTime() >= Date.parse(`${endOfLife}T00:00:00Z`))) {
    const since = endOfLife === undefined ? "" : ` on ${endOfLife}`;
    return {
      level: "warning",
      message: `Node.js ${version} reached end of life${since} and no longer receives security fixes. ${tested}.`,
    };
  }
  if ((TESTED_NODE_MAJORS as readonly number[]).includes(major)) return null;
  const why = major > NEWEST_LISTED ? "is newer than" : "is not one of";
  return { level: "notice", message: `Node.js ${version} ${why} the release lines CI tests. ${tested}.` };
}
