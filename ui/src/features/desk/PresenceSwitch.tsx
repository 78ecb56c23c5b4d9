import { useId } from 'react'
import { t } from '@/lib/i18n'
import { useDeskStore } from './store'
import { useCommands } from './useCommands'

/** The agent's own status: online takes offers, away keeps the conversations but takes no new
 * ones. The server says which is in force (a `presence` event), so every tab agrees. */
export function PresenceSwitch() {
  const presence = useDeskStore((s) => s.presence)
  const connected = useDeskStore((s) => s.connection === 'live')
  const commands = useCommands()
  const id = useId()
  const dot = presence === 'online' ? 'bg-emerald-500' : presence === 'away' ? 'bg-amber-500' : 'bg-slate-400'
  return (
    <div className="flex items-center gap-1.5">
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${dot}`} />
      <label htmlFor={id} className="sr-only">
        {t('desk.presence')}
      </label>
      <select
        id={id}
        value={presence === 'offline' ? '' : presence}
        disabled={!connected}
        onChange={(e) => {
          const status = e.target.value
          if (status === 'online' || status === 'away') void commands.presence(status)
        }}
        className="rounded border border-slate-300 bg-white py-0.5 pr-6 pl-1 text-xs"
      >
        {presence === 'offline' ? <option value="">{t('desk.presenceOffline')}</option> : null}
        <option value="online">{t('desk.presenceOnline')}</option>
        <option value="away">{t('desk.presenceAway')}</option>
      </select>
    </div>
  )
}
