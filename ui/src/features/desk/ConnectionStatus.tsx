import { t } from '@/lib/i18n'
import { useDeskStore } from './store'

const look = {
  live: { key: 'desk.connected', dot: 'bg-emerald-500' },
  connecting: { key: 'desk.reconnecting', dot: 'bg-amber-400' },
  reconnecting: { key: 'desk.reconnecting', dot: 'bg-amber-400' },
  offline: { key: 'desk.offline', dot: 'bg-slate-400' },
} as const

/** "Connected", "Reconnecting…" (also while first connecting) or "Offline". */
export function ConnectionStatus() {
  const connection = useDeskStore((s) => s.connection)
  const { key, dot } = look[connection]
  return (
    <p role="status" className="flex items-center gap-2 text-sm text-slate-700">
      <span aria-hidden="true" className={`inline-block h-2.5 w-2.5 rounded-full ${dot}`} />
      {t(key)}
    </p>
  )
}
