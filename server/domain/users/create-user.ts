/**
 * Creates a user who signs in with e-mail and password: the `user` row and Better Auth's
 * `credential` account holding the password hash (Better Auth's own scrypt hasher, so its
 * sign-in verifies it). Used by the Users page, `npm run ctl -- user:create` and the
 * first-admin setup (inside its transaction).
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { hashPassword } from "better-auth/crypto";
import type { z } from "zod";
import { config } from "../../config";
import { type Db, inTransaction } from "../../db/prisma";
import { type Actor, recordActivity, SYSTEM_ACTOR } from "../activity/record-activity";
import type { Role } from "../auth/permissions";
import { AppError } from "../errors";
import { createUserInput } from "./user-input";

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

export async function createUser(options: {
  db: Db;
  input: z.input<typeof createUserInput>;
  actor?: Actor;
}): Promise<UserView> {
  const input = createUserInput.parse(options.input);
  if (!config().PASSWORD_SIGN_IN) {
    throw new AppError(
      "conflict",
      "Password sign-in is turned off (PASSWORD_SIGN_IN=false): people sign in with single sign-on, and their account is created at their first sign-in",
    );
  }
  const passwordHash = await hashPassword(input.password);
  const id = randomUUID();
  const now = new Date();
  const user = await inTransaction(options.db, async (tx) => {
    const existing = await tx.user.findUnique({ where: { email: input.email }, select: { id: true } });
    if (existing) throw new AppError("conflict", `A user with the e-mail ${input.email} already exists`);
    const created = await tx.user.create({
      data: {
        id,
        email: input.email,
        name: input.name?.trim() || input.email.split("@")[0] || input.email,
        role: input.role,
        emailVerified: true,
        createdAt: now,
        updatedAt: now,
        accounts: {
          create: {
            id: randomUUID(),
            accountId: id,
            providerId: "credential",
            password: passwordHash,
            createdAt: now,
            updatedAt: now,
          },
        },
      },
    });
    await recordActivity(tx, {
      actor: options.actor ?? SYSTEM_ACTOR("internal"),
      action: "user.create",
      target: created.email,
      summary: `Created ${created.role} ${created.email} (signs in with a password)`,
    });
    return created;
  });
  return { id: user.id, email: user.email, name: user.name, role: user.role, createdAt: user.createdAt.toISOString() };
}
