/**
 * The policy engine (SPEC §4): origin parsing, pattern validation, the compiled matcher,
 * handshake decisions, explanations and bypass variants. Pure — no database, sockets,
 * framework or clock — so the gateway enforces and the dashboard validates and explains
 * with exactly the same code.
 *
 * This entry point includes the token verifier (node:crypto) and is for server code
 * (gateway, route handlers, server components). Client components import
 * `server/policy/browser` instead.
 */
export * from "./browser";
export {
  type Decision,
  decideHandshake,
  evaluateHandshake,
  type HandshakeRequest,
  presentedTokenState,
  TOKEN_STATES,
  type TokenState,
  tokenFromSubprotocols,
} from "./decide-handshake";
export { explainHandshake, type HandshakeExplanation } from "./explain-handshake";
export {
  compileForReplay,
  decodeOfferedSubprotocols,
  encodeOfferedSubprotocols,
  type ImpactEntry,
  type ImpactResult,
  type ReplayGroup,
  type ReplayGroupTotal,
  ReplayProbes,
  type ReplayTuple,
  replayGroups,
  replayImpact,
  replayVariantIndex,
} from "./replay-impact";
export { signHandshakeToken, type TokenVerification, verifyHandshakeToken } from "./token";
