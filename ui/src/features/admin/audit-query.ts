/** The audit page's filters as typed, and the query they make (docs/privacy.md, "Audit log"). */
export interface AuditFilters {
  /** The acting user's id, or '' for anyone. */
  user: string
  /** An exact action, or a prefix ending in `*` (`users.*`). */
  action: string
  targetType: string
  targetId: string
  /** `datetime-local` values (`2026-03-01T09:30`), in the browser's time zone. */
  since: string
  until: string
}

export const NO_FILTERS: AuditFilters = { user: '', action: '', targetType: '', targetId: '', since: '', until: '' }

/** A `datetime-local` value, read in the browser's zone, as an ISO 8601 instant (UTC). */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined
  const date = new Date(value) // no zone in the text: the browser's own
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/** The query string arguments of `GET /api/v1/audit` for these filters (empty ones left out). */
export function auditQuery(filters: AuditFilters): Record<string, string> {
  const query: Record<string, string | undefined> = {
    user: filters.user.trim() || undefined,
    action: filters.action.trim() || undefined,
    target_type: filters.targetType.trim() || undefined,
    target_id: filters.targetId.trim() || undefined,
    since: localToIso(filters.since),
    until: localToIso(filters.until),
  }
  return Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined))
}

/** The export's address: the same filters, every matching row, as JSON Lines or CSV. */
export function auditExportUrl(filters: AuditFilters, format: 'jsonl' | 'csv'): string {
  return `/api/v1/audit?${new URLSearchParams({ ...auditQuery(filters), format }).toString()}`
}
