"use client";
/**
 * A secret the server returns once (an API token, a webhook's signing secret, a rotated
 * token secret): shown with Copy and Done until the user dismisses it; it is never fetched
 * again.
 */
import type { ReactNode } from "react";
import { useToast } from "@/app/_client/toast";

export function ShownOnceSecret(props: { title: ReactNode; value: string; testId: string; onDone: () => void }) {
  const toast = useToast();
  return (
    <div className="callout callout-warn" data-testid={props.testId}>
      <strong>{props.title}</strong>
      <div className="secret-row">
        <code className="secret">{props.value}</code>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => navigator.clipboard?.writeText(props.value).then(() => toast.info("Copied"))}
        >
          Copy
        </button>
        <button type="button" className="btn btn-sm" onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}
