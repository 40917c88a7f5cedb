/**
 * `ctl policy:validate` is offline (SPEC §7, docs/policy-as-code.md): the validate job of a
 * pull request runs with no token, no API URL, no database and no server. Run here as the
 * real `npm run ctl` process with OG_API_TOKEN, OG_API_URL and DATABASE_URL removed from its
 * environment and every network connection made to fail (a preloaded module replaces
 * `fetch` and `net.Socket#connect`; local IPC stays): a valid file and a directory pass with exit 0, a broken
 * file exits 1 naming the line and the field.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policyToYaml } from "../../server/policy-as-code/policy-yaml";
import { type CliRun, runCtl } from "../helpers/run-cli";

let dir: string;

/** Loaded before ctl: any attempt to reach the network fails loudly (and is reported on stderr). */
const NO_NETWORK = `data:text/javascript,${encodeURIComponent(`
  import net from "node:net";
  const refuse = (what) => { process.stderr.write("NETWORK USED: " + what + "\\n"); throw new Error("no network in this test: " + what); };
  globalThis.fetch = async (input) => refuse("fetch " + String(input));
  const connect = net.Socket.prototype.connect;
  // Local IPC (tsx talks to its parent over a Unix socket) is allowed; TCP is not.
  net.Socket.prototype.connect = function (...args) {
    const target = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (target && typeof target === "object" && typeof target.path === "string") return connect.apply(this, args);
    if (typeof target === "string" && !/^\\d+$/.test(target)) return connect.apply(this, args);
    refuse("connect " + JSON.stringify(args[0]));
  };
`)}`;

function validate(...args: string[]): Promise<CliRun> {
  const {
    OG_API_TOKEN: _token,
    OG_API_URL: _url,
    DATABASE_URL: _database,
    E2E_DATABASE_URL: _e2e,
    ...env
  } = process.env;
  return runCtl(["policy:validate", ...args], env, ["--import", NO_NETWORK]);
}

const payments = policyToYaml({
  tenant: "payments",
  version: 4,
  document: {
    mode: "enforce",
    origins: [
      { pattern: "https://pay.example.com", note: "checkout (web)" },
      { pattern: "https://*.example-shop.com" },
      { pattern: "https://partner.example.net", note: "partner widget" },
    ],
    token: "required",
  },
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "og-validate-offline-"));
  await writeFile(path.join(dir, "payments.yaml"), payments);
  await writeFile(
    path.join(dir, "shop.yaml"),
    policyToYaml({ tenant: "shop", version: 1, document: { origins: [{ pattern: "https://shop.example.com" }] } }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ctl policy:validate without a token, an API URL, a database or a server", () => {
  it("a valid file: exit 0, and not one connection attempted", async () => {
    const file = path.join(dir, "payments.yaml");
    const run = await validate("--file", file);
    expect(run.stderr).not.toContain("NETWORK USED");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${file}: valid (tenant payments, version 4, 3 origins)\n`);
  });

  it("a directory: every file checked, exit 0", async () => {
    const run = await validate("--dir", dir);
    expect(run.stderr).not.toContain("NETWORK USED");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${path.join(dir, "payments.yaml")}: valid (tenant payments, version 4, 3 origins)`);
    expect(run.stdout).toContain(`${path.join(dir, "shop.yaml")}: valid (tenant shop, version 1, 1 origin)`);
  });

  it("a broken file: exit 1 with the line and the field, still offline", async () => {
    const broken = path.join(dir, "broken", "payments.yaml");
    await rm(path.dirname(broken), { recursive: true, force: true });
    await mkdir(path.dirname(broken));
    // A typo of a field ("credential") and a pattern the engine refuses.
    const text = payments
      .replace("  credentials: forbid\n", "  credential: forbid\n")
      .replace("https://pay.example.com", "https://pay.example.com/checkout");
    await writeFile(broken, text);
    const line = text.split("\n").findIndex((l) => l.startsWith("  credential:")) + 1;
    const run = await validate("--file", broken);
    expect(run.stderr).not.toContain("NETWORK USED");
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`${broken}:${line}:`);
    expect(run.stderr).toContain('spec.credential: unknown field "credential"');
  });
});
