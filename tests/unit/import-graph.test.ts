/**
 * Layering (ARCHITECTURE §1, issue 12 item 6), checked on the source text:
 * - no import cycle among server/ modules (type-only imports included: a cycle of types is
 *   still two modules that cannot be understood apart);
 * - one direction only: server/ and prisma/ (the gateway, the CLI, the seed) never import app/.
 *   Domain code that the dashboard and the CLI share lives in server/domain.
 * - app/ imports across folders with `@/…` and only its own folder with `./…` (issue 12 item 9):
 *   no `../` climbing, so a file reads the same wherever it moves.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SERVER = path.join(ROOT, "server");
const PRISMA = path.join(ROOT, "prisma");
const APP = path.join(ROOT, "app");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (name === "generated" || name === "node_modules") return [];
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|tsx)$/.test(name) ? [full] : [];
  });
}

/** The module specifiers of `import … from` and `export … from` in a source text. */
function specifiersIn(text: string): string[] {
  return [...text.matchAll(/(?:import|export)\s[^"';]*?from\s+["']([^"']+)["']/g)].map((match) => match[1]!);
}

/** The file a relative or `@/` specifier of `file` names (undefined: a package, or no such file). */
function resolveSpecifier(file: string, specifier: string): string | undefined {
  let base: string;
  if (specifier.startsWith("@/")) base = path.join(ROOT, specifier.slice(2));
  else if (specifier.startsWith(".")) base = path.resolve(path.dirname(file), specifier);
  else return undefined;
  for (const candidate of [`${base}.ts`, `${base}.tsx`, path.join(base, "index.ts"), base]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** The files a module imports (relative and `@/` specifiers resolved; packages left out). */
function importsOf(file: string): string[] {
  return specifiersIn(readFileSync(file, "utf8")).flatMap((specifier) => resolveSpecifier(file, specifier) ?? []);
}

const files = sourceFiles(SERVER);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const rel = (file: string) => path.relative(ROOT, file);

describe("server/ layering", () => {
  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, "visiting");
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === "visiting") {
          cycles.push([...stack.slice(stack.indexOf(next)), next].map(rel).join(" -> "));
        } else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});

describe("one direction: server/ and prisma/ never import app/", () => {
  it("holds for every module of server/ and prisma/", () => {
    const upward: string[] = [];
    for (const file of [...files, ...sourceFiles(PRISMA)]) {
      for (const target of importsOf(file)) {
        if (target.startsWith(APP + path.sep)) upward.push(`${rel(file)} -> ${rel(target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("would catch an import of app/ (the check sees relative and @/ specifiers)", () => {
    // The resolver the check relies on, applied to a module that does import app/.
    const sample = path.join(SERVER, "cli", "ctl.ts");
    const text = '\nimport { x } from "../../app/_lib/db";\nimport { y } from "@/app/_lib/api/if-match";\n';
    expect(
      specifiersIn(text)
        .map((s) => resolveSpecifier(sample, s))
        .map((t) => t && rel(t)),
    ).toEqual(["app/_lib/db.ts", "app/_lib/api/if-match.ts"]);
  });
});

describe("app/ imports: @/ across folders, ./ within one", () => {
  it("no module of app/ climbs with ../", () => {
    const climbing = sourceFiles(APP).flatMap((file) =>
      specifiersIn(readFileSync(file, "utf8"))
        .filter((s) => s.startsWith("../"))
        .map((s) => `${rel(file)}: ${s}`),
    );
    expect(climbing).toEqual([]);
  });
});
