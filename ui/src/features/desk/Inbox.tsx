import { memo } from 'react'
import { Button } from '@/components'
import { formatDuration, t } from '@/lib/i18n'
import type { CustomerInfo } from './messages'
import { deskActions, useDeskStore, type InboxItem } from './store'
import { useCommands } from './useCommands'
import { useClock } from './useClock'

export function customerLabel(item: InboxItem, info: CustomerInfo | undefined): { title: string; subtitle: string | null } {
  if (info?.name) return { title: info.name, subtitle: info.phone ?? item.customer }
  return { title: info?.phone ?? item.customer, subtitle: null }
}

interface InboxProps {
  items: InboxItem[]
  names: Record<number, CustomerInfo>
}

type Commands = ReturnType<typeof useCommands>

/** How long the customer has waited, read from the shared clock. */
function Waiting({ since }: { since: number }) {
  const duration = useClock((now) => formatDuration((now - since) / 1000))
  return <span>{t('desk.waiting', { duration })}</span>
}

/** Seconds left to accept an offer, read from the shared clock. */
function ExpiresIn({ at }: { at: number }) {
  const seconds = useClock((now) => Math.floor((at - now) / 1000))
  return <>{seconds > 0 ? t('desk.expiresIn', { seconds }) : t('desk.expired')}</>
}

interface RowProps {
  item: InboxItem
  title: string
  subtitle: string | null
  selected: boolean
  commands: Commands
}

/** One conversation of the inbox. Memoized: an event about one conversation, or a new
 * selection, draws its row again, not the other 499. */
const InboxRow = memo(function InboxRow({ item, title, subtitle, selected, commands }: RowProps) {
  return (
    // Off-screen rows are not laid out or painted until scrolled to (their size is remembered,
    // or guessed at 5rem): 500 rows cost about what the visible ones do.
    <li
      className={`border-b border-slate-100 [contain-intrinsic-size:auto_5rem] [content-visibility:auto] ${selected ? 'bg-emerald-50' : 'bg-white hover:bg-slate-50'}`}
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
          {item.state === 'offered' ? <span className="font-medium text-amber-700">{t('desk.offered')}</span> : null}
          {item.waitingSince !== null ? <Waiting since={item.waitingSince} /> : null}
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
            {item.expiresAt !== null ? <ExpiresIn at={item.expiresAt} /> : t('desk.expired')}
          </span>
        </div>
      ) : null}
    </li>
  )
})

/** The search box and the list of conversations (``items`` already filtered and sorted). */
export const Inbox = memo(function Inbox({ items, names }: InboxProps) {
  const search = useDeskStore((s) => s.search)
  const selectedId = useDeskStore((s) => s.selectedId)
  const total = useDeskStore((s) => Object.keys(s.inbox).length)
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
          return (
            <InboxRow
              key={item.id}
              item={item}
              title={title}
              subtitle={subtitle}
              selected={item.id === selectedId}
              commands={commands}
            />
          )
        })}
      </ul>
    </div>
  )
})
