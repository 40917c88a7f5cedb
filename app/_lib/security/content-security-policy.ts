/**
 * The dashboard's Content-Security-Policy, set on every page by proxy.ts with a fresh nonce
 * per request (Next.js reads the nonce from the request's CSP header and puts it on its own
 * scripts; pages are rendered per request, see app/layout.tsx).
 *
 *   script-src  only scripts carrying this response's nonce, and what they load
 *               ('strict-dynamic'): an injected <script>, inline event handler or
 *               javascript: URL does not run;
 *   style-src   our stylesheets, plus inline style attributes (React's `style` props; a
 *               style cannot run code);
 *   connect-src this origin (the API) and the gateway's public origin (the live audit feed
 *               is a WebSocket to GATEWAY_PUBLIC_URL);
 *   frame-ancestors 'none', form-action/base-uri 'self', object-src 'none'.
 * In development React needs 'unsafe-eval' (error overlays), and only there. Pure.
 */

export function contentSecurityPolicy(options: { nonce: string; gatewayPublicUrl: string; dev: boolean }): string {
  const gateway = new URL(options.gatewayPublicUrl);
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${options.nonce}' 'strict-dynamic'${options.dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${gateway.protocol}//${gateway.host}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ];
  return directives.join("; ");
}
