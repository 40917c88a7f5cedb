/**
 * For tests that call the dashboard's server code directly: the AppError (status, code,
 * details) a call must fail with.
 */
import { AppError } from "../../server/domain/errors";

/** Resolves with the AppError `promise` rejects with; fails the test on success or another error. */
export async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected the promise to reject with an AppError");
}
