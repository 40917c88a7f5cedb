/**
 * Supported runtimes (issue 20): the end-of-life warning `npm start` prints, and the one
 * statement of the supported range kept in step across package.json `engines`, .ci/run and
 * server/cli/runtime-support.ts.
 *
 * Source of the dates: the Node.js release schedule (github.com/nodejs/Release).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  NODE_END_OF_LIFE,
  RECOMMENDED_NODE_MAJOR,
  runtimeNotice,
  TESTED_NODE_MAJORS,
} from "../../server/cli/runtime-support";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TODAY = new Date("2026-12-02T12:00:00Z");

describe("runtimeNotice", () => {
  it.each([
    ["v20.20.2", "2026-04-30"],
    ["v18.20.8", "2025-04-30"],
    ["v21.7.3", "2024-06-01"],
    ["v25.1.0", "2026-06-01"],
  ])("%s on 2026-12-02: a warning naming the end-of-life date %s and what to use", (version, date) => {
    const notice = runtimeNotice(version, TODAY);
    expect(notice?.level).toBe("warning");
    expect(notice?.message).toContain(`reached end of life on ${date}`);
    expect(notice?.message).toContain("security fixes");
    expect(notice?.message).toContain("use Node.js 24 LTS");
  });

  it("Node 16 and older (not in the table) are end of life too", () => {
    expect(runtimeNotice("v16.20.2", TODAY)).toMatchObject({ level: "warning" });
  });

  it("Node 20 was fine until its end of life", () => {
    expect(runtimeNotice("v20.20.2", new Date("2026-04-29T23:59:59Z"))).toBeNull();
    expect(runtimeNotice("v20.20.2", new Date("2026-04-30T00:00:00Z"))?.level).toBe("warning");
  });

  it("the tested LTS line gets nothing; untested live lines a notice", () => {
    expect(runtimeNotice("v24.22.3", TODAY)).toBeNull();
    expect(runtimeNotice("v22.21.0", TODAY)).toMatchObject({ level: "notice" });
    expect(runtimeNotice("v26.12.1", TODAY)).toMatchObject({ level: "notice" });
    expect(runtimeNotice("v27.0.0", TODAY)?.message).toContain("newer than");
  });

  it("ignores what it cannot read", () => {
    expect(runtimeNotice("nonsense", TODAY)).toBeNull();
  });
});

describe("one supported range", () => {
  it("package.json engines names exactly the tested release lines", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(
      TESTED_NODE_MAJORS.map((major) => `^${major}.${major === 20 ? 9 : 0}.0`).join(" || "),
    );
  });

  it(".ci/run runs the second pass on the recommended line", () => {
    const ci = readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    expect(ci).toContain(`\${ORIGINGATE_NODE24:-${RECOMMENDED_NODE_MAJOR}}`);
    expect(ci).toContain(`v${RECOMMENDED_NODE_MAJOR}.*`);
    expect(ci).toContain("--also-on");
  });

  it("every tested line is in the end-of-life table", () => {
    for (const major of TESTED_NODE_MAJORS) expect(NODE_END_OF_LIFE[major]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
