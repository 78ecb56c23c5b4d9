import { Button } from '@/components'
import { formatDuration, t } from '@/lib/i18n'
import type { CustomerInfo } from './messages'
import { deskActions, useDeskStore, type InboxItem } from './store'
import { useCommands } from './useCommands'
import { useNow } from './useNow'

export function customerLabel(item: InboxItem, info: CustomerInfo | undefined): { title: string; subtitle: string | null } {
  if (info?.name) return { title: info.name, subtitle: info.phone ?? item.customer }
  return { title: info?.phone ?? item.customer, subtitle: null }
}

interface InboxProps {
  items: InboxItem[]
  names: Record<number, CustomerInfo>
}

export function Inbox({ items, names }: InboxProps) {
  const search = useDeskStore((s) => s.search)
  const selectedId = useDeskStore((s) => s.selectedId)
  const total = useDeskStore((s) => Object.keys(s.inbox).length)
  const now = useNow(1000)
  const commands = useCommands()

  return (
    <div className="flex min-h-0 flex-1 flex-col">
      <div className="border-b border-slate-200 p-3">
        <label htmlFor="desk-search" className="mb-1 block text-xs font-medium text-slate-600">
          {t('desk.search')}
        </label>
        <input
          id="desk-search"
          type="search"
          value={search}
          placeholder={t('desk.searchPlaceholder')}
          onChange={(e) => deskActions.setSearch(e.target.value)}
          className="w-full rounded-md border border-slate-300 px-3 py-1.5 text-sm outline-none focus:ring-2 focus:ring-emerald-500"
        />
      </div>
      {items.length === 0 ? (
        <p className="p-4 text-sm text-slate-500">{total === 0 ? t('desk.empty') : t('desk.noMatch')}</p>
      ) : null}
      <ul role="list" aria-label={t('desk.conversations')} className="min-h-0 flex-1 overflow-y-auto">
        {items.map((item) => {
          const { title, subtitle } = customerLabel(item, names[item.id])
          const selected = item.id === selectedId
          const secondsLeft = item.expiresAt === null ? null : Math.floor((item.expiresAt - now) / 1000)
          return (
            <li
              key={item.id}
              className={`border-b border-slate-100 ${selected ? 'bg-emerald-50' : 'bg-white hover:bg-slate-50'}`}
            >
              <button
                type="button"
                aria-current={selected ? 'true' : undefined}
                onClick={() => deskActions.select(item.id)}
                className="block w-full px-3 pt-2 pb-1 text-left focus-visible:outline-2 focus-visible:outline-emerald-600"
              >
                <span className="flex items-baseline justify-between gap-2">
                  <span className="truncate font-medium">{title}</span>
                  {item.unread > 0 ? (
                    <span className="shrink-0 rounded-full bg-emerald-700 px-2 text-xs font-semibold text-white">
                      <span aria-hidden="true">{item.unread}</span>
                      <span className="sr-only">{t('desk.unread', { count: item.unread })}</span>
                    </span>
                  ) : null}
                </span>
                {subtitle ? <span className="block truncate text-xs text-slate-500">{subtitle}</span> : null}
                <span className="block truncate text-sm text-slate-600">{item.preview}</span>
                <span className="mt-0.5 flex gap-2 text-xs text-slate-500">
                  {item.state === 'offered' ? (
                    <span className="font-medium text-amber-700">{t('desk.offered')}</span>
                  ) : null}
                  {item.waitingSince !== null ? (
                    <span>{t('desk.waiting', { duration: formatDuration((now - item.waitingSince) / 1000) })}</span>
                  ) : null}
                </span>
              </button>
              {item.state === 'offered' ? (
                <div className="flex items-center gap-2 px-3 pb-2">
                  <Button size="sm" onClick={() => void commands.accept(item.id)}>
                    {t('desk.accept')}
                  </Button>
                  <Button size="sm" variant="secondary" onClick={() => void commands.decline(item.id)}>
                    {t('desk.decline')}
                  </Button>
                  <span className="ml-auto text-xs tabular-nums text-amber-700">
                    {secondsLeft !== null && secondsLeft > 0
                      ? t('desk.expiresIn', { seconds: secondsLeft })
                      : t('desk.expired')}
                  </span>
                </div>
              ) : null}
            </li>
          )
        })}
      </ul>
    </div>
  )
}
