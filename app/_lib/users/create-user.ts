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
import type { Role } from "../auth/permissions";
import type { Db } from "../db";
import { AppError } from "../errors";
import { createUserInput } from "./user-input";

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

export async function createUser(options: { db: Db; input: z.input<typeof createUserInput> }): Promise<UserView> {
  const input = createUserInput.parse(options.input);
  const existing = await options.db.user.findUnique({ where: { email: input.email }, select: { id: true } });
  if (existing) throw new AppError("conflict", `A user with the e-mail ${input.email} already exists`);
  const passwordHash = await hashPassword(input.password);
  const id = randomUUID();
  const now = new Date();
  const user = await options.db.user.create({
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
  return { id: user.id, email: user.email, name: user.name, role: user.role, createdAt: user.createdAt.toISOString() };
}
