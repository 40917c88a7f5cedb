/**
 * Audit events as syslog messages: RFC 5424 (the syslog protocol) framed for TCP with RFC
 * 6587 octet counting (`<length> <message>`, the length in bytes), which any message content
 * survives — newlines included — and which rsyslog, syslog-ng and SIEM collectors accept.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME origingate <gateway id> <event id> [origingate@32473 id=".." ...] BOM{json}
 *
 *  - PRI: facility 13 (log audit) × 8 + severity: 3 error (`dropped` rows, gaps), 4 warning
 *    (rejected), 5 notice (report_only), 6 informational (accepted);
 *  - TIMESTAMP: the event's `ts` (UTC, milliseconds); HOSTNAME: the gateway's host;
 *  - MSGID: the event id — a receiver that sees an id twice (at-least-once delivery) keeps one;
 *  - structured data `origingate@32473` (32473 is the enterprise number RFC 5612 reserves
 *    for documentation; there is no registered one): id, kind, tenant, decision, reason,
 *    origin, remoteAddr, gatewayId, count — what a SIEM filters on without parsing JSON;
 *  - MSG: the whole event as JSON (the audit API's shape), UTF-8 with the BOM RFC 5424 asks for.
 * A gap (events this destination lost, server/siem/siem-sink.ts) is MSGID `gap`, severity 3,
 * `[origingate@32473 dropped="N" gatewayId=".."]`.
 *
 * Pure; no I/O.
 */
import type { ExportedEvent } from "./exported-event";

const FACILITY_LOG_AUDIT = 13;
export const SD_ID = "origingate@32473";
const BOM = "\uFEFF";
/** Parameters copied into the structured data, when present. */
const SD_PARAMS = ["id", "kind", "tenant", "decision", "reason", "origin", "remoteAddr", "gatewayId", "count"] as const;

function severity(event: ExportedEvent): number {
  if (event.kind === "dropped") return 3;
  if (event.decision === "rejected") return 4;
  if (event.decision === "report_only") return 5;
  return 6;
}

/** A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3). */
export function sdValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII without spaces, at most `max` characters, `-` when empty. */
export function headerField(value: string | null | undefined, max: number): string {
  const cleaned = (value ?? "").replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return cleaned === "" ? "-" : cleaned;
}

function message(pri: number, ts: string, host: string, procId: string, msgId: string, sd: string, msg: string) {
  return `<${pri}>1 ${ts} ${headerField(host, 255)} origingate ${headerField(procId, 128)} ${headerField(msgId, 32)} ${sd} ${BOM}${msg}`;
}

/** One event as an RFC 5424 message (not framed). */
export function syslogMessage(event: ExportedEvent, host: string): string {
  const params: string[] = [];
  for (const name of SD_PARAMS) {
    const value = event[name];
    if (value !== null && value !== undefined) params.push(`${name}="${sdValue(String(value))}"`);
  }
  return message(
    FACILITY_LOG_AUDIT * 8 + severity(event),
    event.ts,
    host,
    String(event.gatewayId ?? "-"),
    event.id,
    `[${SD_ID} ${params.join(" ")}]`,
    JSON.stringify(event),
  );
}

/** The notice of `dropped` events this destination will never receive from `gatewayId`. */
export function syslogGapMessage(dropped: number, gatewayId: string, host: string, now = new Date()): string {
  const text = `${dropped} audit event(s) from gateway ${gatewayId} were not exported to this destination: its buffer was full`;
  return message(
    FACILITY_LOG_AUDIT * 8 + 3,
    now.toISOString(),
    host,
    gatewayId,
    "gap",
    `[${SD_ID} dropped="${dropped}" gatewayId="${sdValue(gatewayId)}"]`,
    JSON.stringify({ type: "gap", dropped, gatewayId, ts: now.toISOString(), message: text }),
  );
}

/** RFC 6587 octet counting: `<byte length> <message>`. */
export function octetFrame(message: string): string {
  return `${Buffer.byteLength(message, "utf8")} ${message}`;
}
