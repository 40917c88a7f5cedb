/**
 * First-admin setup (/setup): the one-time setup token printed at first start, plus the
 * admin's e-mail, name and password. In ONE transaction: lock the setup_token row, check
 * the token (SHA-256, constant-time compare), that it is unused and that no admin exists
 * yet, create the admin, mark the token used. Two concurrent attempts cannot both win.
 */
import "server-only";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { PrismaClient } from "@/server/db/prisma";
import { hashToken } from "@/server/db/setup-token";
import { AppError } from "@/server/domain/errors";
import { createUser, type UserView } from "@/server/domain/users/create-user";
import { emailSchema, passwordSchema } from "@/server/domain/users/user-input";

export const completeSetupInput = z
  .object({
    token: z.string().trim().min(1, "required").max(200),
    email: emailSchema,
    name: z.string().trim().max(120).optional(),
    password: passwordSchema,
  })
  .strict();

const REFUSED = "This setup token is not valid (it may be mistyped, already used, or replaced by a newer one)";

/** Whether /setup can still be used at all (no admin yet). */
export async function setupAvailable(options: { db: PrismaClient }): Promise<boolean> {
  const admins = await options.db.user.count({ where: { role: "admin" } });
  return admins === 0;
}

export async function completeSetup(options: {
  db: PrismaClient;
  input: z.input<typeof completeSetupInput>;
  /** The client address (activity log: `user.create` by "setup"). */
  address?: string | null;
}): Promise<UserView> {
  const input = completeSetupInput.parse(options.input);
  const presented = Buffer.from(hashToken(input.token), "hex");
  return options.db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<Array<{ token_hash: string; used_at: Date | null }>>`
      select token_hash, used_at from setup_token where id = 1 for update`;
    const row = rows[0];
    const stored = row ? Buffer.from(row.token_hash, "hex") : Buffer.alloc(presented.length);
    const matches = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (!row || !matches || row.used_at !== null) throw new AppError("forbidden", REFUSED);
    if ((await tx.user.count({ where: { role: "admin" } })) > 0) {
      throw new AppError("setup_unavailable", "An admin already exists: sign in, or ask an admin for an account");
    }
    const user = await createUser({
      db: tx,
      input: { email: input.email, name: input.name, password: input.password, role: "admin" },
      actor: { id: null, label: "setup", kind: "system", address: options.address ?? null },
    });
    await tx.$executeRaw`update setup_token set used_at = now() where id = 1`;
    return user;
  });
}
