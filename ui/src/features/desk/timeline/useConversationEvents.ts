import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useRef } from 'react'
import { apiFetch } from '@/lib/api'
import { appendEvents, EMPTY_LOG, type EventLog, type EventsPage } from './events'

const PAGE = 500
/** At most this many pages per read (a log is rarely longer than one). */
const MAX_PAGES = 20

export function eventsQueryKey(conversationId: number) {
  return ['conversations', conversationId, 'events'] as const
}

/**
 * The conversation's event log, `GET /api/v1/conversations/<id>/events`. A read asks only for
 * what follows the last seq it has (`after_seq`, page after page while `has_more`), so reading
 * again whenever something may have changed costs one small request.
 */
export function useConversationEvents(conversationId: number) {
  const queryClient = useQueryClient()
  return useQuery({
    queryKey: eventsQueryKey(conversationId),
    queryFn: async ({ signal }) => {
      let log: EventLog = queryClient.getQueryData<EventLog>(eventsQueryKey(conversationId)) ?? EMPTY_LOG
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await apiFetch<Partial<EventsPage>>(`/api/v1/conversations/${String(conversationId)}/events`, {
          query: { after_seq: log.lastSeq, limit: PAGE },
          signal,
        })
        const events = Array.isArray(answer.events) ? answer.events : []
        const next = appendEvents(log, events)
        const more = answer.has_more === true && next.lastSeq > log.lastSeq
        log = next
        if (!more) break
      }
      return log
    },
  })
}

/** Reads the log again when `revision` changes (not on the first render: the query reads it
 * then anyway). */
export function useRefetchOn(revision: unknown, refetch: () => unknown): void {
  const last = useRef(revision)
  useEffect(() => {
    if (last.current === revision) return
    last.current = revision
    void refetch()
  }, [revision, refetch])
}
