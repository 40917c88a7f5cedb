/**
 * TOTP guesses are limited (SPEC §7), through Better Auth's real handler with the settings of
 * app/_lib/auth/auth.ts and the limits the README states ("Second factor (TOTP)"):
 *  - 5 wrong codes per sign-in: the next attempt, the right code included, is refused and the
 *    challenge is gone (the password again);
 *  - 10 wrong codes in a row lock the second step for 15 minutes: the right code is refused on
 *    a fresh challenge until the lock ends (its end stood in for by moving `locked_until`
 *    into the past), then accepted;
 *  - 3 attempts per 10 s per address: the fourth, the right code included, gets 429 until the
 *    window has passed (stood in for by moving the rate limit's last request back 10 s).
 * Codes are computed by the test (tests/helpers/totp.ts), never by the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrisma, type PrismaClient } from "../../server/db/prisma";
import { query } from "../helpers/fixtures";
import { createTestDatabase } from "../helpers/test-db";
import { currentStep, freshCode, secretFromUri, totp } from "../helpers/totp";

const PASSWORD = "integration-password-1";
const BASE = "http://localhost:3998";
let url: string;
let db: PrismaClient;

beforeAll(async () => {
  url = await createTestDatabase("two_factor_limits");
  // app/_lib reads its configuration once, from here.
  process.env.DATABASE_URL = url;
  process.env.DASHBOARD_URL = BASE;
  db = createPrisma(url);
});

afterAll(async () => {
  await db.$disconnect();
});

/** One statement on this file's database. */
const sql = <T extends object>(text: string, values: unknown[] = []): Promise<T[]> => query<T>(url, text, values);

let addresses = 0;
/** A client address of its own (the per-address limit is not what most steps test). */
const freshAddress = () => `198.51.100.${++addresses}`;

function request(path: string, body: unknown, cookie: string, address: string): Request {
  return new Request(`${BASE}/api/auth${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: BASE, cookie, "x-origingate-peer": address },
    body: JSON.stringify(body),
  });
}

function cookiesOf(response: Response): string {
  const jar = new Map<string, string>();
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair?.indexOf("=") ?? -1;
    if (!pair || at < 0) continue;
    const value = pair.slice(at + 1);
    if (/max-age=0/i.test(line) || value === "") jar.delete(pair.slice(0, at));
    else jar.set(pair.slice(0, at), value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

async function answer(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { code?: string };
  return `${response.status} ${body.code ?? ""}`.trim();
}

describe("TOTP guesses are limited", () => {
  it("5 per challenge, a 15-minute lock after 10 in a row, 3 per 10 s per address; the right code waits them out", async () => {
    const { createUser } = await import("../../server/domain/users/create-user");
    const { POST } = await import("../../app/api/auth/[...all]/route");
    const email = "guesses@example.com";
    const user = await createUser({ db, input: { email, password: PASSWORD, role: "editor" } });

    // Enrol: sign in, turn TOTP on, confirm with a computed code.
    const first = await POST(request("/sign-in/email", { email, password: PASSWORD }, "", freshAddress()));
    expect(first.status).toBe(200);
    const session = cookiesOf(first);
    const enable = await POST(request("/two-factor/enable", { password: PASSWORD }, session, freshAddress()));
    expect(enable.status, await enable.clone().text()).toBe(200);
    const secret = secretFromUri(((await enable.json()) as { totpURI: string }).totpURI);
    const used = new Set<string>();
    /** A code the server accepts now and that was not accepted before (waits for the next step if need be). */
    const rightCode = async (): Promise<string> => {
      let code: string | undefined;
      await expect
        .poll(
          () => {
            try {
              code = freshCode(secret, used);
              return true;
            } catch {
              return false;
            }
          },
          { timeout: 40_000, interval: 500 },
        )
        .toBe(true);
      return code as string;
    };
    /** A well-formed code that is valid for no step the server accepts now. */
    const wrongCode = (n: number): string => {
      const step = currentStep();
      const valid = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, step + d)));
      for (let i = n; ; i++) {
        const code = String((i * 137_731) % 1_000_000).padStart(6, "0");
        if (!valid.has(code)) return code;
      }
    };
    const verify = async (code: string, cookie: string, address = freshAddress()) => {
      const response = await POST(request("/two-factor/verify-totp", { code }, cookie, address));
      const result = await answer(response);
      if (response.status === 200) used.add(code);
      return result;
    };
    const confirm = await rightCode();
    expect(await verify(confirm, session)).toBe("200");
    /** A password sign-in, which now stops at the second step: the challenge cookie. */
    const challenge = async (address = freshAddress()): Promise<string> => {
      const response = await POST(request("/sign-in/email", { email, password: PASSWORD }, "", address));
      expect(await response.clone().json()).toMatchObject({ twoFactorRedirect: true });
      return cookiesOf(response);
    };
    const lock = async () =>
      (
        await sql<{ failed: number; locked_until: Date | null }>(
          "select failed_verification_count as failed, locked_until from two_factor where user_id = $1",
          [user.id],
        )
      )[0];

    // 1. Five wrong codes on one challenge; the sixth attempt is refused even with the right
    //    code, and the challenge is gone: the password again, and then the right code works.
    const a = await challenge();
    for (let i = 0; i < 5; i++) expect(await verify(wrongCode(i), a)).toBe("401 INVALID_CODE");
    const refusedRight = await rightCode();
    expect(await verify(refusedRight, a)).toBe("400 TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE");
    expect(await verify(refusedRight, a)).toBe("401 INVALID_TWO_FACTOR_COOKIE");
    expect(await verify(await rightCode(), await challenge())).toBe("200");
    expect((await lock())?.failed).toBe(0); // a success resets the count of wrong codes in a row

    // 2. Ten wrong codes in a row (over two challenges) lock the second step for 15 minutes.
    const b1 = await challenge();
    for (let i = 0; i < 5; i++) expect(await verify(wrongCode(10 + i), b1)).toBe("401 INVALID_CODE");
    const b2 = await challenge();
    for (let i = 0; i < 4; i++) expect(await verify(wrongCode(20 + i), b2)).toBe("401 INVALID_CODE");
    expect((await lock())?.locked_until).toBeNull();
    const before = Date.now();
    expect(await verify(wrongCode(30), b2)).toBe("401 INVALID_CODE");
    const after = Date.now();
    const locked = await lock();
    expect(locked?.failed).toBe(10);
    const until = locked?.locked_until?.getTime() ?? 0;
    expect(until).toBeGreaterThanOrEqual(before + 15 * 60_000 - 1_000);
    expect(until).toBeLessThanOrEqual(after + 15 * 60_000 + 1_000);
    // While locked, the right code is refused on a fresh challenge (and a recovery code too).
    const b3 = await challenge();
    const whileLocked = await rightCode();
    expect(await verify(whileLocked, b3)).toBe("429 ACCOUNT_TEMPORARILY_LOCKED");
    const backup = await POST(request("/two-factor/verify-backup-code", { code: "xxxxx-xxxxx" }, b3, freshAddress()));
    expect(await answer(backup)).toBe("429 ACCOUNT_TEMPORARILY_LOCKED");
    expect(await verify(whileLocked, b3)).toBe("429 ACCOUNT_TEMPORARILY_LOCKED");
    // The 15 minutes pass: the same challenge now takes the right code.
    await sql("update two_factor set locked_until = now() - interval '1 second' where user_id = $1", [user.id]);
    expect(await verify(await rightCode(), b3)).toBe("200");
    expect(await lock()).toEqual({ failed: 0, locked_until: null });

    // 3. Three attempts per 10 s from one address: the fourth gets 429, the right code too,
    //    until the window has passed.
    const address = freshAddress();
    const c = await challenge(freshAddress());
    // The right code first: waiting for one here would let the 10 s pass.
    const limited = await rightCode();
    for (let i = 0; i < 3; i++) expect(await verify(wrongCode(40 + i), c, address)).toBe("401 INVALID_CODE");
    expect(await verify(limited, c, address)).toBe("429");
    // Ten seconds pass for that address.
    const moved = await sql(
      "update rate_limit set last_request = last_request - 10000 where key like $1 returning key",
      [`%${address}%two-factor%`],
    );
    expect(moved).toHaveLength(1);
    expect(await verify(limited, c, address)).toBe("200");
  });
});
