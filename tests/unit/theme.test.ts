/** The colour theme preference: what the cookie may hold, and what <html data-theme> becomes. */
import { describe, expect, it } from "vitest";
import { parseTheme, THEME_COOKIE, themeAttribute, themeCookie } from "../../app/_client/theme";

describe("theme", () => {
  it.each([
    ["dark", "dark"],
    ["light", "light"],
    ["system", "system"],
    [undefined, "system"],
    ["", "system"],
    ["DARK", "system"],
    ['dark"><script>', "system"],
  ] as const)("the cookie value %j is the theme %s", (value, theme) => {
    expect(parseTheme(value)).toBe(theme);
  });

  it("leaves data-theme off while the OS decides", () => {
    expect(themeAttribute("system")).toBeUndefined();
    expect(themeAttribute("dark")).toBe("dark");
  });

  it("writes a year-long, site-wide cookie, Secure on https", () => {
    expect(themeCookie("dark", false)).toBe(`${THEME_COOKIE}=dark; Path=/; Max-Age=31536000; SameSite=Lax`);
    expect(themeCookie("light", true)).toMatch(/; Secure$/);
  });
});
