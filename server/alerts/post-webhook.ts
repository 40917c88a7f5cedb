/**
 * One signed POST of an alert (or test) body to a registered webhook: JSON, with
 * `X-OriginGate-Timestamp` and `X-OriginGate-Signature: sha256=<hmac of timestamp.body>`
 * (server/net/webhook-signature.ts, the same signature as the SIEM webhooks).
 *
 * SPEC §5.2's rule for destinations: an IP literal is connected to as registered; a name only
 * when every address it resolves to is public, and then at the address checked (no second DNS
 * answer is consulted). Redirects are never followed. Resolves with the status; rejects on a
 * connection error or a timeout (the message never contains the secret or the body).
 */
import http from "node:http";
import https from "node:https";
import { pinHost, type Resolver, systemResolver } from "../net/pinned-lookup";
import { signedWebhookHeaders } from "../net/webhook-signature";

export const WEBHOOK_TIMEOUT_MS = 10_000;

export async function postSignedWebhook(options: {
  url: string;
  secret: string;
  body: string;
  resolve?: Resolver;
  timeoutMs?: number;
}): Promise<number> {
  const url = new URL(options.url);
  const pinned = await pinHost(url.hostname, options.resolve ?? systemResolver);
  if (pinned.kind === "internal") {
    throw new Error(
      `${url.hostname} resolves to an internal address (${pinned.address}); register that literal address to send there`,
    );
  }
  if (pinned.kind === "unresolved") throw new Error(`${url.hostname} does not resolve: ${pinned.error.message}`);
  const body = Buffer.from(options.body, "utf8");
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const client = url.protocol === "https:" ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: "POST",
        agent: false,
        ...(pinned.kind === "pinned" ? { lookup: pinned.lookup } : {}),
        timeout: timeoutMs,
        headers: {
          "Content-Type": "application/json",
          "Content-Length": String(body.length),
          "User-Agent": "OriginGate-Alerts/1",
          ...signedWebhookHeaders(options.secret, body),
        },
      },
      (response) => {
        response.resume(); // the answer's body is not needed; read it so the socket closes
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(body);
  });
}
