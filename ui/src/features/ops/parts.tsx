import type { ReactNode } from 'react'
import { t } from '@/lib/i18n'
import type { LiveState } from './live-socket'

export const TH = 'px-2 py-1.5 text-left text-xs font-semibold text-slate-600'
export const TD = 'px-2 py-1.5 align-top'

const look = {
  live: 'bg-emerald-500',
  connecting: 'bg-amber-400',
  reconnecting: 'bg-amber-400',
  offline: 'bg-slate-400',
} as const

/** The live feed's state, read out when it changes. */
export function ConnectionBadge({ state }: { state: LiveState }) {
  return (
    <p role="status" className="flex items-center gap-2 text-sm text-slate-700" data-state={state}>
      <span aria-hidden="true" className={`inline-block h-2.5 w-2.5 rounded-full ${look[state]}`} />
      {t(`ops.connection.${state}`)}
    </p>
  )
}

export function Alert({ children }: { children: ReactNode }) {
  if (!children) return null
  return (
    <p role="alert" className="rounded-md bg-red-50 p-2 text-sm text-red-800">
      {children}
    </p>
  )
}

export function errorText(error: unknown): string {
  return t('common.error', { detail: error instanceof Error ? error.message : String(error) })
}
