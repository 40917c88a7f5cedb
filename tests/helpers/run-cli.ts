/**
 * Runs one of the project's command-line entry points as its npm script does — a real
 * Node.js process (`process.execPath`, so the second CI runtime runs it too) with the
 * react-server condition (it resolves the "server-only" guard to its empty module outside
 * Next.js) and tsx — and collects what it printed and how it exited.
 */
import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface CliRun {
  /** The exit code; -1 when the process was ended by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `node --conditions=react-server [nodeFlags] --import tsx <script> …args` in the repository,
 * with exactly `env` (nodeFlags: e.g. another `--import` to load before the script).
 */
export function runCli(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeFlags: string[] = [],
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const flags = ["--conditions=react-server", ...nodeFlags, "--import", "tsx"];
    const child = spawn(process.execPath, [...flags, script, ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `npm run ctl -- …args`. */
export function runCtl(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Promise<CliRun> {
  return runCli("server/cli/ctl.ts", args, env, nodeFlags);
}
