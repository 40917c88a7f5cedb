/**
 * A webhook destination: audit events as NDJSON (one JSON object per line,
 * `Content-Type: application/x-ndjson`), POSTed in batches of up to `batchMax` lines, signed
 * like every OriginGate webhook (server/net/webhook-signature.ts: `X-OriginGate-Timestamp`,
 * `X-OriginGate-Signature: sha256=<hmac of timestamp.body>`).
 *
 * Each line is `{"type":"event", ...the event as the audit API returns it}`, or
 * `{"type":"gap","dropped":N,"gatewayId":...,"ts":...}` for events this destination lost
 * (siem-sink.ts). A batch is delivered when the receiver answers 2xx; anything else (an
 * error status, a redirect — never followed —, a timeout, a refused connection) leaves the
 * batch at the head of the queue and it is sent again, so delivery is at-least-once: a
 * receiver that answered too late may see a batch twice and can keep one line per `id`.
 *
 * Addresses follow SPEC §5.2 like the syslog sink: an IP literal as registered, a name only
 * when every address it resolves to is public, connected at the address checked.
 */
import http from "node:http";
import https from "node:https";
import { pinHost, type Resolver, systemResolver } from "../net/pinned-lookup";
import { signedWebhookHeaders } from "../net/webhook-signature";
import type { ExportedEvent } from "./exported-event";
import { type SiemDestinationConfig, SiemSink, type SinkOptions } from "./siem-sink";

const REQUEST_TIMEOUT_MS = 10_000;

export class WebhookSink extends SiemSink {
  private readonly url: URL;

  constructor(
    config: SiemDestinationConfig,
    options: SinkOptions,
    private readonly resolve: Resolver = systemResolver,
  ) {
    super(config, options);
    this.url = new URL(config.url);
  }

  protected format(event: ExportedEvent): string {
    return `${JSON.stringify({ type: "event", ...event })}\n`;
  }

  protected formatGap(dropped: number): string {
    return `${JSON.stringify({ type: "gap", dropped, gatewayId: this.options.gatewayId, ts: new Date().toISOString() })}\n`;
  }

  protected async send(messages: string[]): Promise<void> {
    const pinned = await pinHost(this.url.hostname, this.resolve);
    if (pinned.kind === "internal") {
      throw new Error(
        `${this.url.hostname} resolves to an internal address (${pinned.address}); register that literal address to send there`,
      );
    }
    if (pinned.kind === "unresolved") throw new Error(`${this.url.hostname} does not resolve: ${pinned.error.message}`);
    const body = Buffer.from(messages.join(""), "utf8");
    const client = this.url.protocol === "https:" ? https : http;
    const status = await new Promise<number>((resolve, reject) => {
      const request = client.request(
        this.url,
        {
          method: "POST",
          agent: false,
          ...(pinned.kind === "pinned" ? { lookup: pinned.lookup } : {}),
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            "Content-Type": "application/x-ndjson",
            "Content-Length": String(body.length),
            "User-Agent": "OriginGate-SIEM/1",
            ...signedWebhookHeaders(this.config.secret ?? "", body),
          },
        },
        (response) => {
          response.resume(); // the body is not needed; read it so the socket can close
          response.on("end", () => resolve(response.statusCode ?? 0));
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      request.on("error", reject);
      request.end(body);
    });
    if (status < 200 || status > 299) throw new Error(`the receiver answered ${status}`);
  }

  protected async close(): Promise<void> {}
}
