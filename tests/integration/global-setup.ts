// Vitest global setup of the integration tier: one Postgres and one migrated template per
// run (see tests/helpers/test-server.ts). Test files run in workers that inherit process.env.
import { setUpTestServer } from "../helpers/test-server";

export default async function setup(): Promise<() => Promise<void>> {
  const { teardown } = await setUpTestServer();
  return teardown;
}
