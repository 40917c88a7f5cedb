/**
 * runHandshake: one real WebSocket opening handshake, performed with a raw
 * `http.request`/`https.request` upgrade so that every header sent is ours to choose
 * (any Origin, none, or `null`) and every byte of the answer can be reported — unlike a
 * WebSocket client library, which hides refused handshakes behind an error.
 *
 * Reports: the status line and headers (bounded), the body of a refusal (bounded),
 * timings (DNS, connect, TLS for wss, response), whether the upgrade is valid (101 with
 * the right Sec-WebSocket-Accept, Upgrade/Connection, and only offered subprotocols or
 * extensions), the selected subprotocol and — after a valid upgrade — whether the server
 * closed at once (within `closeWaitMs`), with its close code: servers that "upgrade then
 * close 1008" are told apart from servers that really accept.
 *
 * Limits (all fail closed, each reported as an `error` with a stable code):
 * - one deadline (`timeoutMs`) covers DNS, connect, TLS and the response head;
 * - redirects are never followed: a 3xx is reported like any status;
 * - response head larger than `maxHeaderBytes` → `response_too_large`; body beyond
 *   `maxBodyBytes` → reading stops and `body.truncated` is set;
 * - after an upgrade at most CLOSE_SCAN_BYTES are read while waiting for a close frame.
 *
 * Secrets: the Cookie, Authorization and token values never appear in the result — a
 * target that echoes them (in a header, the body, or a `bearer.<jwt>` subprotocol answer)
 * has them replaced by "[redacted]"; Set-Cookie values in the answer are hidden too.
 * Nothing is logged here.
 *
 * Lifecycle: every socket is destroyed before or shortly after the promise resolves (an
 * accepted connection is closed with 1000 first); the promise never rejects.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { LookupFunction, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import { socketForm } from "./endpoint-url";
import { classify, type HandshakeErrorCode } from "./network-errors";
import { Redactor, redactedLength, secretValues } from "./redaction";
import { closeOf, maskedCloseFrame, readFrame } from "./ws-frame";

export { HANDSHAKE_ERROR_CODES, type HandshakeErrorCode } from "./network-errors";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
export const TESTER_USER_AGENT = "OriginGate-Tester/1";
const CLOSE_SCAN_BYTES = 64 * 1024;
const MAX_HEADER_LINES = 100;
const MAX_HEADER_VALUE_SHOWN = 2048;

export interface RunHandshakeOptions {
  /** ws:// or wss:// — already checked to be an allowed target by the caller. */
  url: string;
  /** The Origin header value; null/undefined = no Origin header. "null" is sent as is. */
  origin?: string | null;
  cookie?: string;
  authorization?: string;
  /** Offered as the `bearer.<token>` Sec-WebSocket-Protocol entry, after `subprotocols`. */
  token?: string;
  subprotocols?: readonly string[];
  /** Extra headers, already validated (server/tester/input.ts). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Sent, but never shown in the result and redacted from anything echoed back: the tester's
   * mark on handshakes to this gateway's own tenants (server/gateway/tester-mark.ts).
   */
  hiddenHeaders?: Readonly<Record<string, string>>;
  userAgent?: string;
  timeoutMs?: number;
  closeWaitMs?: number;
  maxHeaderBytes?: number;
  maxBodyBytes?: number;
  /**
   * Name resolution for the connection: the run's pinned answer for a registered host name
   * (server/net/pinned-lookup.ts). Unset for IP literals.
   */
  lookup?: LookupFunction;
  /** Extra trusted CA certificates for wss (tests; not reachable through the API). */
  ca?: string | Buffer;
}

export interface HandshakeTimings {
  /** Name resolution (null when the host is an IP address). */
  dns: number | null;
  /** From start until the TCP connection was established (includes DNS). */
  connect: number | null;
  /** TLS handshake (wss only). */
  tls: number | null;
  /** From the request being sent until the response head arrived. */
  response: number | null;
  total: number;
}

export interface HandshakeResult {
  url: string;
  /** What was sent, with secret values redacted. */
  sent: Array<[string, string]>;
  status: number | null;
  statusLine: string | null;
  upgraded: boolean;
  /** Response headers, lower-case names, repeated headers joined with ", " (secrets redacted). */
  headers: Record<string, string>;
  /** Response headers in order with their original spelling (secrets redacted, bounded). */
  rawHeaders: Array<[string, string]>;
  headersTruncated?: boolean;
  subprotocol: string | null;
  timings: HandshakeTimings;
  /** The body of a non-101 answer (UTF-8, bounded). */
  body?: { text: string; bytes: number; truncated: boolean };
  /** After an upgrade: the server's close frame within the wait (1006 = closed without one). */
  closeCode?: number;
  closeReason?: string;
  /** Data frames the server sent before its close (or during the wait). */
  framesBeforeClose?: number;
  tls?: { protocol: string | null; cipher: string | null; authorized: boolean };
  error?: { code: HandshakeErrorCode; message: string };
}

export function runHandshake(options: RunHandshakeOptions): Promise<HandshakeResult> {
  return new Promise((resolve) => new HandshakeRun(options, resolve).start());
}

class HandshakeRun {
  private readonly t0 = performance.now();
  private readonly timings: HandshakeTimings = { dns: null, connect: null, tls: null, response: null, total: 0 };
  private readonly redactor: Redactor;
  private readonly key = randomBytes(16).toString("base64");
  private readonly offered: string[];
  private readonly sent: Array<[string, string]> = [];
  private requestSentAt: number | null = null;
  private req: http.ClientRequest | null = null;
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  private partial: Partial<HandshakeResult> = {};

  constructor(
    private readonly options: RunHandshakeOptions,
    private readonly resolve: (result: HandshakeResult) => void,
  ) {
    this.redactor = new Redactor(secretValues(options));
    this.offered = [...(options.subprotocols ?? []), ...(options.token ? [`bearer.${options.token}`] : [])];
  }

  start(): void {
    let url: URL;
    try {
      // A registered endpoint may be written in its HTTP form: the handshake goes to its WebSocket form.
      url = new URL(socketForm(this.options.url));
      if (url.protocol !== "ws:" && url.protocol !== "wss:") throw new Error("not ws");
    } catch {
      return this.finish({ error: { code: "invalid_response", message: "the target is not a ws:// or wss:// URL" } });
    }
    const secure = url.protocol === "wss:";
    const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const headers: Record<string, string> = {};
    const set = (name: string, value: string, shown = value) => {
      headers[name] = value;
      this.sent.push([name, shown]);
    };
    set("Host", url.host);
    set("Upgrade", "websocket");
    set("Connection", "Upgrade");
    set("Sec-WebSocket-Key", this.key);
    set("Sec-WebSocket-Version", "13");
    if (this.offered.length > 0)
      set("Sec-WebSocket-Protocol", this.offered.join(", "), this.redactor.text(this.offered.join(", ")));
    if (this.options.origin !== undefined && this.options.origin !== null) set("Origin", this.options.origin);
    if (this.options.cookie !== undefined) set("Cookie", this.options.cookie, redactedLength(this.options.cookie));
    if (this.options.authorization !== undefined)
      set("Authorization", this.options.authorization, redactedLength(this.options.authorization));
    set("User-Agent", this.options.userAgent ?? TESTER_USER_AGENT);
    for (const [name, value] of Object.entries(this.options.headers ?? {})) {
      // Validated upstream; a user-chosen User-Agent replaces ours.
      if (name.toLowerCase() === "user-agent") {
        delete headers["User-Agent"];
        const i = this.sent.findIndex(([n]) => n === "User-Agent");
        if (i >= 0) this.sent.splice(i, 1);
      }
      set(name, value);
    }
    for (const [name, value] of Object.entries(this.options.hiddenHeaders ?? {})) {
      headers[name] = value;
    }

    const requestOptions: https.RequestOptions = {
      protocol: secure ? "https:" : "http:",
      hostname,
      port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: "GET",
      headers,
      setHost: false,
      agent: false,
      maxHeaderSize: this.options.maxHeaderBytes ?? 16_384,
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      ...(secure ? { servername: isIp(hostname) ? undefined : hostname, ca: this.options.ca } : {}),
    };
    try {
      this.req = (secure ? https : http).request(requestOptions);
    } catch (error) {
      return this.finish({ error: { code: "network_error", message: (error as Error).message } });
    }
    const req = this.req;
    const timeoutMs = this.options.timeoutMs ?? 5000;
    this.timer = setTimeout(() => this.onTimeout(timeoutMs), timeoutMs);
    req.on("socket", (socket: Socket) => {
      socket.once("lookup", () => {
        this.timings.dns = this.elapsed();
      });
      socket.once("connect", () => {
        this.timings.connect = this.elapsed();
        if (!secure) this.requestSentAt = performance.now();
      });
      if (secure) {
        socket.once("secureConnect", () => {
          this.timings.tls = this.elapsed() - (this.timings.connect ?? 0);
          this.requestSentAt = performance.now();
          const tls = socket as TLSSocket;
          this.partial.tls = {
            protocol: tls.getProtocol?.() ?? null,
            cipher: tls.getCipher?.()?.name ?? null,
            authorized: tls.authorized === true,
          };
        });
      }
    });
    req.on("response", (res) => this.onResponse(res));
    req.on("upgrade", (res, socket, head) => this.onUpgrade(res, socket, head));
    req.on("error", (error: NodeJS.ErrnoException) => this.onError(error));
    req.end();
  }

  private elapsed(): number {
    return round(performance.now() - this.t0);
  }

  private onTimeout(timeoutMs: number): void {
    const phase =
      this.timings.connect === null
        ? "while connecting"
        : socketForm(this.options.url).startsWith("wss:") && this.timings.tls === null
          ? "during the TLS handshake"
          : "waiting for the response";
    this.finish({ error: { code: "timeout", message: `no answer within ${timeoutMs} ms (${phase})` } });
    this.req?.destroy();
  }

  private onError(error: NodeJS.ErrnoException): void {
    if (this.done) return;
    this.finish({ error: classify(error, this.options.maxHeaderBytes ?? 16_384) });
  }

  private head(res: http.IncomingMessage): Partial<HandshakeResult> {
    this.timings.response = this.requestSentAt === null ? null : round(performance.now() - this.requestSentAt);
    const rawHeaders: Array<[string, string]> = [];
    const headers: Record<string, string> = {};
    let truncated = false;
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
      const name = res.rawHeaders[i]!;
      const value = this.redactor.header(name, res.rawHeaders[i + 1]!);
      if (rawHeaders.length >= MAX_HEADER_LINES) {
        truncated = true;
        continue;
      }
      const shown =
        value.length > MAX_HEADER_VALUE_SHOWN
          ? `${value.slice(0, MAX_HEADER_VALUE_SHOWN)}… (${value.length} chars)`
          : value;
      rawHeaders.push([name, shown]);
      const lower = name.toLowerCase();
      headers[lower] = headers[lower] === undefined ? shown : `${headers[lower]}, ${shown}`;
    }
    return {
      status: res.statusCode ?? null,
      statusLine: `HTTP/${res.httpVersion} ${res.statusCode ?? ""} ${res.statusMessage ?? ""}`.trimEnd(),
      headers,
      rawHeaders,
      ...(truncated ? { headersTruncated: true } : {}),
    };
  }

  private onResponse(res: http.IncomingMessage): void {
    if (this.done) return void res.destroy();
    Object.assign(this.partial, this.head(res));
    if (res.statusCode === 101) {
      // A 101 that Node did not treat as an upgrade (no Upgrade header): not a valid one.
      res.destroy();
      this.req?.destroy();
      return this.finish({ error: { code: "invalid_upgrade", message: "101 without Upgrade: websocket" } });
    }
    const max = this.options.maxBodyBytes ?? 4096;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = false;
    const complete = () => {
      const text = this.redactor.text(Buffer.concat(chunks).toString("utf8"));
      this.finish({ body: { text, bytes, truncated } });
      res.destroy();
      this.req?.destroy();
    };
    res.on("data", (chunk: Buffer) => {
      if (this.done) return;
      const room = max - bytes;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        bytes = max;
        truncated = true;
        return complete();
      }
      chunks.push(chunk);
      bytes += chunk.length;
    });
    res.on("end", complete);
    // The connection dropped before the body ended: report what arrived.
    res.on("close", complete);
    res.on("error", complete);
  }

  private onUpgrade(res: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (this.done) return void socket.destroy();
    Object.assign(this.partial, this.head(res));
    const problem = this.checkUpgrade(res);
    const subprotocol = headerValue(res, "sec-websocket-protocol");
    this.partial.subprotocol = subprotocol === null ? null : this.redactor.text(subprotocol);
    if (problem) {
      socket.destroy();
      return this.finish({ upgraded: false, error: { code: "invalid_upgrade", message: problem } });
    }
    this.partial.upgraded = true;
    if (this.timer) clearTimeout(this.timer);
    this.waitForClose(socket, head);
  }

  private checkUpgrade(res: http.IncomingMessage): string | null {
    if (res.statusCode !== 101) return `status ${res.statusCode} is not 101 Switching Protocols`;
    if (headerValue(res, "upgrade")?.toLowerCase() !== "websocket") return "the answer lacks Upgrade: websocket";
    const connection = (headerValue(res, "connection") ?? "").toLowerCase().split(/\s*,\s*/);
    if (!connection.includes("upgrade")) return "the answer lacks Connection: Upgrade";
    const expected = createHash("sha1")
      .update(this.key + WS_GUID)
      .digest("base64");
    const accept = headerValue(res, "sec-websocket-accept");
    if (accept === null) return "the answer lacks Sec-WebSocket-Accept";
    if (accept !== expected) return "Sec-WebSocket-Accept does not match the key that was sent";
    const protocol = headerValue(res, "sec-websocket-protocol");
    if (protocol !== null && !this.offered.includes(protocol)) {
      return `the server selected the subprotocol "${this.redactor.text(protocol)}", which was not offered`;
    }
    if (headerValue(res, "sec-websocket-extensions") !== null)
      return "the server selected an extension that was not offered";
    return null;
  }

  /** Reads frames for closeWaitMs: a close frame gives the code; a dropped connection is 1006. */
  private waitForClose(socket: Socket, head: Buffer): void {
    const waitMs = this.options.closeWaitMs ?? 300;
    let buffer = head;
    let frames = 0;
    let scanned = head.length;
    const stop = (close: { code: number; reason: string } | null) => {
      clearTimeout(wait);
      socket.removeAllListeners("data");
      if (close) {
        this.partial.closeCode = close.code;
        if (close.reason) this.partial.closeReason = this.redactor.text(close.reason);
      }
      this.partial.framesBeforeClose = frames;
      this.finish({});
      closeSocket(socket, close === null || close.code !== 1006);
    };
    const parse = () => {
      for (;;) {
        const frame = readFrame(buffer, CLOSE_SCAN_BYTES * 2);
        if (frame === null) return false;
        buffer = buffer.subarray(frame.length);
        if (frame.opcode === 0x8) {
          stop(closeOf(frame.payload));
          return true;
        }
        frames += 1;
      }
    };
    const wait = setTimeout(() => stop(null), waitMs);
    socket.on("data", (chunk: Buffer) => {
      scanned += chunk.length;
      buffer = Buffer.concat([buffer, chunk]);
      if (parse()) return;
      if (scanned > CLOSE_SCAN_BYTES) stop(null);
    });
    socket.once("close", () => {
      if (!this.done) stop({ code: 1006, reason: "" });
    });
    if (parse()) return;
  }

  private finish(extra: Partial<HandshakeResult>): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timings.total = this.elapsed();
    const merged = { ...this.partial, ...extra };
    this.resolve({
      url: this.options.url,
      sent: this.sent,
      status: merged.status ?? null,
      statusLine: merged.statusLine ?? null,
      upgraded: merged.upgraded ?? false,
      headers: merged.headers ?? {},
      rawHeaders: merged.rawHeaders ?? [],
      ...(merged.headersTruncated ? { headersTruncated: true } : {}),
      subprotocol: merged.subprotocol ?? null,
      timings: this.timings,
      ...(merged.body ? { body: merged.body } : {}),
      ...(merged.closeCode !== undefined ? { closeCode: merged.closeCode } : {}),
      ...(merged.closeReason ? { closeReason: merged.closeReason } : {}),
      ...(merged.framesBeforeClose !== undefined ? { framesBeforeClose: merged.framesBeforeClose } : {}),
      ...(merged.tls ? { tls: merged.tls } : {}),
      ...(merged.error ? { error: merged.error } : {}),
    });
  }
}

function headerValue(res: http.IncomingMessage, name: string): string | null {
  const value = res.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Closes our side politely (a masked close frame, 1000) and makes sure the socket goes away. */
function closeSocket(socket: Socket, sendClose: boolean): void {
  if (sendClose && socket.writable) {
    socket.end(maskedCloseFrame(1000));
  } else {
    socket.end();
  }
  const kill = setTimeout(() => socket.destroy(), 500);
  kill.unref();
  socket.once("close", () => clearTimeout(kill));
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
