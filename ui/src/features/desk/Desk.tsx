import { useDeferredValue, useEffect, useMemo, useState } from 'react'
import { Button } from '@/components'
import { t } from '@/lib/i18n'
import { AlertsMenu } from './AlertsMenu'
import { CommandPalette, type PaletteCommand } from './CommandPalette'
import { ConnectionStatus } from './ConnectionStatus'
import { ConversationView } from './ConversationView'
import { DeskSocketContext } from './desk-context'
import { customerLabel, Inbox } from './Inbox'
import { isShortcut } from './keyboard'
import { useCustomerInfo, type CustomerInfo } from './messages'
import { PresenceSwitch } from './PresenceSwitch'
import { ShortcutsDialog } from './ShortcutsDialog'
import { TeamView } from './TeamView'
import { deskActions, unreadTotal, useDeskStore, visibleInbox, type InboxItem } from './store'
import { useAttention } from './useAttention'
import { useCommands } from './useCommands'
import { useDeskSocket } from './useDeskSocket'

interface DeskProps {
  userId: number
  /** Supervisors and admins also get the team view. */
  role?: string
}

/** The agent's desk: inbox on the left, the selected conversation on the right. */
export function Desk({ userId, role = 'agent' }: DeskProps) {
  const client = useDeskSocket(userId)
  return (
    <DeskSocketContext.Provider value={client}>
      <DeskLayout userId={userId} supervises={role === 'supervisor' || role === 'admin'} />
    </DeskSocketContext.Provider>
  )
}

interface Listing {
  items: InboxItem[]
  names: Record<number, CustomerInfo>
}

/** Conversations new to the list (or changed) that are drawn at once; more are drawn in the
 * background. */
const DRAWN_AT_ONCE = 25

function fewChanged(before: Listing, after: Listing): boolean {
  if (before === after) return true
  if (before.names !== after.names) return false
  const known = new Set(before.items)
  let changed = 0
  for (const item of after.items) {
    if (!known.has(item)) changed += 1
    if (changed > DRAWN_AT_ONCE) return false
  }
  return true
}

/** The inbox as drawn: at once when a few conversations changed (a message, an offer), in the
 * background when many did (a reload, a replay, the customers' names arriving), where React
 * draws in slices of a few ms and the page never stops answering. */
function useListed(items: InboxItem[], names: Record<number, CustomerInfo>): Listing {
  const current = useMemo(() => ({ items, names }), [items, names])
  const deferred = useDeferredValue(current)
  return fewChanged(deferred, current) ? current : deferred
}

function DeskLayout({ userId, supervises }: { userId: number; supervises: boolean }) {
  const [view, setView] = useState<'inbox' | 'team'>('inbox')
  const teamShown = supervises && view === 'team'
  const inbox = useDeskStore((s) => s.inbox)
  const search = useDeskStore((s) => s.search)
  const selectedId = useDeskStore((s) => s.selectedId)
  const notice = useDeskStore((s) => s.notice)
  const [helpOpen, setHelpOpen] = useState(false)
  const [paletteOpen, setPaletteOpen] = useState(false)
  const commands = useCommands()
  useAttention()

  const ids = useMemo(() => Object.keys(inbox).map(Number), [inbox])
  const { data: names = {} } = useCustomerInfo(ids)
  const items = useMemo(() => visibleInbox(inbox, search, names), [inbox, search, names])
  const listed = useListed(items, names)
  const selected = selectedId === null ? undefined : inbox[selectedId]
  const total = unreadTotal(inbox)

  useEffect(() => {
    document.title = total > 0 ? `(${String(total)}) ${t('app.name')}` : t('app.name')
  }, [total])
  useEffect(() => () => {
    document.title = t('app.name')
  }, [])

  const paletteCommands = useMemo((): PaletteCommand[] => {
    // Made when the palette opens: one per conversation is too many to make on every event.
    if (!paletteOpen) return []
    const found: PaletteCommand[] = []
    const current = selected?.state === 'assigned' ? selected : undefined
    if (current) {
      const id = current.id
      found.push(
        { id: 'reply', label: t('desk.paletteReply'), hint: 'R', run: () => document.getElementById('composer')?.focus() },
        { id: 'note', label: t('desk.addNote'), hint: 'N', run: () => deskActions.openAction('note') },
        { id: 'transfer', label: t('desk.transfer'), hint: 'T', run: () => deskActions.openAction('transfer') },
        { id: 'labels', label: t('desk.labels'), run: () => deskActions.openAction('labels') },
        { id: 'priority', label: t('desk.priority'), run: () => deskActions.openAction('priority') },
        { id: 'resolve', label: t('desk.resolve'), hint: 'Shift+E', run: () => void commands.resolve(id) },
      )
    }
    for (const item of items) {
      const { title } = customerLabel(item, names[item.id])
      found.push({ id: `open-${String(item.id)}`, label: t('desk.paletteOpen', { name: title }), run: () => deskActions.select(item.id) })
    }
    found.push(
      { id: 'online', label: t('desk.paletteOnline'), run: () => void commands.presence('online') },
      { id: 'away', label: t('desk.paletteAway'), run: () => void commands.presence('away') },
      { id: 'help', label: t('desk.shortcuts'), hint: '?', run: () => setHelpOpen(true) },
    )
    return found
  }, [paletteOpen, selected, items, names, commands])

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const dialogOpen = document.querySelector('[role="dialog"]') !== null
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k' && !dialogOpen) {
        e.preventDefault()
        setPaletteOpen(true)
        return
      }
      if (helpOpen || !isShortcut(e)) return
      if (e.key === '?') {
        e.preventDefault()
        setHelpOpen(true)
        return
      }
      const step = e.key === 'j' || e.key === 'J' ? 1 : e.key === 'k' || e.key === 'K' ? -1 : 0
      if (step === 0 || items.length === 0) return
      e.preventDefault()
      const index = items.findIndex((item) => item.id === selectedId)
      const nextIndex =
        index === -1 ? (step > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, index + step))
      const next = items[nextIndex]
      if (next) deskActions.select(next.id)
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [items, selectedId, helpOpen])

  return (
    <div className="flex min-h-0 flex-1">
      {/* Narrow screens show one pane at a time: the inbox, or the open conversation. */}
      <aside
        className={`${selected || teamShown ? 'hidden md:flex' : 'flex'} w-full shrink-0 flex-col border-r border-slate-200 bg-white md:w-80`}
      >
        {supervises ? (
          <nav aria-label={t('team.views')} className="flex border-b border-slate-200 text-sm">
            {(['inbox', 'team'] as const).map((v) => (
              <button
                key={v}
                type="button"
                aria-current={view === v ? 'page' : undefined}
                onClick={() => setView(v)}
                className={`flex-1 px-3 py-2 font-medium focus-visible:outline-2 focus-visible:outline-emerald-600 ${
                  view === v ? 'border-b-2 border-emerald-700 text-emerald-800' : 'text-slate-600 hover:bg-slate-100'
                }`}
              >
                {t(v === 'inbox' ? 'team.myInbox' : 'team.title')}
              </button>
            ))}
          </nav>
        ) : null}
        <div className="flex flex-wrap items-center justify-between gap-1 border-b border-slate-200 px-3 py-2">
          <ConnectionStatus />
          <PresenceSwitch />
          <AlertsMenu />
          <Button variant="ghost" size="sm" aria-label={t('desk.shortcuts')} onClick={() => setHelpOpen(true)}>
            ?
          </Button>
        </div>
        <Inbox items={listed.items} names={listed.names} />
      </aside>
      <main className={`${selected || teamShown ? 'flex' : 'hidden md:flex'} min-h-0 min-w-0 flex-1 flex-col`}>
        {notice ? (
          <div role="alert" className="flex items-center gap-3 border-b border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800">
            <span className="flex-1">{notice}</span>
            <Button variant="ghost" size="sm" onClick={() => deskActions.setNotice(null)}>
              {t('desk.dismiss')}
            </Button>
          </div>
        ) : null}
        {teamShown ? (
          <>
            <Button variant="ghost" size="sm" className="self-start md:hidden" onClick={() => setView('inbox')}>
              ← {t('team.myInbox')}
            </Button>
            <TeamView userId={userId} />
          </>
        ) : selected ? (
          <ConversationView key={selected.id} item={selected} info={names[selected.id]} />
        ) : (
          <p className="m-auto text-sm text-slate-500">{t('desk.select')}</p>
        )}
      </main>
      <ShortcutsDialog open={helpOpen} onOpenChange={setHelpOpen} />
      <CommandPalette open={paletteOpen} onOpenChange={setPaletteOpen} commands={paletteCommands} />
    </div>
  )
}
