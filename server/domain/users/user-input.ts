/** Boundary schemas for user accounts (Users page, API, ctl, setup). Browser-safe. */
import { z } from "zod";
import { ROLES } from "../auth/permissions";

export const MIN_PASSWORD = 12;
export const MAX_PASSWORD = 256;

export const emailSchema = z
  .string()
  .trim()
  .max(254, "at most 254 characters")
  .pipe(z.email("must be an e-mail address"))
  .transform((v) => v.toLowerCase());

export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD, `at least ${MIN_PASSWORD} characters`)
  .max(MAX_PASSWORD, `at most ${MAX_PASSWORD} characters`);

export const createUserInput = z
  .object({
    email: emailSchema,
    name: z.string().trim().max(120, "at most 120 characters").optional(),
    password: passwordSchema,
    role: z.enum(ROLES),
  })
  .strict();

export const updateUserInput = z.object({ role: z.enum(ROLES) }).strict();
