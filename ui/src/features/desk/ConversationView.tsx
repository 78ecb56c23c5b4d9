import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useMemo, useRef, useState } from 'react'
import { Button } from '@/components'
import { formatDuration, t } from '@/lib/i18n'
import { Composer } from './Composer'
import { ConversationActions } from './ConversationActions'
import { CustomerPanel } from './CustomerPanel'
import { customerLabel } from './Inbox'
import { fromApi, isConversationMessage, mergeMessages, messagesQueryKey, useConversationMessages, type CustomerInfo } from './messages'
import { isShortcut } from './keyboard'
import { deskActions, useDeskStore, WINDOW_MS, type InboxItem, type LiveMessage } from './store'
import { TemplateComposer } from './TemplateComposer'
import { Timeline } from './timeline/Timeline'
import { useConversationEvents, useRefetchOn } from './timeline/useConversationEvents'
import { useCommands } from './useCommands'
import { useNow } from './useNow'

const NO_LIVE: LiveMessage[] = []

interface ConversationViewProps {
  item: InboxItem
  info: CustomerInfo | undefined
}

export function ConversationView({ item, info }: ConversationViewProps) {
  const commands = useCommands()
  const query = useConversationMessages(item.id)
  const live = useDeskStore((s) => s.live[item.id] ?? NO_LIVE)
  const statuses = useDeskStore((s) => s.statuses)
  const logRef = useRef<HTMLDivElement>(null)

  const stored = useMemo(
    () => (query.data?.pages ?? []).flatMap((page) => page.messages.filter(isConversationMessage).map(fromApi)),
    [query.data],
  )
  const messages = useMemo(() => mergeMessages(stored, live, statuses), [stored, live, statuses])

  // The socket tells a customer's message by its type and text only: an image, a location or
  // a button reply needs its stored payload, so the messages are read again for it.
  const queryClient = useQueryClient()
  const missing = useMemo(() => {
    const known = new Set(stored.map((m) => m.id))
    return live
      .filter((m) => m.direction === 'in' && m.type !== 'text' && typeof m.id === 'number' && !known.has(m.id))
      .map((m) => String(m.id))
      .join(',')
  }, [stored, live])
  useEffect(() => {
    if (missing) void queryClient.invalidateQueries({ queryKey: messagesQueryKey(item.id) })
  }, [missing, item.id, queryClient])

  // The conversation's events (transfers, notes, labels…), read again whenever its inbox entry
  // changes: the socket's conversation.updated, message.new, conversation.assigned.
  const events = useConversationEvents(item.id)
  useRefetchOn(item, events.refetch)

  const last = messages.at(-1)
  const lastSeq = events.data?.lastSeq
  useEffect(() => {
    const log = logRef.current
    if (log) log.scrollTop = log.scrollHeight
  }, [last?.id, messages.length, lastSeq])

  // Reading the conversation clears its unread count (and sends the read receipt).
  const { markRead } = commands
  useEffect(() => {
    if (item.state === 'assigned' && item.unread > 0 && document.visibilityState === 'visible') {
      markRead(item.id)
    }
  }, [item.id, item.state, item.unread, markRead])

  const { title, subtitle } = customerLabel(item, info)
  const assigned = item.state === 'assigned'
  const dialog = useDeskStore((s) => s.actionDialog)
  const [customerOpen, setCustomerOpen] = useState(false)
  const now = useNow(30_000)
  // No customer message yet, or the last one more than 24 h ago: only a template may go.
  const windowClosed = item.windowOpenUntil === null || item.windowOpenUntil <= now
  const composerRef = useRef<HTMLTextAreaElement>(null)

  // R replies, N adds a note, T transfers, Shift+E resolves (Shift: resolving by a stray key
  // would be costly); only on an assigned conversation.
  const { resolve } = commands
  useEffect(() => {
    if (!assigned) return
    const onKey = (e: KeyboardEvent) => {
      if (!isShortcut(e)) return
      const key = e.key
      if (key === 'r' || key === 'R') composerRef.current?.focus()
      else if (key === 'n' || key === 'N') deskActions.openAction('note')
      else if (key === 't' || key === 'T') deskActions.openAction('transfer')
      else if (key === 'E' && e.shiftKey) void resolve(item.id)
      else return
      e.preventDefault()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [assigned, item.id, resolve])

  return (
    <div className="relative flex min-h-0 min-w-0 flex-1">
      <section aria-labelledby="conversation-title" className="flex min-h-0 min-w-0 flex-1 flex-col">
        <header className="flex items-center gap-3 border-b border-slate-200 bg-white px-4 py-3">
          {/* On a narrow screen the conversation replaces the inbox: this is the way back. */}
          <Button variant="ghost" size="sm" className="md:hidden" onClick={() => deskActions.select(null)}>
            <span aria-hidden="true">←</span>
            <span className="sr-only">{t('desk.back')}</span>
          </Button>
          <div className="min-w-0 flex-1">
            <h2 id="conversation-title" className="truncate font-semibold">
              {title}
            </h2>
            {subtitle ? <p className="truncate text-xs text-slate-500">{subtitle}</p> : null}
            {item.labels.length > 0 ? (
              <p className="mt-1 flex flex-wrap gap-1">
                {item.labels.map((label) => (
                  <span key={label} className="rounded bg-slate-200 px-1.5 text-xs text-slate-700">
                    {label}
                  </span>
                ))}
              </p>
            ) : null}
          </div>
          <Button
            variant="ghost"
            aria-label={t('desk.showCustomer')}
            aria-expanded={customerOpen}
            aria-controls={customerOpen ? 'customer-panel' : undefined}
            onClick={() => setCustomerOpen((open) => !open)}
          >
            {/* A phone has no room for the words next to the name. */}
            <span className="hidden sm:inline">{t('desk.showCustomer')}</span>
            <span
              aria-hidden="true"
              className="inline-flex h-5 w-5 items-center justify-center rounded-full border border-current font-serif text-xs font-semibold italic sm:hidden"
            >
              i
            </span>
          </Button>
          {assigned ? (
            <Button variant="secondary" aria-keyshortcuts="Shift+E" onClick={() => void commands.resolve(item.id)}>
              {t('desk.resolve')}
            </Button>
          ) : (
            <>
              <Button onClick={() => void commands.accept(item.id)}>{t('desk.accept')}</Button>
              <Button variant="secondary" onClick={() => void commands.decline(item.id)}>
                {t('desk.decline')}
              </Button>
            </>
          )}
        </header>
        {assigned ? <ConversationActions item={item} open={dialog} onOpenChange={(open) => deskActions.openAction(open)} /> : null}
        {item.note ? <p className="border-b border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900">{item.note}</p> : null}
        <div
          ref={logRef}
          role="log"
          // Named by `title`, not aria-label: a label "Messages" would also match a search for the
          // composer's label "Message" (Playwright's getByLabel matches substrings of aria-label).
          title={t('desk.messages')}
          className="flex min-h-0 flex-1 flex-col gap-2 overflow-y-auto bg-slate-100 p-4"
        >
          {query.hasNextPage ? (
            <div className="flex justify-center">
              <Button
                variant="ghost"
                size="sm"
                disabled={query.isFetchingNextPage}
                onClick={() => void query.fetchNextPage()}
              >
                {t('desk.loadOlder')}
              </Button>
            </div>
          ) : null}
          {query.isPending && live.length === 0 ? <p className="text-sm text-slate-500">{t('common.loading')}</p> : null}
          {query.isError ? (
            <p className="text-sm text-red-700">{t('common.error', { detail: query.error.message })}</p>
          ) : null}
          {events.isError ? (
            <p className="text-xs text-red-700">{t('timeline.eventsError', { detail: events.error.message })}</p>
          ) : null}
          {!query.isPending && messages.length === 0 ? (
            <p className="text-sm text-slate-500">{t('desk.noMessages')}</p>
          ) : null}
          <Timeline conversationId={item.id} messages={messages} olderToLoad={query.hasNextPage} log={events.data} />
        </div>
        {assigned && windowClosed ? (
          <TemplateComposer onSend={(template, shown) => void commands.sendTemplate(item.id, template, shown)} />
        ) : (
          <Composer
            ref={composerRef}
            disabled={!assigned}
            note={assigned && item.windowOpenUntil !== null ? t('desk.windowOpen', { duration: formatDuration(Math.floor(Math.min(WINDOW_MS - 1, item.windowOpenUntil - now) / 1000)) }) : undefined}
            onSend={(text) => void commands.send(item.id, text)}
            conversationId={item.id}
          />
        )}
      </section>
      {customerOpen ? (
        <CustomerPanel customerId={item.customerId} conversationId={item.id} onClose={() => setCustomerOpen(false)} />
      ) : null}
    </div>
  )
}
