/** Frames of the agent WebSocket protocol (docs/agent-protocol.md). */

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline'

export interface ConversationSummary {
  conversation: string
  conversation_id: number
  customer_id: number
  customer: string
  owner: 'flow' | 'queued' | 'offered' | 'assigned' | 'resolved'
  team: string | null
  agent: string | null
  priority: number
  labels: string[]
  unread: number
  preview: string
  note?: string
}

export interface OfferedData extends ConversationSummary {
  expires_at: number
}

export interface AssignedData extends ConversationSummary {
  recent_message_ids: number[]
  window_open_until: number | null
}

export interface ConversationRef {
  conversation: string
  conversation_id: number
}

export interface MessageNewData extends ConversationRef {
  message_id: number
  wamid: string
  type: string
  text: string
  timestamp: number
}

export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed'

export interface MessageStatusData extends ConversationRef {
  message_id: number
  wamid: string
  status: DeliveryStatus
}

export interface ConversationUpdatedData extends ConversationRef {
  change: 'labels' | 'note' | 'priority'
  by: string
  labels?: string[]
  text?: string
  priority?: number
}

/** A team's queue at a moment (`queue.stats` event, `queue_stats` command). */
export interface QueueStats {
  team: string
  waiting: number
  offered: number
  assigned: number
  agents_online: number
  agents_away: number
  free_slots: number
  oldest_wait: number | null
  handle_time_avg: number | null
}

export interface EventBase<T extends string, D> {
  seq: number
  type: T
  data: D
  at: number
}

export type AgentEvent =
  | EventBase<'presence', { status: 'online' | 'away' | 'offline'; connections: number }>
  | EventBase<'conversation.offered', OfferedData>
  | EventBase<'conversation.offer_withdrawn', ConversationRef & { reason: string }>
  | EventBase<'conversation.assigned', AssignedData>
  | EventBase<'message.new', MessageNewData>
  | EventBase<'conversation.updated', ConversationUpdatedData>
  | EventBase<'conversation.resolved', ConversationRef & { reason: string }>
  | EventBase<'conversation.transferred', ConversationRef & { reason: string }>
  | EventBase<'conversation.released', ConversationRef & { reason: string }>
  | EventBase<'message.status', MessageStatusData>
  | EventBase<'queue.stats', QueueStats>

/** One open conversation of a watched team (`watch_teams` snapshot rows and
 * `team.conversation` frames; the snapshot's rows also carry the customer). */
export interface TeamConversation {
  conversation_id: number
  team: string | null
  owner: ConversationSummary['owner']
  agent: string | null
  priority: number
  labels: string[]
  status: 'open' | 'resolved'
  customer?: { id: number; name: string | null; phone: string | null }
  opened_at?: string | null
  last_customer_message_at?: string | null
}

/** The answer to `watch_teams`: the teams' open conversations when the feed started. */
export interface TeamSnapshot {
  teams: string[]
  conversations: TeamConversation[]
  truncated: boolean
}

export interface WelcomeFrame {
  type: 'welcome'
  agent_id: number
  role: string
  resume_from: number
  last_seq: number
  commands: string[]
}

/** A command without its `id` (the client assigns one). */
export type AgentCommand =
  | { type: 'accept' | 'decline' | 'resolve' | 'mark_read' | 'typing'; conversation_id: number }
  | {
      type: 'send'
      conversation_id: number
      content: { type: 'text'; text: string } | ({ type: string } & Record<string, unknown>)
      idempotency_key?: string
    }
  | { type: 'note'; conversation_id: number; text: string }
  | { type: 'label'; conversation_id: number; add?: string[]; remove?: string[] }
  | { type: 'priority'; conversation_id: number; priority: number }
  | { type: 'transfer'; conversation_id: number; team?: string | number; agent?: string | number; note?: string }
  | { type: 'presence'; status: 'online' | 'away' }
  | { type: 'assign'; conversation_id: number; agent: string | number; team?: string | number }
  | { type: 'queue_stats'; team: string | number }
  | { type: 'watch_teams'; teams: string[] }

export type AckData = Record<string, unknown>

/** The minimal WebSocket surface the client uses (the browser's WebSocket satisfies it). */
export interface SocketLike {
  readonly readyState: number
  onopen: ((ev: Event) => unknown) | null
  onmessage: ((ev: MessageEvent) => unknown) | null
  onclose: ((ev: CloseEvent) => unknown) | null
  onerror: ((ev: Event) => unknown) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type SocketFactory = (url: string) => SocketLike

/** Where the last processed seq is kept (localStorage in the browser). */
export interface SeqStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}
