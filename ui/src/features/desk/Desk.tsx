import { useEffect, useMemo, useState } from 'react'
import { Button } from '@/components'
import { t } from '@/lib/i18n'
import { ConnectionStatus } from './ConnectionStatus'
import { ConversationView } from './ConversationView'
import { DeskSocketContext } from './desk-context'
import { Inbox } from './Inbox'
import { isShortcut } from './keyboard'
import { useCustomerInfo } from './messages'
import { PresenceSwitch } from './PresenceSwitch'
import { ShortcutsDialog } from './ShortcutsDialog'
import { deskActions, unreadTotal, useDeskStore, visibleInbox } from './store'
import { useDeskSocket } from './useDeskSocket'

interface DeskProps {
  userId: number
}

/** The agent's desk: inbox on the left, the selected conversation on the right. */
export function Desk({ userId }: DeskProps) {
  const client = useDeskSocket(userId)
  return (
    <DeskSocketContext.Provider value={client}>
      <DeskLayout />
    </DeskSocketContext.Provider>
  )
}

function DeskLayout() {
  const inbox = useDeskStore((s) => s.inbox)
  const search = useDeskStore((s) => s.search)
  const selectedId = useDeskStore((s) => s.selectedId)
  const notice = useDeskStore((s) => s.notice)
  const [helpOpen, setHelpOpen] = useState(false)

  const ids = useMemo(() => Object.keys(inbox).map(Number), [inbox])
  const { data: names = {} } = useCustomerInfo(ids)
  const items = useMemo(() => visibleInbox(inbox, search, names), [inbox, search, names])
  const selected = selectedId === null ? undefined : inbox[selectedId]
  const total = unreadTotal(inbox)

  useEffect(() => {
    document.title = total > 0 ? `(${String(total)}) ${t('app.name')}` : t('app.name')
  }, [total])
  useEffect(() => () => {
    document.title = t('app.name')
  }, [])

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
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
        className={`${selected ? 'hidden md:flex' : 'flex'} w-full shrink-0 flex-col border-r border-slate-200 bg-white md:w-80`}
      >
        <div className="flex items-center justify-between border-b border-slate-200 px-3 py-2">
          <ConnectionStatus />
          <PresenceSwitch />
          <Button variant="ghost" size="sm" aria-label={t('desk.shortcuts')} onClick={() => setHelpOpen(true)}>
            ?
          </Button>
        </div>
        <Inbox items={items} names={names} />
      </aside>
      <main className={`${selected ? 'flex' : 'hidden md:flex'} min-h-0 min-w-0 flex-1 flex-col`}>
        {notice ? (
          <div role="alert" className="flex items-center gap-3 border-b border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800">
            <span className="flex-1">{notice}</span>
            <Button variant="ghost" size="sm" onClick={() => deskActions.setNotice(null)}>
              {t('desk.dismiss')}
            </Button>
          </div>
        ) : null}
        {selected ? (
          <ConversationView key={selected.id} item={selected} info={names[selected.id]} />
        ) : (
          <p className="m-auto text-sm text-slate-500">{t('desk.select')}</p>
        )}
      </main>
      <ShortcutsDialog open={helpOpen} onOpenChange={setHelpOpen} />
    </div>
  )
}
