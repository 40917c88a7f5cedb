import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Providers } from "./_client/providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "OriginGate", template: "%s · OriginGate" },
  description: "WebSocket origin policy: control plane and enforcement gateway",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
