"use client";
/**
 * The colour theme picker (System / Light / Dark): applies at once by setting <html
 * data-theme>, and is remembered in a cookie the server reads on the next page load, so a
 * reload paints in the chosen theme from the start (app/_client/theme.ts).
 */
import { useState } from "react";
import { parseTheme, THEMES, type Theme, themeAttribute, themeCookie } from "@/app/_client/theme";

const LABELS: Record<Theme, string> = { system: "System", light: "Light", dark: "Dark" };

export function ThemeToggle({ initial }: { initial: Theme }) {
  const [theme, setTheme] = useState<Theme>(initial);

  function choose(next: Theme) {
    setTheme(next);
    const attribute = themeAttribute(next);
    if (attribute) document.documentElement.dataset.theme = attribute;
    else delete document.documentElement.dataset.theme;
    // biome-ignore lint/suspicious/noDocumentCookie: a plain preference cookie; the Cookie Store API is not in every browser
    document.cookie = themeCookie(next, window.location.protocol === "https:");
  }

  return (
    <label className="theme-toggle">
      <span className="small">Theme</span>
      <select value={theme} onChange={(e) => choose(parseTheme(e.target.value))}>
        {THEMES.map((t) => (
          <option key={t} value={t}>
            {LABELS[t]}
          </option>
        ))}
      </select>
    </label>
  );
}
