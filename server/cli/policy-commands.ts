/**
 * `npm run ctl -- policy:*`: policy as code (SPEC §7, §10). Tenant policies live in Git as
 * canonical YAML (server/policy-as-code/policy-yaml.ts) and reach the server only through
 * the HTTP API with a token, so these commands run from any CI runner:
 *
 *   policy:pull     --tenant S [--out F] | --dir D   the server's policy as YAML (D/<slug>.yaml each)
 *   policy:validate --file F | --dir D               offline: strict YAML + the engine's validatePolicy
 *   policy:plan     --file F | --dir D               what apply would change (diff + impact preview)
 *   policy:apply    --file F | --dir D [--comment C] save with If-Match: metadata.version
 *   policy:drift    --file F | --dir D               does the server still equal the file?
 *   policy:export   --format nginx|haproxy (--file F | --tenant S) [--out F]   static proxy maps
 *
 * Exit codes (Terraform's): 0 nothing differs (apply: applied, or nothing to do), 2
 * differences (plan, drift), 1 error — invalid file, API refusal, unreachable server, and
 * also usage errors here, because 2 already means "differences".
 *
 * apply, Terraform-style: every file is checked and compared first; if any file is invalid
 * or based on a version the server has moved past (metadata.version ≠ the server's, with
 * changes to make), nothing is applied. Then each tenant with changes is saved with
 * `If-Match: <metadata.version>` (the server refuses a race with 409; nothing changes) and
 * the file's `metadata.version` is updated to the version saved, so the next edit starts
 * from it (commit that back; see docs/policy-as-code.md). A file equal to the server is
 * "nothing to do" (no request that writes, exit 0); a stale version there is just updated.
 *
 * Output: YAML, plans and answers on stdout (CI posts them as comments); errors and notes
 * on stderr. The token comes from OG_API_TOKEN only (never an argument: it would show in
 * process lists) and is never printed.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { diffDocuments, isEmptyDiff, type PolicyDiff } from "../policy/diff-documents";
import type { PolicyDocument } from "../policy/document";
import { type ApiClient, ApiRequestError, createApiClient, type ImpactPreview } from "../policy-as-code/api-client";
import { diffSummary, formatDiff } from "../policy-as-code/format-diff";
import {
  MAX_POLICY_FILE_BYTES,
  type PolicyFile,
  type PolicyFileIssue,
  parsePolicyYaml,
  policyToYaml,
  withMetadataVersion,
} from "../policy-as-code/policy-yaml";
import { EXPORT_FORMATS, type ExportFormat, exportStaticMap } from "../policy-as-code/static-export";
import { SLUG_PATTERN } from "../tenant-slug";

export const EXIT = { same: 0, error: 1, differs: 2 } as const;
export const DEFAULT_API_URL = "http://localhost:3000";

export const POLICY_USAGE = `Policy as code (through the API; OG_API_TOKEN, --url or OG_API_URL, default ${DEFAULT_API_URL}):

  policy:pull     --tenant S [--out F] | --dir D    print (or write) the canonical YAML; --dir: every tenant as D/<slug>.yaml
  policy:validate --file F | --dir D                check files offline with the engine's rules
  policy:plan     --file F | --dir D                show what apply would change (and the impact preview)
  policy:apply    --file F | --dir D [--comment C]  apply with If-Match: metadata.version; records the new version in the file
  policy:drift    --file F | --dir D                exit 2 when the server no longer equals the file
  policy:export   --format nginx|haproxy (--file F | --tenant S) [--out F]   static map for proxies without forward auth

Exit codes: 0 nothing differs / applied, 2 differences (plan, drift), 1 error.`;

/** Where a command writes and what it reads from its surroundings (tests pass their own). */
export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  now: () => Date;
}

export function processIo(): CommandIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    now: () => new Date(),
  };
}

/** A usage mistake: printed with the usage text. */
class CommandError extends Error {}
/** A failure that is not about usage (an unreadable directory, a bad answer): printed alone. */
class Failure extends Error {}

type Values = Record<string, string | boolean | undefined>;

interface Context {
  io: CommandIo;
  values: Values;
  out: (line?: string) => void;
  err: (line?: string) => void;
}

type Command = (ctx: Context) => Promise<number>;

const COMMANDS: Record<string, { options: string[]; run: Command }> = {
  "policy:pull": { options: ["tenant", "out", "dir", "url"], run: pull },
  "policy:validate": { options: ["file", "dir"], run: validate },
  "policy:plan": { options: ["file", "dir", "url"], run: (ctx) => compare(ctx, "plan") },
  "policy:drift": { options: ["file", "dir", "url"], run: (ctx) => compare(ctx, "drift") },
  "policy:apply": { options: ["file", "dir", "url", "comment"], run: apply },
  "policy:export": { options: ["format", "file", "tenant", "out", "url"], run: exportMap },
};

export function isPolicyCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

/** Runs one policy command; resolves to its exit code (never throws). */
export async function runPolicyCommand(name: string, args: string[], io: CommandIo = processIo()): Promise<number> {
  const command = COMMANDS[name];
  const ctx: Context = {
    io,
    values: {},
    out: (line = "") => io.stdout(`${line}\n`),
    err: (line = "") => io.stderr(`${line}\n`),
  };
  if (!command) {
    ctx.err(`Unknown command "${name}".\n\n${POLICY_USAGE}`);
    return EXIT.error;
  }
  try {
    ctx.values = parseArgs({
      args,
      options: Object.fromEntries(command.options.map((o) => [o, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }).values;
    return await command.run(ctx);
  } catch (error) {
    if (error instanceof CommandError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      ctx.err(`${name}: ${(error as Error).message}\n\n${POLICY_USAGE}`);
      return EXIT.error;
    }
    if (error instanceof ApiRequestError) {
      ctx.err(`${name}: ${describeApiError(error)}`);
      return EXIT.error;
    }
    if (error instanceof Failure) {
      ctx.err(`${name}: ${error.message}`);
      return EXIT.error;
    }
    ctx.err(`${name} failed: ${(error as Error).message ?? String(error)}`);
    return EXIT.error;
  }
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

async function pull(ctx: Context): Promise<number> {
  const { tenant, dir, out } = ctx.values as { tenant?: string; dir?: string; out?: string };
  if ((tenant === undefined) === (dir === undefined)) throw new CommandError("give --tenant S or --dir D");
  if (dir !== undefined && out !== undefined)
    throw new CommandError("--out goes with --tenant (--dir writes <slug>.yaml)");
  const client = apiClient(ctx);
  if (tenant !== undefined) {
    const yaml = await pulledYaml(client, tenant);
    if (out === undefined) ctx.io.stdout(yaml);
    else {
      await writeAtomically(out, yaml);
      ctx.err(`wrote ${out}`);
    }
    return EXIT.same;
  }
  const directory = dir as string;
  await mkdir(directory, { recursive: true });
  const tenants = await client.listTenants();
  for (const { slug } of tenants) {
    // Slugs are checked by the client's schema; re-checked here because they become paths.
    if (!SLUG_PATTERN.test(slug)) throw new Failure(`the server listed a tenant "${slug}" that is not a slug`);
    const file = path.join(directory, `${slug}.yaml`);
    await writeAtomically(file, await pulledYaml(client, slug));
    ctx.err(`wrote ${file}`);
  }
  const known = new Set(tenants.map((t) => t.slug));
  for (const name of await yamlFiles(directory)) {
    if (!known.has(name.slice(0, -".yaml".length)))
      ctx.err(`note: ${path.join(directory, name)} names no tenant on the server`);
  }
  ctx.err(`pulled ${tenants.length} tenant${tenants.length === 1 ? "" : "s"} into ${directory}`);
  return EXIT.same;
}

async function validate(ctx: Context): Promise<number> {
  const files = await loadFiles(ctx);
  let failed = false;
  for (const loaded of files) {
    if (!loaded.ok) {
      failed = true;
      continue;
    }
    const { file } = loaded;
    const warnings = loaded.warnings.length;
    ctx.out(
      `${loaded.path}: valid (tenant ${file.tenant}, version ${file.version}, ${file.spec.origins.length} origin${file.spec.origins.length === 1 ? "" : "s"}${warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""})`,
    );
  }
  return failed ? EXIT.error : EXIT.same;
}

/** plan and drift: the same comparison; drift answers only "same or not". */
async function compare(ctx: Context, mode: "plan" | "drift"): Promise<number> {
  const files = await loadFiles(ctx);
  const client = apiClient(ctx);
  let code: number = files.some((f) => !f.ok) ? EXIT.error : EXIT.same;
  for (const loaded of files) {
    if (!loaded.ok) continue;
    const { file } = loaded;
    let server: Awaited<ReturnType<ApiClient["getPolicy"]>>;
    try {
      server = await client.getPolicy(file.tenant);
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      ctx.err(`${loaded.path}: ${describeApiError(error)}`);
      code = EXIT.error;
      continue;
    }
    const diff = diffDocuments(server.document, file.spec);
    const same = isEmptyDiff(diff);
    const stale = !same && server.version !== file.version;
    if (mode === "drift") {
      ctx.out(
        same
          ? `${file.tenant}: in sync: the server (version ${server.version}) equals ${loaded.path}`
          : `${file.tenant}: DRIFT: the server (version ${server.version}) differs from ${loaded.path}; applying the file would change ${diffSummary(diff)}`,
      );
    } else {
      await printPlan(ctx, client, loaded.path, file, server, diff);
    }
    if (stale && mode === "plan") code = EXIT.error;
    else if (!same && code === EXIT.same) code = EXIT.differs;
  }
  if (ctx.values.dir !== undefined && files.every((f) => f.ok)) await noteUnfiledTenants(ctx, client, files);
  return code;
}

async function apply(ctx: Context): Promise<number> {
  const files = await loadFiles(ctx);
  if (files.some((f) => !f.ok)) {
    ctx.err("nothing applied: fix the files above first");
    return EXIT.error;
  }
  const client = apiClient(ctx);
  const planned: Array<{ loaded: Loaded; server: { version: number; document: PolicyDocument }; diff: PolicyDiff }> =
    [];
  for (const loaded of files as Loaded[]) {
    try {
      const server = await client.getPolicy(loaded.file.tenant);
      planned.push({ loaded, server, diff: diffDocuments(server.document, loaded.file.spec) });
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      ctx.err(`${loaded.path}: ${describeApiError(error)}`);
      ctx.err("nothing applied.");
      return EXIT.error;
    }
  }
  const stale = planned.filter((p) => !isEmptyDiff(p.diff) && p.server.version !== p.loaded.file.version);
  if (stale.length > 0) {
    for (const p of stale) {
      ctx.err(await staleMessage(client, p.loaded, p.server.version));
    }
    ctx.err("nothing applied.");
    return EXIT.error;
  }
  const comment = typeof ctx.values.comment === "string" ? ctx.values.comment : undefined;
  for (const [index, { loaded, server, diff }] of planned.entries()) {
    const { file } = loaded;
    if (isEmptyDiff(diff)) {
      ctx.out(`${file.tenant}: nothing to apply: the server (version ${server.version}) already equals ${loaded.path}`);
      if (server.version !== file.version) await recordVersion(ctx, loaded, server.version);
      continue;
    }
    let saved: Awaited<ReturnType<ApiClient["putPolicy"]>>;
    try {
      saved = await client.putPolicy(file.tenant, {
        document: file.spec,
        ifMatch: file.version,
        comment: comment ?? `Applied ${path.basename(loaded.path)} (ctl policy:apply)`,
      });
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      ctx.err(
        error.code === "version_conflict"
          ? await staleMessage(client, loaded, currentVersionOf(error) ?? server.version)
          : `${loaded.path}: ${describeApiError(error)}`,
      );
      const rest = planned.slice(index + 1).filter((p) => !isEmptyDiff(p.diff));
      if (rest.length > 0) ctx.err(`not applied: ${rest.map((p) => p.loaded.file.tenant).join(", ")}`);
      return EXIT.error;
    }
    // The server validates with the same engine: print only what the local check did not.
    const shown = new Set(loaded.warnings.map((w) => `${w.path}\n${w.message}`));
    for (const w of saved.warnings) {
      if (!shown.has(`spec.${w.path}\n${w.message}`)) ctx.err(`warning: ${loaded.path}: spec.${w.path}: ${w.message}`);
    }
    ctx.out(
      saved.changed
        ? `${file.tenant}: applied ${loaded.path} as version ${saved.version} (${diffSummary(diff, "done")})`
        : `${file.tenant}: nothing to apply: the server already had this policy (version ${saved.version})`,
    );
    await recordVersion(ctx, loaded, saved.version);
  }
  return EXIT.same;
}

async function exportMap(ctx: Context): Promise<number> {
  const { format, file, tenant, out } = ctx.values as Record<string, string | undefined>;
  if (!format || !(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new CommandError(`--format must be one of ${EXPORT_FORMATS.join(", ")}`);
  }
  if ((file === undefined) === (tenant === undefined)) throw new CommandError("give --file F or --tenant S");
  let source: { tenant: string; version: number; document: PolicyDocument };
  if (file !== undefined) {
    const loaded = await loadFile(ctx, file);
    if (!loaded.ok) return EXIT.error;
    source = { tenant: loaded.file.tenant, version: loaded.file.version, document: loaded.file.spec };
  } else {
    const server = await apiClient(ctx).getPolicy(tenant as string);
    source = { tenant: tenant as string, version: server.version, document: server.document };
  }
  const text = exportStaticMap({ format: format as ExportFormat, ...source, now: ctx.io.now() });
  if (out === undefined) ctx.io.stdout(text);
  else {
    await writeAtomically(out, text);
    ctx.err(`wrote ${out}`);
  }
  return EXIT.same;
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

type Loaded = { ok: true; path: string; text: string; file: PolicyFile; warnings: PolicyFileIssue[] };
type LoadResult = Loaded | { ok: false; path: string };

/** The files a command works on (--file F or every D/*.yaml), each parsed and reported. */
async function loadFiles(ctx: Context): Promise<LoadResult[]> {
  const { file, dir } = ctx.values as { file?: string; dir?: string };
  if ((file === undefined) === (dir === undefined)) throw new CommandError("give --file F or --dir D");
  if (file !== undefined) return [await loadFile(ctx, file)];
  const names = await yamlFiles(dir as string).catch((error: NodeJS.ErrnoException) => {
    throw new Failure(`cannot read the directory ${dir}: ${error.code ?? error.message}`);
  });
  if (names.length === 0) throw new Failure(`no *.yaml files in ${dir}`);
  const results: LoadResult[] = [];
  for (const name of names) {
    const loaded = await loadFile(ctx, path.join(dir as string, name));
    if (loaded.ok && `${loaded.file.tenant}.yaml` !== name) {
      ctx.err(
        `${loaded.path}: metadata.tenant is "${loaded.file.tenant}": in a directory, name the file ${loaded.file.tenant}.yaml`,
      );
      results.push({ ok: false, path: loaded.path });
    } else results.push(loaded);
  }
  return results;
}

async function loadFile(ctx: Context, file: string): Promise<LoadResult> {
  const fail = (message: string): LoadResult => {
    ctx.err(`${file}: ${message}`);
    return { ok: false, path: file };
  };
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return fail("not a file");
    size = info.size;
  } catch (error) {
    return fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  // Checked before reading, so a huge file is never loaded.
  if (size > MAX_POLICY_FILE_BYTES) return fail(`${size} bytes; a policy file is at most ${MAX_POLICY_FILE_BYTES}`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await readFile(file));
  } catch {
    return fail("is not UTF-8 text");
  }
  const result = parsePolicyYaml(text, { now: ctx.io.now() });
  const show = (issue: PolicyFileIssue) =>
    `${file}${issue.line ? `:${issue.line}:${issue.col}` : ""}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
  for (const warning of result.warnings) ctx.err(`warning: ${show(warning)}`);
  if (!result.ok) {
    for (const error of result.errors) ctx.err(`error: ${show(error)}`);
    return { ok: false, path: file };
  }
  return { ok: true, path: file, text, file: result.file, warnings: result.warnings };
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".yaml"))
    .map((e) => e.name)
    .sort();
}

async function pulledYaml(client: ApiClient, slug: string): Promise<string> {
  const { version, document } = await client.getPolicy(slug);
  return policyToYaml({ tenant: slug, version, document });
}

async function printPlan(
  ctx: Context,
  client: ApiClient,
  file: string,
  policyFile: PolicyFile,
  server: { version: number; document: PolicyDocument },
  diff: PolicyDiff,
): Promise<void> {
  const { tenant, version } = policyFile;
  if (isEmptyDiff(diff)) {
    ctx.out(`${tenant}: no changes: the server (version ${server.version}) equals ${file}.`);
    if (server.version !== version) {
      ctx.out(`  (${file} says version ${version}; policy:apply will record version ${server.version} in it)`);
    }
    return;
  }
  ctx.out(`${tenant}: ${file} (metadata.version ${version}) against ${client.baseUrl} (version ${server.version}):`);
  for (const line of formatDiff(diff)) ctx.out(`  ${line}`);
  if (server.version !== version) {
    const since =
      server.version === version + 1 ? `version ${server.version}` : `versions ${version + 1}–${server.version}`;
    ctx.out(`  The server moved on: applying this file as it is would also undo ${since}:`);
    for (const line of await newerRevisions(client, tenant, version)) ctx.out(`  ${line}`);
    ctx.out(`  policy:apply will refuse it: pull again (policy:pull --tenant ${tenant}), redo your edit, then plan.`);
    return;
  }
  try {
    const impact = await client.impact(tenant, policyFile.spec);
    if (impact === null) ctx.out("  Impact preview unavailable: this server does not offer POST .../policy/impact.");
    else printImpact(ctx, impact);
  } catch (error) {
    // The preview informs the plan; it never decides its exit code.
    if (!(error instanceof ApiRequestError)) throw error;
    ctx.out(`  Impact preview failed: ${describeApiError(error)}`);
  }
  ctx.out(`  Plan: ${diffSummary(diff)}. policy:apply would save version ${server.version + 1}.`);
}

function printImpact(ctx: Context, impact: ImpactPreview): void {
  ctx.out(
    `  Impact on recorded traffic ${impact.since} – ${impact.until} (${impact.evaluated} distinct handshakes evaluated):`,
  );
  if (impact.newlyRefused.length === 0 && impact.newlyAllowed.length === 0) {
    ctx.out("    no recorded handshake would be decided differently");
  }
  for (const r of impact.newlyRefused)
    ctx.out(`    would refuse  ${JSON.stringify(r.origin)}  ${r.reason}  ×${r.count}`);
  for (const a of impact.newlyAllowed) ctx.out(`    would allow   ${JSON.stringify(a.origin)}  ×${a.count}`);
}

async function recordVersion(ctx: Context, loaded: Loaded, version: number): Promise<void> {
  const updated = withMetadataVersion(loaded.text, version);
  if (updated === null) {
    ctx.err(`note: set metadata.version to ${version} in ${loaded.path} yourself (it could not be updated in place)`);
    return;
  }
  await writeAtomically(loaded.path, updated);
  ctx.err(`${loaded.path}: metadata.version is now ${version}`);
}

/** Why an apply is refused when the server moved past the file's version, and who moved it. */
async function staleMessage(client: ApiClient, loaded: Loaded, serverVersion: number): Promise<string> {
  const { file } = loaded;
  const lines = [
    `${loaded.path}: refused: the server moved on. The file is based on version ${file.version} of ${file.tenant}; ` +
      `the server is at version ${serverVersion}. Nothing was changed.`,
  ];
  for (const line of await newerRevisions(client, file.tenant, file.version)) lines.push(line);
  lines.push(`  Pull again (policy:pull --tenant ${file.tenant}), redo your edit, plan and apply.`);
  return lines.join("\n");
}

/** One line per revision saved after `version` (the newest five at most): who moved the server on. */
async function newerRevisions(client: ApiClient, tenant: string, version: number): Promise<string[]> {
  const revisions = await client.recentRevisions(tenant, 5).catch(() => []);
  return revisions
    .filter((r) => r.version > version)
    .map(
      (r) =>
        `  version ${r.version} by ${r.author} at ${r.createdAt}${r.comment ? `: ${JSON.stringify(r.comment)}` : ""}`,
    );
}

function currentVersionOf(error: ApiRequestError): number | undefined {
  const details = error.details as { currentVersion?: unknown } | undefined;
  return typeof details?.currentVersion === "number" ? details.currentVersion : undefined;
}

async function noteUnfiledTenants(ctx: Context, client: ApiClient, files: LoadResult[]): Promise<void> {
  const filed = new Set(files.flatMap((f) => (f.ok ? [f.file.tenant] : [])));
  const missing = (await client.listTenants()).filter((t) => !filed.has(t.slug)).map((t) => t.slug);
  if (missing.length > 0) ctx.err(`note: tenants without a file here (not compared): ${missing.join(", ")}`);
}

function apiClient(ctx: Context): ApiClient {
  const token = ctx.io.env.OG_API_TOKEN;
  if (!token) {
    throw new Failure(
      "OG_API_TOKEN is not set: create a token (npm run ctl -- token:create --name ci --role editor --policy-as-code) and export it",
    );
  }
  const raw =
    (typeof ctx.values.url === "string" ? ctx.values.url : undefined) ?? ctx.io.env.OG_API_URL ?? DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CommandError(`--url/OG_API_URL "${raw}" is not a URL (e.g. ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new CommandError("--url must be http:// or https://");
  if (url.username || url.password) throw new CommandError("--url must not contain credentials (use OG_API_TOKEN)");
  if (url.protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
    ctx.err(`warning: sending the API token over plain http to ${url.host}; use https://`);
  }
  return createApiClient({ baseUrl: url.toString(), token });
}

function describeApiError(error: ApiRequestError): string {
  switch (error.code) {
    case "unauthorized":
      return `the API refused the token (401): ${error.message}. Check OG_API_TOKEN.`;
    case "forbidden":
      return `the token's role may not do this (403): ${error.message}`;
    case "managed_by_code":
      return `${error.message} (use a token created with --policy-as-code)`;
    case "validation_failed": {
      const details = Array.isArray(error.details)
        ? (error.details as Array<{ path?: string; message?: string }>)
            .map((d) => `\n  spec.${d.path}: ${d.message}`)
            .join("")
        : "";
      return `the server refused the policy (422): ${error.message}${details}`;
    }
    default:
      return error.status ? `${error.message} (HTTP ${error.status} ${error.code})` : error.message;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temporary, text, { mode: 0o644 });
  await rename(temporary, file);
}
