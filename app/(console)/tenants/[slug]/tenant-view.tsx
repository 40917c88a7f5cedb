"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { ApiError } from "@/app/_client/api-client";
import { tenantQuery } from "@/app/_client/queries";
import { useUnsavedChangesGuard } from "@/app/_client/unsaved-changes";
import { ErrorState, Loading, ModeBadge, SyncBadge } from "@/app/_components/status";
import { onTabListKeyDown } from "@/app/_components/tab-keys";
import { AllowlistTab } from "./allowlist-tab";
import { CredentialTab } from "./credential-tab";
import { HistoryTab } from "./history-tab";
import { KeptDraftPrompt } from "./kept-draft-prompt";
import { ManagedByCodeBanner } from "./managed-by-code-banner";
import { RolloutPanel } from "./rollout-panel";
import { SaveBar } from "./save-bar";
import { SettingsTab } from "./settings-tab";
import { usePolicyEditor } from "./use-policy-editor";

const TABS = [
  { id: "allowlist", label: "Allowlist" },
  { id: "credentials", label: "Credential policy" },
  { id: "history", label: "History" },
  { id: "settings", label: "Settings" },
] as const;
type TabId = (typeof TABS)[number]["id"];

export function TenantView({
  slug,
  initialTab,
  gatewayUrl,
}: {
  slug: string;
  initialTab?: string;
  gatewayUrl: string;
}) {
  const tenant = useQuery(tenantQuery(slug));
  const editor = usePolicyEditor(slug, tenant.data?.managedBy);
  // Unsaved edits (or a 409 still to resolve) are not left behind without a word.
  useUnsavedChangesGuard(editor.writable && (editor.dirty || editor.conflict !== null));
  const [tab, setTab] = useState<TabId>(TABS.some((t) => t.id === initialTab) ? (initialTab as TabId) : "allowlist");

  function select(id: TabId) {
    setTab(id);
    const url = new URL(window.location.href);
    url.searchParams.set("tab", id);
    window.history.replaceState(null, "", url);
  }

  if (tenant.isPending) return <Loading />;
  if (tenant.isError) {
    if (tenant.error instanceof ApiError && tenant.error.status === 404) {
      return (
        <div className="page">
          <h1>Tenant not found</h1>
          <p>
            There is no tenant <code>{slug}</code> (it may have been deleted). <Link href="/tenants">All tenants</Link>
          </p>
        </div>
      );
    }
    return <ErrorState error={tenant.error} onRetry={() => tenant.refetch()} />;
  }
  const t = tenant.data;
  return (
    <div className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link href="/tenants">Tenants</Link> <span aria-hidden="true">/</span> <span className="mono">{t.slug}</span>
      </nav>
      <div className="page-head">
        <div>
          <h1>{t.name}</h1>
          <div className="meta-row">
            <span className="badge badge-version" data-testid="policy-version">
              v{t.version}
            </span>
            <ModeBadge mode={t.mode} />
            <SyncBadge sync={t.sync} />
            <span className="mono small muted" title="Clients connect here">
              {gatewayUrl}/t/{t.slug}/
            </span>
            <span className="small muted">{t.upstreamUrl ? `→ ${t.upstreamUrl}` : "echo (no upstream)"}</span>
          </div>
        </div>
      </div>
      {t.managedBy ? <ManagedByCodeBanner managedBy={t.managedBy} /> : null}
      <RolloutPanel slug={slug} />
      <KeptDraftPrompt editor={editor} />
      <div
        className="tabs"
        role="tablist"
        aria-label="Tenant sections"
        onKeyDown={(e) =>
          onTabListKeyDown(
            e,
            TABS.map((t) => t.id),
            tab,
            select,
          )
        }
      >
        {TABS.map((item) => (
          <button
            key={item.id}
            type="button"
            role="tab"
            id={`tab-${item.id}`}
            aria-selected={tab === item.id}
            aria-controls={`panel-${item.id}`}
            tabIndex={tab === item.id ? 0 : -1}
            className={tab === item.id ? "tab active" : "tab"}
            onClick={() => select(item.id)}
          >
            {item.label}
            {item.id === "allowlist" &&
            editor.pending &&
            editor.pending.origins.added.length +
              editor.pending.origins.removed.length +
              editor.pending.origins.changed.length >
              0 ? (
              <span className="dot" title="unsaved changes" />
            ) : null}
            {item.id === "credentials" && editor.pending && editor.pending.fields.length > 0 ? (
              <span className="dot" title="unsaved changes" />
            ) : null}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel">
        {tab === "allowlist" || tab === "credentials" ? (
          editor.loading ? (
            <Loading />
          ) : editor.error ? (
            <ErrorState error={editor.error} onRetry={editor.refetch} />
          ) : tab === "allowlist" ? (
            <AllowlistTab editor={editor} />
          ) : (
            <CredentialTab editor={editor} />
          )
        ) : tab === "history" ? (
          <HistoryTab slug={slug} currentVersion={t.version} editorDirty={editor.dirty} writable={editor.writable} />
        ) : (
          <SettingsTab tenant={t} />
        )}
      </div>
      <SaveBar editor={editor} />
    </div>
  );
}
