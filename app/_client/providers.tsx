"use client";
import { QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { z } from "zod";
import { getQueryClient } from "./get-query-client";
import { ToastProvider } from "./toast";

// The dashboard's Content-Security-Policy has no 'unsafe-eval' (app/_lib/security): zod would
// probe `Function("")` to pick its faster code path, which the browser refuses and reports as
// a violation. Its eval-free path everywhere in the browser.
z.config({ jitless: true });

export function Providers({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  return (
    <QueryClientProvider client={queryClient}>
      <ToastProvider>{children}</ToastProvider>
    </QueryClientProvider>
  );
}
