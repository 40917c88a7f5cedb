/**
 * `npm start` tells the operator when the Node.js it runs on is past end of life (issue 20
 * item 2). The unit test covers what `runtimeNotice` says; this one covers that the real
 * start command prints it, first, before anything else can fail: the command is started
 * with a configuration it refuses (so it stops right after the notice, with no database or
 * port touched), on whatever Node runs the tests. On an end-of-life line (the machine's
 * Node 20) the warning must be there; on the tested LTS line (CI's second run on Node 24)
 * it must not.
 */
import { describe, expect, it } from "vitest";
import { runtimeNotice } from "../../server/cli/runtime-support";
import { runCli } from "../helpers/run-cli";

describe("npm start on this Node.js", () => {
  it("prints the runtime notice before it reads the configuration", async () => {
    const expected = runtimeNotice(process.version, new Date());
    const run = await runCli("server/cli/start.ts", [], { ...process.env, GATEWAY_PORT: "80a" });
    const { code } = run;
    const output = run.stdout + run.stderr;

    expect(code).toBe(2);
    expect(output).toContain('GATEWAY_PORT must be an integer from 0 to 65535 (got "80a")');
    if (expected?.level === "warning") {
      expect(output).toContain(`[origingate] WARNING: ${expected.message}`);
      expect(output.indexOf("WARNING")).toBeLessThan(output.indexOf("GATEWAY_PORT"));
    } else if (expected) {
      expect(output).toContain(expected.message);
      expect(output).not.toContain("WARNING");
    } else {
      expect(output).not.toContain("end of life");
    }
  }, 60_000);
});
