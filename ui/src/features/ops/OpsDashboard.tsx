import { formatTime, t } from '@/lib/i18n'
import { Charts } from './Charts'
import { DeadLetters } from './DeadLetters'
import { Alert, ConnectionBadge, errorText } from './parts'
import { SupervisionTree } from './SupervisionTree'
import { Tiles } from './Tiles'
import { useOpsLive } from './useOpsLive'

interface OpsDashboardProps {
  /** Admins may retry and discard dead letters and read their payloads. */
  admin: boolean
}

/** The operations dashboard: live numbers, charts of the last hour, the supervision tree. */
export function OpsDashboard({ admin }: OpsDashboardProps) {
  const live = useOpsLive()
  const deadLetters = (live.supervision?.kinds ?? []).reduce((sum, k) => sum + k.dead_letters, 0)
  return (
    <main className="flex min-h-0 min-w-0 flex-1 flex-col gap-6 overflow-y-auto bg-slate-50 p-4" aria-labelledby="ops-title">
      <header className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h1 id="ops-title" className="text-xl font-semibold">
            {t('ops.title')}
          </h1>
          <p className="text-sm text-slate-600">{t('ops.intro')}</p>
        </div>
        <div className="flex flex-col items-end gap-1">
          <ConnectionBadge state={live.state} />
          {live.at !== null ? (
            <p className="text-xs text-slate-600">{t('ops.updated', { time: formatTime(new Date(live.at * 1000)) })}</p>
          ) : null}
        </div>
      </header>
      <Alert>{live.refused ? t('ops.connection.forbidden', { reason: live.refused }) : null}</Alert>
      <Alert>{live.loadError ? t('ops.loadFailed', { detail: errorText(live.loadError) }) : null}</Alert>
      <Tiles current={live.current} window={live.window} />
      <Charts series={live.series} window={live.window} />
      <SupervisionTree supervision={live.supervision} />
      <DeadLetters admin={admin} total={deadLetters} />
    </main>
  )
}
