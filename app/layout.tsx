import type { Metadata, Viewport } from "next";
import { cookies } from "next/headers";
import { connection } from "next/server";
import type { ReactNode } from "react";
import { Providers } from "./_client/providers";
import { parseTheme, THEME_COOKIE, themeAttribute } from "./_client/theme";
import "./globals.css";
import "./theme.css";

export const metadata: Metadata = {
  title: { default: "OriginGate", template: "%s · OriginGate" },
  description: "WebSocket origin policy: control plane and enforcement gateway",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request: its scripts carry that response's CSP nonce (proxy.ts).
  await connection();
  // The chosen colour theme is rendered into the first byte of HTML: no flash, no script.
  const theme = parseTheme((await cookies()).get(THEME_COOKIE)?.value);
  return (
    <html lang="en" data-theme={themeAttribute(theme)}>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
