/**
 * recordActivity: the one way an entry reaches the admin activity log (SPEC §7, table
 * `activity`, append-only — the database refuses UPDATE, DELETE and TRUNCATE).
 *
 * Domain functions call it INSIDE the transaction of the change they make (documenso's
 * pattern): the entry commits with the change or not at all, so the log never claims a change
 * that did not happen and never misses one that did. Better Auth's own events (sign-in, sign-out,
 * password change, second factor) are recorded from its hooks (app/_lib/auth/auth-hooks.ts).
 *
 * Every /api/v1 write route declares the action it records (`apiRoute({ activity })`);
 * apiRoute checks after a successful write that exactly that was recorded in the request
 * (activity-scope.ts), and tests/e2e/api-permissions.spec.ts calls every write route and counts
 * the rows. Actor and target are text (an e-mail, `token:<name>`, a slug), never foreign keys:
 * deleting a user or a tenant never touches the log. Nothing secret goes into an entry.
 */
import "server-only";
import type { Db } from "../../db/prisma";
import { noteRecorded } from "./activity-scope";

export type ActorKind = "user" | "token" | "system" | "anonymous";

/** Who did something, and from where. */
export interface Actor {
  /** User or API-token id; null for the system and the command line. */
  id: string | null;
  /** "alice@example.com", "token:ci-deploy", "ctl", "setup", "oidc". */
  label: string;
  kind?: ActorKind;
  /** The client address by the TRUST_PROXY rule; null or absent for the command line. */
  address?: string | null;
  /** An API token scoped for policy as code: may write tenants managed by code. */
  policyAsCode?: boolean;
}

export const SYSTEM_ACTOR = (label: string): Actor => ({ id: null, label, kind: "system", address: null });

export interface ActivityInput {
  actor: Actor;
  /** Dotted name: `policy.save`, `token.create`, `user.create`, `tenant.delete`, `auth.sign_in_failed`… */
  action: string;
  /** What it was done to, as readable text: a tenant slug, an e-mail, a token name. */
  target?: string | null;
  /** One readable line. */
  summary: string;
  details?: Record<string, unknown>;
}

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const MAX_TEXT = 1000;

const clipText = (value: string, max = MAX_TEXT) => (value.length > max ? `${value.slice(0, max - 1)}…` : value);

export async function recordActivity(db: Db, input: ActivityInput): Promise<void> {
  if (!ACTION.test(input.action)) throw new Error(`activity action "${input.action}" is not a dotted name`);
  await db.activityEntry.create({
    data: {
      actor: clipText(input.actor.label, 320),
      actorKind: input.actor.kind ?? (input.actor.id === null ? "system" : "user"),
      actorId: input.actor.id,
      action: input.action,
      target: input.target == null ? null : clipText(input.target, 320),
      summary: clipText(input.summary),
      remoteAddr: input.actor.address ?? null,
      ...(input.details === undefined ? {} : { details: input.details as object }),
    },
  });
  noteRecorded(input.action);
}
