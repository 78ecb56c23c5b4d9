/** A data request's proof report as rows to show: every count, flag or word, named by its
 * path (`postgresql.messages`), in the report's own order. The report holds no personal data
 * (docs/privacy.md): it is shown as the server wrote it. */
export function reportRows(report: Record<string, unknown>, prefix = ''): [string, string][] {
  const rows: [string, string][] = []
  for (const [key, value] of Object.entries(report)) {
    const path = prefix ? `${prefix}.${key}` : key
    if (Array.isArray(value)) rows.push([path, value.map(String).join(', ')])
    else if (value !== null && typeof value === 'object') rows.push(...reportRows(value as Record<string, unknown>, path))
    else rows.push([path, value === null || value === undefined ? '—' : JSON.stringify(value).replace(/^"|"$/g, '')])
  }
  return rows
}
