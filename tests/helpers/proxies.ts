/**
 * Real proxies for tests and benchmarks, from Debian's packages (nginx, caddy, haproxy),
 * each started on a free port with the configuration shipped in docs/deploy/ — only its
 * placeholders ({{LISTEN}}, {{GATEWAY}}, {{UPSTREAM}}, {{TENANT}}, {{LUA}}) filled in — so
 * the documented files are exactly the tested ones. The scaffolding a proxy needs to run
 * unprivileged in a temporary directory (pid file, logs, temp paths) is written here, never
 * in the documented files.
 *
 * Ready when the proxy accepts TCP connections on its port; stop() ends the process and
 * removes its directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../server/db/pg-server";

const DEPLOY = path.resolve(import.meta.dirname, "../../docs/deploy");

export type ProxyKind = "nginx" | "caddy" | "haproxy";

export interface ProxyTarget {
  /** host:port of the OriginGate gateway. */
  gateway: string;
  /** host:port of the application. */
  upstream: string;
  tenant: string;
}

export interface RunningProxy {
  kind: ProxyKind;
  port: number;
  httpUrl: string;
  wsUrl: string;
  dir: string;
  /** The rendered configuration (for failure messages). */
  config: string;
  /** stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** The shipped configuration with its placeholders filled in. */
export function renderDeployConfig(file: string, values: Record<string, string>): string {
  let text = readFileSync(path.join(DEPLOY, file), "utf8");
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`{{${key}}}`, value);
  const left = /\{\{[A-Z]+\}\}/.exec(text);
  if (left) throw new Error(`${file}: placeholder ${left[0]} not filled in`);
  return text;
}

export async function startProxy(kind: ProxyKind, target: ProxyTarget): Promise<RunningProxy> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), `og-${kind}-`));
  // Run as root (CI), nginx's workers drop to an unprivileged user: they must reach the directory.
  chmodSync(dir, 0o755);
  const values = { LISTEN: String(port), GATEWAY: target.gateway, UPSTREAM: target.upstream, TENANT: target.tenant };
  let command: string;
  let args: string[];
  let config: string;
  switch (kind) {
    case "nginx": {
      config = renderDeployConfig("nginx/origingate.conf", { ...values, LISTEN: `127.0.0.1:${port}` });
      writeFileSync(path.join(dir, "origingate.conf"), config);
      // Test scaffolding only: an unprivileged nginx in `dir`.
      writeFileSync(
        path.join(dir, "nginx.conf"),
        [
          "worker_processes 1;",
          `pid ${dir}/nginx.pid;`,
          `error_log ${dir}/error.log warn;`,
          "events { worker_connections 4096; }",
          "http {",
          `  access_log off;`,
          `  client_body_temp_path ${dir}/client_body;`,
          `  proxy_temp_path ${dir}/proxy;`,
          `  fastcgi_temp_path ${dir}/fastcgi;`,
          `  uwsgi_temp_path ${dir}/uwsgi;`,
          `  scgi_temp_path ${dir}/scgi;`,
          `  include ${dir}/origingate.conf;`,
          "}",
        ].join("\n"),
      );
      command = "nginx";
      args = ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"];
      break;
    }
    case "caddy": {
      config = renderDeployConfig("caddy/Caddyfile", values);
      // Test scaffolding only: no admin endpoint (parallel runs would share :2019), no HTTPS.
      writeFileSync(path.join(dir, "Caddyfile"), `{\n\tadmin off\n\tauto_https off\n}\n\n${config}`);
      command = "caddy";
      args = ["run", "--config", path.join(dir, "Caddyfile"), "--adapter", "caddyfile"];
      break;
    }
    case "haproxy": {
      config = renderDeployConfig("haproxy/haproxy.cfg", {
        ...values,
        LISTEN: `127.0.0.1:${port}`,
        LUA: path.join(DEPLOY, "haproxy", "origingate.lua"),
      });
      writeFileSync(path.join(dir, "haproxy.cfg"), config);
      command = "haproxy";
      args = ["-f", path.join(dir, "haproxy.cfg"), "-db"];
      break;
    }
  }
  const child = spawn(command, args, {
    cwd: dir,
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitForPort(port, child, () => output);
  return {
    kind,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dir,
    config,
    log: () => output,
    stop: () => stopChild(child, dir),
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`proxy did not listen on ${port}:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}
