/**
 * The policy document most tests start from: enforce exactly `origins`, no credentials, no
 * token, a missing Origin refused, no subprotocols, the default limits written out (what the
 * API returns for it).
 */
export function enforcingDocument(origins: string[]) {
  return {
    mode: "enforce",
    origins: origins.map((pattern) => ({ pattern })),
    credentials: "forbid",
    token: "off",
    missingOrigin: "reject",
    subprotocols: [] as string[],
    limits: { maxMessageBytes: 1048576, idleTimeoutSeconds: 60, maxConnections: 10000, handshakesPerMinutePerIp: 600 },
  };
}
