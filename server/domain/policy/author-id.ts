import "server-only";
import type { Actor } from "../activity/record-activity";

/** A revision's author id: the user's, never an API token's (tokens are named in `author`). */
export function authorIdOf(actor: Actor): string | null {
  return actor.kind === "token" || actor.kind === "system" ? null : actor.id;
}
