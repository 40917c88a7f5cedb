/** Renders a PolicyDiff: allowlist entries added / removed / changed and fields changed. */
import type { PolicyDiff } from "@/server/domain/policy/diff-documents";

function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.length === 0 ? "(none)" : value.join(", ");
  return String(value);
}

function entryExtras(entry: { note: string | null; expiresAt: string | null }): string {
  const parts: string[] = [];
  if (entry.note) parts.push(`note: ${entry.note}`);
  if (entry.expiresAt) parts.push(`expires ${entry.expiresAt}`);
  return parts.join(" · ");
}

export function DiffView({ diff, emptyText = "No differences." }: { diff: PolicyDiff; emptyText?: string }) {
  const { added, removed, changed } = diff.origins;
  if (added.length + removed.length + changed.length + diff.fields.length === 0) {
    return <p className="muted">{emptyText}</p>;
  }
  return (
    <div className="diff" data-testid="diff">
      {added.length + removed.length + changed.length > 0 ? (
        <ul className="diff-list" aria-label="Allowlist changes">
          {added.map((o) => (
            <li key={`+${o.pattern}`} className="diff-add">
              <span className="diff-sign" aria-hidden="true">
                +
              </span>
              <span className="sr-only">added: </span>
              <code>{o.pattern}</code> <span className="small muted">{entryExtras(o)}</span>
            </li>
          ))}
          {removed.map((o) => (
            <li key={`-${o.pattern}`} className="diff-remove">
              <span className="diff-sign" aria-hidden="true">
                −
              </span>
              <span className="sr-only">removed: </span>
              <code>{o.pattern}</code> <span className="small muted">{entryExtras(o)}</span>
            </li>
          ))}
          {changed.map((c) => (
            <li key={`~${c.pattern}`} className="diff-change">
              <span className="diff-sign" aria-hidden="true">
                ~
              </span>
              <span className="sr-only">changed: </span>
              <code>{c.pattern}</code>{" "}
              <span className="small">
                {c.before.note !== c.after.note ? (
                  <>
                    note: {show(c.before.note)} → {show(c.after.note)}{" "}
                  </>
                ) : null}
                {c.before.expiresAt !== c.after.expiresAt ? (
                  <>
                    expiry: {show(c.before.expiresAt)} → {show(c.after.expiresAt)}
                  </>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {diff.fields.length > 0 ? (
        // A scroll container of its own: on a phone the three columns are wider than the page. It
        // takes focus so that keyboard users can scroll it too (axe: scrollable-region-focusable).
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a focusable scroll region is the WCAG technique for this
        <section className="table-wrap" aria-label="Field changes (scrolls sideways)" tabIndex={0}>
          <table className="table table-compact" aria-label="Field changes">
            <thead>
              <tr>
                <th>Field</th>
                <th>Before</th>
                <th>After</th>
              </tr>
            </thead>
            <tbody>
              {diff.fields.map((f) => (
                <tr key={f.path}>
                  <td className="mono">{f.path}</td>
                  <td className="mono diff-before">{show(f.before)}</td>
                  <td className="mono diff-after">{show(f.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </div>
  );
}

export function diffSummary(diff: PolicyDiff): string {
  const parts: string[] = [];
  if (diff.origins.added.length)
    parts.push(`+${diff.origins.added.length} origin${diff.origins.added.length === 1 ? "" : "s"}`);
  if (diff.origins.removed.length) parts.push(`−${diff.origins.removed.length} removed`);
  if (diff.origins.changed.length) parts.push(`${diff.origins.changed.length} edited`);
  if (diff.fields.length) parts.push(`${diff.fields.length} setting${diff.fields.length === 1 ? "" : "s"}`);
  return parts.join(", ") || "no changes";
}
