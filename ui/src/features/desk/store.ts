import { create } from 'zustand'
import type { AgentEvent, ConnectionState, ConversationSummary, DeliveryStatus, QueueStats } from '@/lib/agent-socket'

/** A conversation in the agent's inbox, built from socket events. */
export interface InboxItem {
  id: number
  key: string
  customer: string
  customerId: number
  state: 'offered' | 'assigned'
  preview: string
  unread: number
  /** When an offer is withdrawn (ms since the epoch). */
  expiresAt: number | null
  /** Since when the customer waits for an answer (ms), or null when answered. */
  waitingSince: number | null
  labels: string[]
  priority: number
  note: string
  windowOpenUntil: number | null
}

export type MessageStatus = DeliveryStatus | 'received'

/** A message known from the socket (customer messages) or sent from this tab. */
export interface LiveMessage {
  /** The messages row id, or `local:<idempotency key>` until the server acknowledged it. */
  id: number | string
  conversationId: number
  direction: 'in' | 'out'
  type: string
  text: string
  /** ms since the epoch */
  at: number
  status: MessageStatus
  error?: string
}

export interface DeskData {
  inbox: Record<number, InboxItem>
  live: Record<number, LiveMessage[]>
  statuses: Record<number, DeliveryStatus>
}

export type Presence = 'online' | 'away' | 'offline'

/** The dialogs of the selected conversation's actions (see ConversationActions). */
export type ActionDialog = 'note' | 'labels' | 'priority' | 'transfer'

interface DeskState extends DeskData {
  /** The agent's own status, as the server last announced it. */
  presence: Presence
  /** Each team's queue as last announced (`queue.stats`), by team id. */
  teamStats: Record<string, QueueStats & { at: number }>
  /** Which action dialog of the selected conversation is open. */
  actionDialog: ActionDialog | null
  selectedId: number | null
  connection: ConnectionState
  search: string
  notice: string | null
}

const STATUS_RANK: Record<DeliveryStatus, number> = {
  pending: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  played: 4,
  failed: 5,
}

/** Statuses only move forward (a late `delivered` never undoes `read`); `failed` always wins. */
export function laterStatus(a: MessageStatus | undefined, b: MessageStatus): MessageStatus {
  if (a === undefined || a === 'received' || b === 'received') return b
  return STATUS_RANK[b] >= STATUS_RANK[a] ? b : a
}

const MAX_LIVE = 200
/** WhatsApp's customer service window: free-form replies until 24 h after the customer's
 * last message, then only approved templates. */
export const WINDOW_MS = 24 * 60 * 60 * 1000

function fromSummary(data: ConversationSummary, prev: InboxItem | undefined): Omit<InboxItem, 'state' | 'expiresAt' | 'waitingSince' | 'windowOpenUntil'> {
  return {
    id: data.conversation_id,
    key: data.conversation,
    customer: data.customer,
    customerId: data.customer_id,
    preview: data.preview || prev?.preview || '',
    unread: data.unread,
    labels: data.labels,
    priority: data.priority,
    note: data.note ?? prev?.note ?? '',
  }
}

function without<T>(record: Record<number, T>, id: number): Record<number, T> {
  if (!(id in record)) return record
  const next = { ...record }
  delete next[id]
  return next
}

/** Applies one socket event to the desk's data (pure; exported for tests). */
export function reduceEvent(state: DeskData, event: AgentEvent): DeskData {
  const at = event.at * 1000
  switch (event.type) {
    case 'conversation.offered': {
      const d = event.data
      const prev = state.inbox[d.conversation_id]
      const item: InboxItem = {
        ...fromSummary(d, prev),
        state: 'offered',
        expiresAt: d.expires_at * 1000,
        waitingSince: prev?.waitingSince ?? at,
        windowOpenUntil: prev?.windowOpenUntil ?? null,
      }
      return { ...state, inbox: { ...state.inbox, [item.id]: item } }
    }
    case 'conversation.assigned': {
      const d = event.data
      const prev = state.inbox[d.conversation_id]
      const item: InboxItem = {
        ...fromSummary(d, prev),
        state: 'assigned',
        expiresAt: null,
        waitingSince: d.unread > 0 ? (prev?.waitingSince ?? at) : null,
        windowOpenUntil: d.window_open_until === null ? null : d.window_open_until * 1000,
      }
      return { ...state, inbox: { ...state.inbox, [item.id]: item } }
    }
    case 'conversation.offer_withdrawn':
    case 'conversation.resolved':
    case 'conversation.transferred':
    case 'conversation.released': {
      const id = event.data.conversation_id
      return { ...state, inbox: without(state.inbox, id), live: without(state.live, id) }
    }
    case 'message.new': {
      const d = event.data
      const id = d.conversation_id
      const when = d.timestamp ? d.timestamp * 1000 : at
      const list = state.live[id] ?? []
      const known = list.some((m) => m.id === d.message_id)
      const message: LiveMessage = {
        id: d.message_id,
        conversationId: id,
        direction: 'in',
        type: d.type,
        text: d.text,
        at: when,
        status: 'received',
      }
      const prev = state.inbox[id]
      const inbox = prev
        ? {
            ...state.inbox,
            [id]: {
              ...prev,
              preview: d.text || `[${d.type}]`,
              unread: known ? prev.unread : prev.unread + 1,
              waitingSince: prev.waitingSince ?? when,
              // A customer's message opens the 24-hour window again.
              windowOpenUntil: Math.max(prev.windowOpenUntil ?? 0, when + WINDOW_MS),
            },
          }
        : state.inbox
      return {
        ...state,
        inbox,
        live: known ? state.live : { ...state.live, [id]: [...list, message].slice(-MAX_LIVE) },
      }
    }
    case 'message.status': {
      const d = event.data
      return {
        ...state,
        statuses: { ...state.statuses, [d.message_id]: laterStatus(state.statuses[d.message_id], d.status) as DeliveryStatus },
      }
    }
    case 'conversation.updated': {
      const d = event.data
      const prev = state.inbox[d.conversation_id]
      if (!prev) return state
      const next: InboxItem = { ...prev }
      if (d.change === 'labels' && d.labels) next.labels = d.labels
      if (d.change === 'priority' && typeof d.priority === 'number') next.priority = d.priority
      if (d.change === 'note' && typeof d.text === 'string') next.note = d.text
      return { ...state, inbox: { ...state.inbox, [prev.id]: next } }
    }
    default:
      return state
  }
}

const empty: DeskData = { inbox: {}, live: {}, statuses: {} }

export const useDeskStore = create<DeskState>(() => ({
  ...empty,
  presence: 'offline',
  teamStats: {},
  actionDialog: null,
  selectedId: null,
  connection: 'connecting',
  search: '',
  notice: null,
}))

export const deskActions = {
  applyEvent(event: AgentEvent): void {
    if (event.type === 'presence') {
      useDeskStore.setState({ presence: event.data.status })
      return
    }
    if (event.type === 'queue.stats') {
      deskActions.setTeamStats(event.data, event.at * 1000)
      return
    }
    useDeskStore.setState((s) => {
      const next = reduceEvent(s, event)
      const selectedGone = s.selectedId !== null && !(s.selectedId in next.inbox)
      return selectedGone ? { ...next, selectedId: null } : next
    })
  },
  reset(data: DeskData = empty): void {
    useDeskStore.setState({ ...data, selectedId: null, search: '', notice: null })
  },
  setConnection(connection: ConnectionState): void {
    useDeskStore.setState({ connection })
  },
  select(selectedId: number | null): void {
    useDeskStore.setState({ selectedId, actionDialog: null })
  },
  setTeamStats(stats: QueueStats, at: number): void {
    useDeskStore.setState((s) => ({ teamStats: { ...s.teamStats, [String(stats.team)]: { ...stats, at } } }))
  },
  openAction(actionDialog: ActionDialog | null): void {
    useDeskStore.setState({ actionDialog })
  },
  setSearch(search: string): void {
    useDeskStore.setState({ search })
  },
  setNotice(notice: string | null): void {
    useDeskStore.setState({ notice })
  },
  markReadLocal(id: number): void {
    useDeskStore.setState((s) => {
      const item = s.inbox[id]
      if (!item || item.unread === 0) return s
      return { inbox: { ...s.inbox, [id]: { ...item, unread: 0 } } }
    })
  },
  addOutgoing(conversationId: number, localId: string, text: string, type = 'text'): void {
    useDeskStore.setState((s) => {
      const message: LiveMessage = {
        id: localId,
        conversationId,
        direction: 'out',
        type,
        text,
        at: Date.now(),
        status: 'pending',
      }
      const item = s.inbox[conversationId]
      return {
        live: { ...s.live, [conversationId]: [...(s.live[conversationId] ?? []), message].slice(-MAX_LIVE) },
        inbox: item ? { ...s.inbox, [conversationId]: { ...item, unread: 0, waitingSince: null } } : s.inbox,
      }
    })
  },
  confirmOutgoing(conversationId: number, localId: string, messageId: number): void {
    updateLocal(conversationId, localId, (m, s) => ({
      ...m,
      id: messageId,
      status: laterStatus(s.statuses[messageId], 'sent'),
    }))
  },
  failOutgoing(conversationId: number, localId: string, error: string): void {
    updateLocal(conversationId, localId, (m) => ({ ...m, status: 'failed', error }))
  },
}

/** Replaces this tab's unconfirmed message ``localId`` with what ``change`` makes of it. */
function updateLocal(
  conversationId: number,
  localId: string,
  change: (message: LiveMessage, state: DeskState) => LiveMessage,
): void {
  useDeskStore.setState((s) => {
    const list = s.live[conversationId]
    if (!list) return s
    return { live: { ...s.live, [conversationId]: list.map((m) => (m.id === localId ? change(m, s) : m)) } }
  })
}

/** The inbox as shown: search applied, longest wait first (answered ones last). */
export function visibleInbox(
  inbox: Record<number, InboxItem>,
  search: string,
  names: Record<number, { name: string | null; phone: string | null }> = {},
): InboxItem[] {
  const q = search.trim().toLowerCase()
  const digits = q.replace(/[\s+\-.()]/g, '')
  return Object.values(inbox)
    .filter((item) => {
      if (!q) return true
      const known = names[item.id]
      const haystack = [item.customer, known?.name ?? '', known?.phone ?? ''].join(' ').toLowerCase()
      if (haystack.includes(q)) return true
      if (/^\d+$/.test(digits)) {
        return haystack.replace(/[\s+\-.()]/g, '').includes(digits)
      }
      return false
    })
    .sort((a, b) => {
      const wa = a.waitingSince ?? Number.POSITIVE_INFINITY
      const wb = b.waitingSince ?? Number.POSITIVE_INFINITY
      if (wa !== wb) return wa < wb ? -1 : 1
      return a.id - b.id
    })
}

export function unreadTotal(inbox: Record<number, InboxItem>): number {
  return Object.values(inbox).reduce((sum, item) => sum + item.unread, 0)
}

// -- persistence: the inbox is derived from events, so it is kept beside the seq it matches --

export function snapshotKey(userId: number): string {
  return `pytake.desk.${String(userId)}`
}

export function loadSnapshot(userId: number): DeskData | null {
  try {
    const raw = localStorage.getItem(snapshotKey(userId))
    if (!raw) return null
    const parsed = JSON.parse(raw) as Partial<DeskData>
    if (typeof parsed.inbox !== 'object' || parsed.inbox === null) return null
    return { inbox: parsed.inbox, live: {}, statuses: {} }
  } catch {
    return null
  }
}

export function saveSnapshot(userId: number, data: DeskData): void {
  try {
    // Only the inbox: message texts stay on the server (fetched again when a conversation opens).
    localStorage.setItem(snapshotKey(userId), JSON.stringify({ inbox: data.inbox }))
  } catch {
    // storage full: the next reload replays from the server instead
  }
}
