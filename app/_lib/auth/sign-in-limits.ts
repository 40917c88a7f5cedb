/**
 * How many password guesses a sign-in may cost, without handing anyone a way to lock a
 * user out (the old rule — ten failures per account from anywhere, then 429 for everyone —
 * let any stranger lock the admin out for five minutes). Pure: the state comes in, the
 * verdict goes out; app/_lib/auth/sign-in-guard.ts keeps the state in Postgres.
 *
 * Only failures count (a wrong password, an unknown account); a success clears its own.
 * Counters are kept per key and forgotten once WINDOW passes without a new failure:
 *
 *  - per (account, address): PAIR_FREE failures, then exponential backoff — each further
 *    attempt from that address for that account waits BASE_DELAY, 2x, 4x… up to MAX_DELAY
 *    after the last failure;
 *  - per address (all accounts): ADDRESS_MAX failures, then that address waits until its
 *    failures are forgotten (password spraying from one place);
 *  - per account (all addresses): from ACCOUNT_UNDER_ATTACK failures on, the account is
 *    under attack, and an address that has already failed for it waits until that failure
 *    is forgotten (WINDOW after it). A distributed guesser gets about one guess per address
 *    and window; an address that has not failed — the real user at their desk — is not
 *    slowed at all;
 *  - a known address — one this account signed in from successfully within KNOWN_DAYS — is
 *    exempt from the address and account rules (only its own pair backoff applies), so a
 *    flood from elsewhere, or from other accounts on a shared address, never blocks it.
 * Limits apply to the client address of server/net/client-address.ts (TRUST_PROXY), so a
 * rotating X-Forwarded-For is one address unless a trusted proxy vouches for it.
 */

export const SIGN_IN_LIMITS = {
  windowSeconds: 15 * 60,
  pairFree: 5,
  baseDelaySeconds: 15,
  maxDelaySeconds: 15 * 60,
  addressMax: 30,
  accountUnderAttack: 20,
  knownDays: 30,
} as const;

export interface GuardState {
  failures: number;
  /** Epoch milliseconds, or null. */
  lastFailureAt: number | null;
  lastSuccessAt: number | null;
}

export const EMPTY_GUARD: GuardState = Object.freeze({ failures: 0, lastFailureAt: null, lastSuccessAt: null });

export type SignInVerdict =
  | { allowed: true }
  | { allowed: false; scope: "pair" | "address" | "account"; retryAfterSeconds: number };

/** Failures still remembered at `now` (0 once the window passed without a new one). */
export function liveFailures(state: GuardState, now: number, limits = SIGN_IN_LIMITS): number {
  if (state.lastFailureAt === null || now - state.lastFailureAt >= limits.windowSeconds * 1000) return 0;
  return state.failures;
}

/** Backoff owed after `failures` when the first `free` cost nothing: 0, then BASE_DELAY, 2x, 4x… */
export function backoffSeconds(failures: number, free: number, limits = SIGN_IN_LIMITS): number {
  if (failures < free || failures === 0) return 0;
  const over = failures - Math.max(free, 1);
  return Math.min(limits.baseDelaySeconds * 2 ** Math.min(over, 30), limits.maxDelaySeconds);
}

export function decideSignIn(
  state: { pair: GuardState; address: GuardState; account: GuardState },
  now: number,
  limits = SIGN_IN_LIMITS,
): SignInVerdict {
  const pairFailures = liveFailures(state.pair, now, limits);
  const known = state.pair.lastSuccessAt !== null && now - state.pair.lastSuccessAt < limits.knownDays * 86_400_000;
  const wait = (from: number | null, seconds: number) => Math.ceil(((from ?? now) + seconds * 1000 - now) / 1000);

  if (!known && liveFailures(state.address, now, limits) >= limits.addressMax) {
    const retry = wait(state.address.lastFailureAt, limits.windowSeconds);
    if (retry > 0) return { allowed: false, scope: "address", retryAfterSeconds: retry };
  }
  if (!known && pairFailures > 0 && liveFailures(state.account, now, limits) >= limits.accountUnderAttack) {
    const retry = wait(state.pair.lastFailureAt, limits.windowSeconds);
    if (retry > 0) return { allowed: false, scope: "account", retryAfterSeconds: retry };
  }
  const delay = backoffSeconds(pairFailures, limits.pairFree, limits);
  if (delay > 0) {
    const retry = wait(state.pair.lastFailureAt, delay);
    if (retry > 0) return { allowed: false, scope: "pair", retryAfterSeconds: retry };
  }
  return { allowed: true };
}
