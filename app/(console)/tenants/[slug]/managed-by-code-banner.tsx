/**
 * The banner of a tenant managed by code: where its policy is managed, and that the
 * dashboard shows it read-only (the server refuses other writes with 409 managed_by_code).
 * `managedBy` is text an admin typed: it becomes a link only when it is an http(s) URL.
 */
export function ManagedByCodeBanner({ managedBy }: { managedBy: string }) {
  return (
    <section className="callout callout-info" role="note" aria-label="Managed by code" data-testid="managed-by-code">
      <strong>Managed by code:</strong> <ManagedWhere managedBy={managedBy} />. This policy is read-only here: change it
      there and apply it with <code>npm run ctl -- policy:apply</code> (a policy-as-code token). An admin can remove the
      mark in Settings.
    </section>
  );
}

function ManagedWhere({ managedBy }: { managedBy: string }) {
  let url: URL | null = null;
  try {
    url = new URL(managedBy);
  } catch {
    url = null;
  }
  if (url && (url.protocol === "https:" || url.protocol === "http:")) {
    return (
      <a href={url.href} target="_blank" rel="noopener noreferrer" className="mono">
        {managedBy}
      </a>
    );
  }
  return <span className="mono">{managedBy}</span>;
}
