/**
 * runHttpRequest: one real HTTP request from the gateway for the CORS tester — any Origin,
 * any method, a preflight or an actual request — reporting the status and response headers
 * exactly as they came back. Only the head matters: the body is never read (an event
 * stream would never end), the connection is closed once the head has arrived.
 *
 * Like runHandshake: no redirect is followed (a registered endpoint cannot bounce the tester
 * elsewhere), no pooled connection, bounded head size and time, the credentials it sent
 * never echoed back (Set-Cookie values are hidden). Errors are reported, never thrown.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import { classify, type HandshakeErrorCode } from "./network-errors";
import { TESTER_USER_AGENT } from "./run-handshake";

const MAX_HEADER_LINES = 100;
const MAX_HEADER_VALUE_SHOWN = 2048;

export interface RunHttpOptions {
  /** http:// or https:// — already checked to be an allowed target by the caller. */
  url: string;
  method: string;
  /** Header name → value, already validated; Origin, Cookie... included. */
  headers: Readonly<Record<string, string>>;
  timeoutMs?: number;
  maxHeaderBytes?: number;
  /** The run's pinned resolution of a registered host name (server/net/pinned-lookup.ts); unset for IP literals. */
  lookup?: LookupFunction;
  /**
   * Headers sent last (replacing a same-named one, any case) and never shown: the gateway's
   * tester mark (server/gateway/tester-mark.ts). Their values are hidden in the answer too.
   */
  hiddenHeaders?: Readonly<Record<string, string>>;
}

export interface HttpResult {
  status: number | null;
  statusLine: string | null;
  /** Response headers, lower-case names, repeated ones joined with ", " (Set-Cookie values hidden). */
  headers: Record<string, string>;
  timings: { response: number | null; total: number };
  error?: { code: HandshakeErrorCode; message: string };
}

export function runHttpRequest(options: RunHttpOptions): Promise<HttpResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let done = false;
    let sentAt: number | null = null;
    const finish = (result: Omit<HttpResult, "timings">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const total = Math.round((performance.now() - t0) * 10) / 10;
      const response = sentAt === null ? null : Math.round((performance.now() - sentAt) * 10) / 10;
      resolve({ ...result, timings: { response, total } });
    };
    let url: URL;
    try {
      url = new URL(options.url);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
    } catch {
      return finish({
        status: null,
        statusLine: null,
        headers: {},
        error: { code: "invalid_response", message: "the target is not an http:// or https:// URL" },
      });
    }
    const headers: Record<string, string> = { "User-Agent": TESTER_USER_AGENT, ...options.headers };
    const hidden = Object.entries(options.hiddenHeaders ?? {});
    for (const [name, value] of hidden) {
      for (const sent of Object.keys(headers)) if (sent.toLowerCase() === name.toLowerCase()) delete headers[sent];
      headers[name] = value;
    }
    const hide = (value: string) =>
      hidden.reduce((text, [, secret]) => (secret === "" ? text : text.split(secret).join("[redacted]")), value);
    let req: http.ClientRequest;
    try {
      req = (url.protocol === "https:" ? https : http).request(url, {
        method: options.method,
        headers,
        agent: false,
        maxHeaderSize: options.maxHeaderBytes ?? 16_384,
        ...(options.lookup ? { lookup: options.lookup } : {}),
      });
    } catch (error) {
      // An invalid header value (a raw scan variant Node will not send) and the like.
      return finish({
        status: null,
        statusLine: null,
        headers: {},
        error: { code: "network_error", message: (error as Error).message },
      });
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    const timer = setTimeout(() => {
      finish({
        status: null,
        statusLine: null,
        headers: {},
        error: { code: "timeout", message: `no answer within ${timeoutMs} ms` },
      });
      req.destroy();
    }, timeoutMs);
    req.on("socket", (socket) => socket.once("connect", () => (sentAt = performance.now())));
    req.on("response", (res) => {
      const shown: Record<string, string> = {};
      for (let i = 0; i + 1 < res.rawHeaders.length && i < MAX_HEADER_LINES * 2; i += 2) {
        const name = res.rawHeaders[i]!.toLowerCase();
        let value = hide(res.rawHeaders[i + 1]!);
        if (name === "set-cookie") value = value.replace(/^([^=;]*)=([^;]*)/, (_m, n: string) => `${n}=[redacted]`);
        if (value.length > MAX_HEADER_VALUE_SHOWN)
          value = `${value.slice(0, MAX_HEADER_VALUE_SHOWN)}… (${value.length} chars)`;
        shown[name] = shown[name] === undefined ? value : `${shown[name]}, ${value}`;
      }
      finish({
        status: res.statusCode ?? null,
        statusLine: `HTTP/${res.httpVersion} ${res.statusCode ?? ""} ${res.statusMessage ?? ""}`.trimEnd(),
        headers: shown,
      });
      res.destroy();
      req.destroy();
    });
    req.on("error", (error: NodeJS.ErrnoException) =>
      finish({ status: null, statusLine: null, headers: {}, error: classify(error, options.maxHeaderBytes ?? 16_384) }),
    );
    req.end();
  });
}
