import { useInfiniteQuery, useQuery, keepPreviousData } from '@tanstack/react-query'
import { useEffect, useMemo, useRef, useState } from 'react'
import { apiFetch, type ApiMessage, type MessagesPage } from '@/lib/api'
import { t } from '@/lib/i18n'
import { laterStatus, type LiveMessage, type MessageStatus } from './store'

export interface ViewMessage {
  id: number | string
  direction: 'in' | 'out'
  type: string
  text: string
  at: number
  status: MessageStatus
  error?: string | undefined
  /** What the server stored (absent on a message known only from the socket or this tab). */
  wamid?: string | null
  /** The stored WhatsApp object: an inbound row holds the webhook's message, an outbound one
   * the object sent under its type (timeline/content.ts reads both). */
  payload?: Record<string, unknown>
  /** The agent who sent an outbound message; null for the bot's own replies. */
  sentBy?: number | null
  errorCode?: string | number | null
}

function get(value: unknown, ...path: string[]): unknown {
  let cur = value
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

/** The readable text of a stored WhatsApp message, in one string (the team view's watch dialog;
 * the desk's timeline reads the payload itself, see timeline/content.ts). */
export function messageText(type: string, payload: Record<string, unknown>): string {
  const text =
    str(get(payload, 'text', 'body')) ??
    str(get(payload, type, 'caption')) ??
    str(get(payload, 'interactive', 'button_reply', 'title')) ??
    str(get(payload, 'interactive', 'list_reply', 'title')) ??
    str(get(payload, 'interactive', 'body', 'text')) ??
    str(get(payload, 'button', 'text')) ??
    str(get(payload, 'body')) ??
    // An outbound row holds only the object it sent: `{caption}`, `{body: {text}}`.
    str(get(payload, 'caption')) ??
    str(get(payload, 'body', 'text'))
  if (type === 'text') return text ?? ''
  const label = type === 'template' ? `template ${str(get(payload, 'template', 'name')) ?? ''}`.trim() : type
  return text ? `${t('desk.media', { type: label })} ${text}` : t('desk.media', { type: label })
}

/** Whether a stored row is something a person wrote: read receipts and typing indicators
 * the desk sent are stored beside the messages (type "read"), but are not part of the talk. */
export function isConversationMessage(m: ApiMessage): boolean {
  return m.type !== 'read'
}

export function fromApi(m: ApiMessage): ViewMessage {
  return {
    id: m.id,
    direction: m.direction,
    type: m.type,
    text: messageText(m.type, m.payload),
    at: Date.parse(m.created_at) || 0,
    status: (m.direction === 'in' ? 'received' : m.status) as MessageStatus,
    error: m.error_details ?? undefined,
    wamid: m.whatsapp_message_id,
    payload: m.payload,
    sentBy: m.sent_by_user_id,
    errorCode: m.error_code,
  }
}

/** Stored messages merged with live ones, deduplicated by id, in the order the server stored
 * them (row ids grow), then this tab's unconfirmed sends. Not by time: a live message carries
 * WhatsApp's timestamp (whole seconds, set when the customer sent it, however late it arrived)
 * and a stored one the server's time, so two messages a second apart could swap. */
export function mergeMessages(
  stored: ViewMessage[],
  live: LiveMessage[],
  statuses: Record<number, MessageStatus>,
): ViewMessage[] {
  const byId = new Map<number | string, ViewMessage>()
  for (const m of stored) byId.set(m.id, m)
  for (const m of live) {
    const known = byId.get(m.id)
    if (known) {
      byId.set(m.id, { ...known, status: laterStatus(known.status, m.status) })
    } else {
      byId.set(m.id, { ...m })
    }
  }
  const merged = [...byId.values()].map((m) => {
    const s = typeof m.id === 'number' ? statuses[m.id] : undefined
    return s && m.direction === 'out' ? { ...m, status: laterStatus(m.status, s) } : m
  })
  return merged.sort((a, b) => {
    const aLocal = typeof a.id === 'string'
    const bLocal = typeof b.id === 'string'
    if (aLocal !== bLocal) return aLocal ? 1 : -1
    if (typeof a.id === 'number' && typeof b.id === 'number') return a.id - b.id
    return a.at - b.at
  })
}

export function messagesQueryKey(conversationId: number) {
  return ['conversations', conversationId, 'messages'] as const
}

/** `GET /api/v1/conversations/<id>/messages`, newest page first; older pages on demand;
 * read again every `refetchMs` when given (a conversation watched without its events). */
export function useConversationMessages(conversationId: number, refetchMs?: number) {
  return useInfiniteQuery({
    refetchInterval: refetchMs ?? false,
    queryKey: messagesQueryKey(conversationId),
    queryFn: ({ pageParam, signal }) =>
      apiFetch<MessagesPage>(`/api/v1/conversations/${String(conversationId)}/messages`, {
        query: { limit: 50, before: pageParam },
        signal,
      }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  })
}

export interface CustomerInfo {
  name: string | null
  phone: string | null
}

/** The most pages of names read at once (200 conversations each). */
const MAX_NAME_PAGES = 10

interface ConversationsPage {
  next_cursor?: string | null
  conversations: { id: number; customer: { name: string | null; phone: string | null } | null }[]
}

/** ``value``, changing at most once every ``ms``: at once after a quiet spell, then the
 * latest value at the end of each interval. */
function useThrottled<T>(value: T, ms: number): T {
  const [shown, setShown] = useState(value)
  const last = useRef(Number.NEGATIVE_INFINITY)
  useEffect(() => {
    if (Object.is(value, shown)) return
    const wait = last.current + ms - Date.now()
    const timer = setTimeout(
      () => {
        last.current = Date.now()
        setShown(value)
      },
      Math.max(0, wait),
    )
    return () => clearTimeout(timer)
  }, [value, shown, ms])
  return shown
}

/** Customer names and phones for the inbox (the socket's summaries carry only the wa_id).
 * Asked again when conversations come or go, at most once a second: a replay that brings
 * 500 conversations asks a few times, not 500. */
export function useCustomerInfo(ids: number[]) {
  const sortedKey = useMemo(() => [...ids].sort((a, b) => a - b).join(','), [ids])
  const idsKey = useThrottled(sortedKey, 1000)
  return useQuery({
    queryKey: ['conversations', 'open', idsKey],
    queryFn: async ({ signal }) => {
      // Every open conversation the agent may see, page after page (an inbox can hold more
      // than one page), up to MAX_NAME_PAGES.
      const out: Record<number, CustomerInfo> = {}
      let cursor: string | null = null
      for (let pages = 0; pages < MAX_NAME_PAGES; pages += 1) {
        const page: ConversationsPage = await apiFetch<ConversationsPage>('/api/v1/conversations', {
          query: { status: 'open', limit: 200, cursor },
          signal,
        })
        for (const c of page.conversations) {
          out[c.id] = { name: c.customer?.name ?? null, phone: c.customer?.phone ?? null }
        }
        cursor = page.next_cursor ?? null
        if (cursor === null) break
      }
      return out
    },
    enabled: idsKey !== '',
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: 1,
  })
}
