/**
 * handleApiError: every route handler's one way of turning an exception into the API's
 * error shape `{ error: { code, message, details? } }` (SPEC §10).
 *
 *   AppError          -> its status, code, message, details (user-safe by construction)
 *   ZodError          -> 422 validation_failed, details [{ path, message }]
 *   Prisma P2002      -> 409 conflict (unique constraint)
 *   Prisma P2025      -> 404 not_found (record to update/delete vanished)
 *   anything else     -> 500 internal, generic message; the cause is logged, never sent.
 */
import "server-only";
import { ZodError } from "zod";
import { log } from "@/app/_lib/log";
import { AppError } from "@/server/domain/errors";

export function errorBody(code: string, message: string, details?: unknown, extra?: Record<string, unknown>) {
  return { error: { code, message, ...(details === undefined ? {} : { details }), ...(extra ?? {}) } };
}

export function zodPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

function prismaCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === "string" && /^P\d{4}$/.test(code)) return code;
  }
  return undefined;
}

export function handleApiError(error: unknown): Response {
  if (error instanceof AppError) {
    if (error.status >= 500)
      log().error({ code: error.code, err: describeError(error.cause ?? error) }, "request failed");
    return Response.json(errorBody(error.code, error.message, error.details, error.extra), {
      status: error.status,
      headers: error.status === 429 ? { "Retry-After": "60" } : undefined,
    });
  }
  if (error instanceof ZodError) {
    const details = error.issues.map((issue) => ({ path: zodPath(issue.path), message: issue.message }));
    return Response.json(errorBody("validation_failed", "The request is invalid", details), { status: 422 });
  }
  const code = prismaCode(error);
  if (code === "P2002") {
    return Response.json(errorBody("conflict", "Something with the same unique value already exists"), { status: 409 });
  }
  if (code === "P2025") {
    return Response.json(errorBody("not_found", "Not found (it may have been deleted meanwhile)"), { status: 404 });
  }
  log().error({ err: describeError(error) }, "unhandled error in API route");
  return Response.json(errorBody("internal", "Internal error; the server log has the details"), { status: 500 });
}

/** Message and stack only: never the request, headers or bodies that might hold secrets. */
function describeError(error: unknown): { message: string; stack?: string } {
  if (error instanceof Error) return { message: error.message, stack: error.stack };
  return { message: String(error) };
}
