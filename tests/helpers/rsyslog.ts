/**
 * Debian's rsyslogd for tests, as a SIEM receiver: a generated configuration with `imtcp` on
 * a port of ours (RFC 6587 octet-counted framing is on by default) and one `omfile` output in
 * a temporary directory that writes, per message, its MSGID, structured data and MSG.
 * stop() ends the process we started (by its pid); start() again on the same port brings the
 * receiver back, as a restarted SIEM would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../server/net/free-port";

export const RSYSLOGD = "/usr/sbin/rsyslogd";

export interface ReceivedSyslog {
  msgid: string;
  structuredData: string;
  /** MSG without the BOM. */
  msg: string;
}

export interface Rsyslog {
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Every message written so far, in arrival order. */
  received(): Promise<ReceivedSyslog[]>;
  dispose(): Promise<void>;
}

export async function createRsyslog(): Promise<Rsyslog> {
  const dir = await mkdtemp(path.join(tmpdir(), "og-rsyslog-"));
  const port = await freePort();
  const out = path.join(dir, "received.log");
  const config = path.join(dir, "rsyslog.conf");
  await writeFile(
    config,
    [
      `global(workDirectory="${dir}" maxMessageSize="64k")`,
      'module(load="imtcp")',
      'template(name="og" type="string" string="%msgid%\\t%structured-data%\\t%msg%\\n")',
      `ruleset(name="og") { action(type="omfile" file="${out}" template="og") }`,
      `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="og")`,
      "",
    ].join("\n"),
  );
  let child: ChildProcess | null = null;
  let log = "";

  const listening = async (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });

  const start = async () => {
    const proc = spawn(RSYSLOGD, ["-n", "-f", config, "-i", path.join(dir, "rsyslogd.pid")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    proc.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    child = proc;
    const deadline = Date.now() + 15_000;
    while (!(await listening())) {
      if (proc.exitCode !== null) throw new Error(`rsyslogd exited (${proc.exitCode}): ${log}`);
      if (Date.now() > deadline) throw new Error(`rsyslogd did not listen on ${port}: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    await exited;
  };

  const received = async (): Promise<ReceivedSyslog[]> => {
    if (!existsSync(out)) return [];
    const text = await readFile(out, "utf8");
    return text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const [msgid = "", structuredData = "", ...rest] = line.split("\t");
        return { msgid, structuredData, msg: rest.join("\t").replace(/^\uFEFF/, "") };
      });
  };

  await start();
  return {
    port,
    start,
    stop,
    received,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
