import { create } from 'zustand'
import { lastSeqKey, type AgentEvent, type ConnectionState, type ConversationSummary, type DeliveryStatus, type QueueStats } from '@/lib/agent-socket'

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
  /** The seq of the last socket event applied to this state (saved beside the inbox, so that
   * a reload asks the server for what came after it). */
  seq: number
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

/** One of the desk's records during a batch of events: copied on its first change only, so
 * that a batch of a thousand events copies the inbox once, not a thousand times. */
class Draft<T> {
  private owned = false

  constructor(public value: Record<number, T>) {}

  get changed(): boolean {
    return this.owned
  }

  set(id: number, item: T): void {
    this.own()
    this.value[id] = item
  }

  remove(id: number): void {
    if (!(id in this.value)) return
    this.own()
    delete this.value[id]
  }

  private own(): void {
    if (this.owned) return
    this.value = { ...this.value }
    this.owned = true
  }
}

interface DeskDraft {
  inbox: Draft<InboxItem>
  live: Draft<LiveMessage[]>
  statuses: Draft<DeliveryStatus>
}

function applyTo(draft: DeskDraft, event: AgentEvent): void {
  const at = event.at * 1000
  switch (event.type) {
    case 'conversation.offered': {
      const d = event.data
      const prev = draft.inbox.value[d.conversation_id]
      draft.inbox.set(d.conversation_id, {
        ...fromSummary(d, prev),
        state: 'offered',
        expiresAt: d.expires_at * 1000,
        waitingSince: prev?.waitingSince ?? at,
        windowOpenUntil: prev?.windowOpenUntil ?? null,
      })
      return
    }
    case 'conversation.assigned': {
      const d = event.data
      const prev = draft.inbox.value[d.conversation_id]
      draft.inbox.set(d.conversation_id, {
        ...fromSummary(d, prev),
        state: 'assigned',
        expiresAt: null,
        waitingSince: d.unread > 0 ? (prev?.waitingSince ?? at) : null,
        windowOpenUntil: d.window_open_until === null ? null : d.window_open_until * 1000,
      })
      return
    }
    case 'conversation.offer_withdrawn':
    case 'conversation.resolved':
    case 'conversation.transferred':
    case 'conversation.released': {
      draft.inbox.remove(event.data.conversation_id)
      draft.live.remove(event.data.conversation_id)
      return
    }
    case 'message.new': {
      const d = event.data
      const id = d.conversation_id
      const when = d.timestamp ? d.timestamp * 1000 : at
      const list = draft.live.value[id] ?? []
      const known = list.some((m) => m.id === d.message_id)
      const prev = draft.inbox.value[id]
      if (prev) {
        draft.inbox.set(id, {
          ...prev,
          preview: d.text || `[${d.type}]`,
          unread: known ? prev.unread : prev.unread + 1,
          waitingSince: prev.waitingSince ?? when,
          // A customer's message opens the 24-hour window again.
          windowOpenUntil: Math.max(prev.windowOpenUntil ?? 0, when + WINDOW_MS),
        })
      }
      if (!known) {
        const message: LiveMessage = {
          id: d.message_id,
          conversationId: id,
          direction: 'in',
          type: d.type,
          text: d.text,
          at: when,
          status: 'received',
        }
        draft.live.set(id, [...list, message].slice(-MAX_LIVE))
      }
      return
    }
    case 'message.status': {
      const d = event.data
      draft.statuses.set(d.message_id, laterStatus(draft.statuses.value[d.message_id], d.status) as DeliveryStatus)
      return
    }
    case 'conversation.updated': {
      const d = event.data
      const prev = draft.inbox.value[d.conversation_id]
      if (!prev) return
      const next: InboxItem = { ...prev }
      if (d.change === 'labels' && d.labels) next.labels = d.labels
      if (d.change === 'priority' && typeof d.priority === 'number') next.priority = d.priority
      if (d.change === 'note' && typeof d.text === 'string') next.note = d.text
      draft.inbox.set(prev.id, next)
      return
    }
    default:
      return
  }
}

/** Applies socket events, in order, to the desk's data (pure: ``state`` is left as it was;
 * each record is copied once for the whole batch; the same object when nothing changed). */
export function reduceEvents(state: DeskData, events: readonly AgentEvent[]): DeskData {
  const draft: DeskDraft = { inbox: new Draft(state.inbox), live: new Draft(state.live), statuses: new Draft(state.statuses) }
  for (const event of events) applyTo(draft, event)
  if (!draft.inbox.changed && !draft.live.changed && !draft.statuses.changed) return state
  return { ...state, inbox: draft.inbox.value, live: draft.live.value, statuses: draft.statuses.value }
}

/** Applies one socket event to the desk's data (pure; exported for tests). */
export function reduceEvent(state: DeskData, event: AgentEvent): DeskData {
  return reduceEvents(state, [event])
}

const empty: DeskData = { inbox: {}, live: {}, statuses: {} }

export const useDeskStore = create<DeskState>(() => ({
  ...empty,
  seq: 0,
  presence: 'offline',
  teamStats: {},
  actionDialog: null,
  selectedId: null,
  connection: 'connecting',
  search: '',
  notice: null,
}))

export const deskActions = {
  /** Applies a batch of socket events (in seq order) in one store update: one render, and
   * one snapshot to save, however many events it holds. */
  applyEvents(events: readonly AgentEvent[]): void {
    const last = events.at(-1)
    if (!last) return
    useDeskStore.setState((s) => {
      const next: Partial<DeskState> = { ...reduceEvents(s, events), seq: last.seq }
      for (const event of events) {
        if (event.type === 'presence') next.presence = event.data.status
        if (event.type === 'queue.stats') {
          next.teamStats = { ...(next.teamStats ?? s.teamStats), [String(event.data.team)]: { ...event.data, at: event.at * 1000 } }
        }
      }
      const inbox = next.inbox ?? s.inbox
      if (s.selectedId !== null && !(s.selectedId in inbox)) next.selectedId = null
      return next
    })
  },
  applyEvent(event: AgentEvent): void {
    deskActions.applyEvents([event])
  },
  /** Replaces the data built from events with ``data``, which matches ``seq``. */
  reset(data: DeskData = empty, seq = 0): void {
    useDeskStore.setState({ ...data, seq, selectedId: null, search: '', notice: null })
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

/** What the tab keeps of the desk: the inbox and the seq of the last event it includes. */
export interface DeskSnapshot {
  data: DeskData
  seq: number
}

function validSeq(value: unknown): number | null {
  const seq = typeof value === 'string' ? Number(value) : value
  return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : null
}

export function loadSnapshot(userId: number): DeskSnapshot | null {
  try {
    const raw = localStorage.getItem(snapshotKey(userId))
    if (!raw) return null
    const parsed = JSON.parse(raw) as { inbox?: unknown; seq?: unknown }
    if (typeof parsed.inbox !== 'object' || parsed.inbox === null) return null
    // Saved before the seq was kept in the snapshot: it was saved beside it, event by event.
    const seq = validSeq(parsed.seq) ?? validSeq(localStorage.getItem(lastSeqKey(userId)))
    if (seq === null) return null
    return { data: { inbox: parsed.inbox as Record<number, InboxItem>, live: {}, statuses: {} }, seq }
  } catch {
    return null
  }
}

/** Saves the inbox with the seq it matches, in one item: a reload never resumes after events
 * the saved inbox does not hold. */
export function saveSnapshot(userId: number, inbox: Record<number, InboxItem>, seq: number): void {
  try {
    // Only the inbox: message texts stay on the server (fetched again when a conversation opens).
    localStorage.setItem(snapshotKey(userId), JSON.stringify({ seq, inbox }))
  } catch {
    // storage full: the next reload replays from the server instead
  }
}
