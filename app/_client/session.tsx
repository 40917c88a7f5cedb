"use client";
/** The signed-in user as the server resolved it for this page (role decides what is shown). */
import { createContext, type ReactNode, useContext } from "react";
import { can, type Permission, type Role } from "@/server/domain/auth/permissions";

export interface SessionInfo {
  email: string;
  name: string;
  role: Role;
}

const SessionContext = createContext<SessionInfo | null>(null);

export function SessionProvider({ value, children }: { value: SessionInfo; children: ReactNode }) {
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionInfo {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

export function useCan(permission: Permission): boolean {
  return can(useSession().role, permission);
}
