/**
 * Export of a filtered audit result (`GET /api/v1/audit/export`) as CSV or NDJSON, newest
 * first — the same rows, in the same order, as paging through the history search.
 *
 * Streamed: rows are read in keyset pages of PAGE_SIZE with the gateway's query and written
 * as the client reads (a pull stream: a slow download holds one page in memory, not the
 * result). Capped at MAX_EXPORT_ROWS; when more rows match, the file ends with a marker that
 * says so and where to continue (`cursor=<id>`): a CSV comment line `# truncated ...`, or an
 * NDJSON record `{"truncated":true,...}`. A file without that marker is complete.
 * Server-only.
 */
import "server-only";
import { log } from "@/app/_lib/log";
import { type AuditEvent, type Queryable, resolveAuditRange, searchAudit } from "@/server/db/audit-queries";
import { auditCsvHeader, auditCsvRow } from "./audit-csv";
import type { AuditExportFilter } from "./audit-filter-input";

export const MAX_EXPORT_ROWS = 100_000;
const PAGE_SIZE = 1000;

export type ExportFormat = "csv" | "ndjson";

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: "text/csv; charset=utf-8",
  ndjson: "application/x-ndjson; charset=utf-8",
};

export interface ExportOptions {
  db: Queryable;
  filter: AuditExportFilter;
  format: ExportFormat;
  maxRows?: number;
  pageSize?: number;
}

/** The export as text chunks (one per page): header, rows, then the truncation marker if any. */
export async function* auditExportChunks(options: ExportOptions): AsyncGenerator<string> {
  const maxRows = options.maxRows ?? MAX_EXPORT_ROWS;
  const pageSize = Math.min(options.pageSize ?? PAGE_SIZE, 1000);
  const row = options.format === "csv" ? auditCsvRow : (e: AuditEvent) => `${JSON.stringify(e)}\n`;
  if (options.format === "csv") yield auditCsvHeader();
  // A relative range is fixed once: every page of the file covers the same window.
  const filter = resolveAuditRange(options.filter, new Date());
  let cursor = filter.cursor;
  let written = 0;
  for (;;) {
    const limit = Math.min(pageSize, maxRows - written);
    const page = await searchAudit(options.db, { ...filter, cursor, limit });
    if (page.events.length > 0) yield page.events.map(row).join("");
    written += page.events.length;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
    if (written >= maxRows) {
      yield truncationMarker(options.format, written, cursor);
      return;
    }
  }
}

function truncationMarker(format: ExportFormat, rows: number, nextCursor: string): string {
  if (format === "ndjson") {
    const message = `export stopped at ${rows} rows and more events match; continue with cursor=${nextCursor} (or narrow the filters)`;
    return `${JSON.stringify({ truncated: true, rows, nextCursor, message })}\n`;
  }
  return `# truncated: export stopped at ${rows} rows and more events match; continue with cursor=${nextCursor} (or narrow the filters)\r\n`;
}

/** The export as a byte stream for a Response body, read as the client reads. */
export function exportAuditEvents(options: ExportOptions): ReadableStream<Uint8Array> {
  const chunks = auditExportChunks(options);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (error) {
          // Headers are gone already: failing the stream makes the download fail visibly
          // instead of ending as a file that looks complete.
          log().error({ err: (error as Error).message, format: options.format }, "audit export failed");
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

export function exportFilename(format: ExportFormat, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `origingate-audit-${stamp}.${format}`;
}
