/**
 * If-Match for policy writes: the version the edit started from, as `"3"`, `3` or `W/"3"`.
 * Missing -> 428 (a blind overwrite is never allowed); unreadable -> 400.
 */
import "server-only";
import { AppError } from "@/server/domain/errors";

export function requireIfMatch(request: Request): number {
  const version = optionalIfMatch(request);
  if (version === undefined) {
    throw new AppError(
      "precondition_required",
      'If-Match is required: send the version you edited (from GET .../policy, e.g. If-Match: "3") so concurrent changes are not overwritten',
    );
  }
  return version;
}

export function optionalIfMatch(request: Request): number | undefined {
  const header = request.headers.get("if-match");
  if (header === null || header.trim() === "") return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match?.[1]) throw new AppError("bad_request", 'If-Match must be a policy version, e.g. If-Match: "3"');
  return Number(match[1]);
}

export function etag(version: number): string {
  return `"${version}"`;
}
