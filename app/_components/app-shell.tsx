"use client";
/** The console frame: navigation (collapses to a top bar on narrow windows), user and sign-out. */
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useState } from "react";
import { authClient } from "@/app/_client/auth-client";
import { useSession } from "@/app/_client/session";
import type { Theme } from "@/app/_client/theme";
import { can, type Permission } from "@/server/domain/auth/permissions";
import { ThemeToggle } from "./theme-toggle";

const NAV: Array<{ href: string; label: string; permission: Permission }> = [
  { href: "/tenants", label: "Tenants", permission: "tenants.read" },
  { href: "/gateways", label: "Gateways", permission: "gateways.read" },
  { href: "/audit", label: "Audit", permission: "audit.read" },
  { href: "/tester", label: "Tester", permission: "tester.run" },
  { href: "/users", label: "Users", permission: "users.manage" },
  { href: "/tokens", label: "API tokens", permission: "tokens.manage" },
  { href: "/siem", label: "SIEM export", permission: "siem.manage" },
  { href: "/alerts", label: "Alerts", permission: "alerts.manage" },
  { href: "/activity", label: "Activity", permission: "activity.read" },
];

export function AppShell({ children, theme }: { children: ReactNode; theme: Theme }) {
  const session = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);

  async function signOut() {
    setSigningOut(true);
    try {
      await authClient.signOut();
    } finally {
      router.replace("/login");
      router.refresh();
    }
  }

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="sidebar">
        <div className="brand-row">
          <Link href="/tenants" className="brand">
            <span className="brand-mark" aria-hidden="true">
              ◆
            </span>{" "}
            OriginGate
          </Link>
          <button
            type="button"
            className="nav-toggle"
            aria-expanded={open}
            aria-controls="main-nav"
            onClick={() => setOpen((o) => !o)}
          >
            Menu
          </button>
        </div>
        <nav id="main-nav" className={open ? "nav nav-open" : "nav"} aria-label="Main">
          {NAV.filter((item) => can(session.role, item.permission)).map((item) => {
            const active = pathname === item.href || pathname.startsWith(`${item.href}/`);
            return (
              <Link
                key={item.href}
                href={item.href}
                className={active ? "nav-link active" : "nav-link"}
                aria-current={active ? "page" : undefined}
                onClick={() => setOpen(false)}
              >
                {item.label}
              </Link>
            );
          })}
        </nav>
        <div className="user-box">
          <Link href="/account" className="user-email" title={`${session.email}: password, second factor, sessions`}>
            {session.email}
          </Link>
          <span className={`badge role-${session.role}`} data-testid="current-role">
            {session.role}
          </span>
          <ThemeToggle initial={theme} />
          <button type="button" className="btn btn-ghost btn-sm" onClick={signOut} disabled={signingOut}>
            {signingOut ? "Signing out…" : "Sign out"}
          </button>
        </div>
      </header>
      <main id="main" className="content">
        {children}
      </main>
    </div>
  );
}
