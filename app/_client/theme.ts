/**
 * The dashboard's colour theme: `system` (follow the OS, prefers-color-scheme; the default),
 * `light` or `dark`, remembered in a cookie. The server reads the cookie and renders
 * `<html data-theme>` (app/layout.tsx), so the first paint already has the right colours
 * with no inline script (which the nonce-based CSP would have to admit); app/theme.css
 * holds the colours. Browser-safe.
 */
export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];

export const THEME_COOKIE = "origingate.theme";
const ONE_YEAR_SECONDS = 365 * 86_400;

export function parseTheme(value: string | undefined | null): Theme {
  return THEMES.find((t) => t === value) ?? "system";
}

/** The `data-theme` attribute of <html>: absent while the OS decides. */
export function themeAttribute(theme: Theme): "light" | "dark" | undefined {
  return theme === "system" ? undefined : theme;
}

/** The Set-Cookie value the toggle writes (document.cookie): not a secret, readable by the page. */
export function themeCookie(theme: Theme, secure: boolean): string {
  return `${THEME_COOKIE}=${theme}; Path=/; Max-Age=${ONE_YEAR_SECONDS}; SameSite=Lax${secure ? "; Secure" : ""}`;
}
