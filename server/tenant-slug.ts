/**
 * Tenant slugs: lowercase letters, digits and inner hyphens, 1-63 characters (a DNS label).
 * Immutable once created: the slug is in every client's URL (`/t/<slug>/...`). One
 * definition for the dashboard, the API (server/domain/tenants/tenant-input.ts re-exports it)
 * and `ctl policy:*`, which also uses it before turning a slug into a file name.
 * Browser-safe (zod only).
 */
import { z } from "zod";

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const slugSchema = z
  .string()
  .regex(
    SLUG_PATTERN,
    "1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen (e.g. payments-prod)",
  );
