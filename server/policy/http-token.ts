/**
 * The RFC 7230 `token` grammar (tchar+): what a header name and a WebSocket subprotocol
 * name are made of. One definition for the gateway (parsing `Sec-WebSocket-Protocol`), the
 * tester's input schema (header and subprotocol names) and policy validation.
 *
 * Browser-safe (no imports).
 */

/** One or more RFC 7230 token characters: letters, digits and !#$%&'*+-.^_`|~ */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
