/**
 * The browser's way to call /api/v1: same-origin fetch with the session cookie, JSON in and
 * out, errors turned into ApiError carrying the API's { code, message, details }.
 */

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? "GET",
    headers: {
      Accept: "application/json",
      ...(init.body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...init.headers,
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    credentials: "same-origin",
    cache: "no-store",
    signal: init.signal,
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // fall through: not JSON
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (response.status === 401 && typeof window !== "undefined" && !path.startsWith("/api/auth")) {
      // Session expired: back to the sign-in page, returning here afterwards.
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    }
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `Request failed (${response.status})`,
      error?.details,
      (error as Record<string, unknown> | undefined) ?? undefined,
    );
  }
  return json as T;
}

/** The API's validation issues (`details: [{ path, message }]`) carried by an error; [] for any other error. */
export function validationIssues(error: unknown): ValidationIssue[] {
  return error instanceof ApiError && Array.isArray(error.details) ? (error.details as ValidationIssue[]) : [];
}

/** The same issues as `{ path: message }`, for a form's fields. */
export function fieldErrors(error: unknown): Record<string, string> {
  return Object.fromEntries(validationIssues(error).map((d) => [d.path, d.message]));
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
