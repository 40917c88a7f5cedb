/**
 * `ADMIN_HOST`/`ADMIN_PORT` in the configuration (server/config.ts): off by default, loopback
 * by default when on, and one readable line for every bad combination.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config";

const load = (env: Record<string, string>) => loadConfig(env as NodeJS.ProcessEnv);

describe("admin listener configuration", () => {
  it("is off unless ADMIN_PORT is set, and binds to loopback unless ADMIN_HOST says otherwise", () => {
    expect(load({}).admin).toBeNull();
    expect(load({ ADMIN_PORT: "9090" }).admin).toEqual({ host: "127.0.0.1", port: 9090 });
    expect(load({ ADMIN_PORT: "9090", ADMIN_HOST: "0.0.0.0" }).admin).toEqual({ host: "0.0.0.0", port: 9090 });
    expect(load({ ADMIN_PORT: "9090", ADMIN_HOST: "::1" }).admin).toEqual({ host: "::1", port: 9090 });
    expect(load({ ADMIN_PORT: "9090", ADMIN_HOST: "admin.internal" }).admin?.host).toBe("admin.internal");
  });

  it("refuses bad values with one line naming the variable", () => {
    expect(() => load({ ADMIN_HOST: "127.0.0.1" })).toThrow(
      "Invalid configuration: ADMIN_HOST is set but ADMIN_PORT is not",
    );
    expect(() => load({ ADMIN_PORT: "8080" })).toThrow("ADMIN_PORT must differ from GATEWAY_PORT (both are 8080)");
    expect(() => load({ ADMIN_PORT: "8081", GATEWAY_PORT: "8081" })).toThrow(
      "ADMIN_PORT must differ from GATEWAY_PORT",
    );
    for (const bad of ["0", "65536", "80a", "-1"]) {
      expect(() => load({ ADMIN_PORT: bad })).toThrow(`ADMIN_PORT must be an integer from 1 to 65535 (got "${bad}")`);
    }
    expect(() => load({ ADMIN_PORT: "9090", ADMIN_HOST: "bad host/x" })).toThrow(
      'ADMIN_HOST must be an IP address or a host name (got "bad host/x")',
    );
  });
});
