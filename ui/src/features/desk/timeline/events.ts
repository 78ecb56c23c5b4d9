/**
 * The conversation's event log (`GET /api/v1/conversations/<id>/events`) as timeline entries
 * (pure). What the server logs (pytake/conversations/_actor.py, pytake/routing/_metrics.py):
 *
 * - an owner transition, typed by its event (`handoff`, `offer`, `accept`, `decline`,
 *   `offer_expired`, `requeue`, `transfer_to_team`, `transfer_to_agent`, `reassign`,
 *   `return_to_flow`, `resolve`, and `customer_message` when a message reopened a resolved
 *   conversation) with payload `{from, to, team, agent, event: {...the event's fields}}`;
 * - `note` `{text, by}`, also right after the transition it was given with (same time);
 * - `labels` `{labels (all of them, after), by}` and `priority` `{priority, by}`;
 * - `customer_message`, `agent_message`, `bot_message` for every message (the messages
 *   themselves come from the messages route, so these are not shown).
 *
 * Offers, declines and expired offers are left out: they are the queue's back and forth, not
 * something that happened to the conversation.
 */

export interface ApiEvent {
  id: number
  seq: number
  type: string
  payload: unknown
  at: string | null
}

export interface EventsPage {
  events: ApiEvent[]
  has_more: boolean
}

/** What the log says, read so far (`seq` of the last one: the next page starts after it). */
export interface EventLog {
  events: ApiEvent[]
  lastSeq: number
}

export const EMPTY_LOG: EventLog = { events: [], lastSeq: 0 }

/** `log` with `page` appended: by seq, each seq once (a page read twice changes nothing). */
export function appendEvents(log: EventLog, page: readonly ApiEvent[]): EventLog {
  const fresh = page.filter((e) => e.seq > log.lastSeq).sort((a, b) => a.seq - b.seq)
  const unique = fresh.filter((e, i) => i === 0 || fresh[i - 1]?.seq !== e.seq)
  if (unique.length === 0) return log
  return { events: [...log.events, ...unique], lastSeq: unique.at(-1)?.seq ?? log.lastSeq }
}

/** Who did something: an agent's id ("12"), the bot, or nobody known. */
export type Actor = { kind: 'agent'; id: string } | { kind: 'bot' } | null

interface Base {
  seq: number
  /** ms since the epoch (0 when the server gave no time) */
  at: number
}

export interface NoteView {
  text: string
  by: Actor
}

export type EventView = Base &
  (
    | { kind: 'handoff'; byBot: boolean; team: string | null; note: NoteView | null }
    | { kind: 'accepted'; agent: string | null }
    | { kind: 'assigned'; agent: string | null; team: string | null; by: Actor; note: NoteView | null }
    | { kind: 'transferred'; team: string | null; agent: string | null; note: NoteView | null }
    | { kind: 'requeued'; reason: string | null }
    | { kind: 'returned_to_bot' }
    | { kind: 'resolved'; by: Actor }
    | { kind: 'reopened' }
    | { kind: 'note'; note: NoteView }
    | { kind: 'labels'; by: Actor; added: string[]; removed: string[]; labels: string[] }
    | { kind: 'priority'; by: Actor; priority: number }
  )

type Json = Record<string, unknown>

function record(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {}
}

function id(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return typeof value === 'string' && value !== '' ? value : null
}

function actor(value: unknown): Actor {
  const who = id(value)
  if (who === null) return null
  return who === 'bot' ? { kind: 'bot' } : { kind: 'agent', id: who }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/** Transitions a note given with them belongs to (the note is logged right after, same time). */
const CARRIES_NOTE = new Set(['handoff', 'transferred', 'assigned'])

/**
 * The entries of the log worth showing, in seq order, each transfer or hand-off carrying the
 * note given with it. Labels events say what was added and removed (the log keeps the whole
 * list after each change; before the first one there were none).
 */
export function eventViews(events: readonly ApiEvent[]): EventView[] {
  const out: EventView[] = []
  let labels: string[] = []
  let previous: { view: EventView; at: string | null } | null = null
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const p = record(e.payload)
    const inner = record(p.event)
    const base: Base = { seq: e.seq, at: e.at ? Date.parse(e.at) || 0 : 0 }
    let view: EventView | null = null
    switch (e.type) {
      case 'handoff':
        view = { ...base, kind: 'handoff', byBot: p.from === 'flow', team: id(p.team) ?? id(inner.team), note: null }
        break
      case 'accept':
        view = { ...base, kind: 'accepted', agent: id(inner.agent) ?? id(p.agent) }
        break
      case 'reassign':
        view = { ...base, kind: 'assigned', agent: id(inner.agent) ?? id(p.agent), team: id(p.team), by: actor(inner.by), note: null }
        break
      case 'transfer_to_team':
        view = { ...base, kind: 'transferred', team: id(inner.team) ?? id(p.team), agent: null, note: null }
        break
      case 'transfer_to_agent':
        view = { ...base, kind: 'transferred', team: id(p.team), agent: id(inner.agent) ?? id(p.agent), note: null }
        break
      case 'requeue':
        view = { ...base, kind: 'requeued', reason: id(inner.reason) }
        break
      case 'return_to_flow':
        view = { ...base, kind: 'returned_to_bot' }
        break
      case 'resolve':
        view = { ...base, kind: 'resolved', by: actor(inner.by) }
        break
      case 'customer_message':
        // Only the transition (a message that reopened the conversation) has `to`.
        if (p.from === 'resolved' && typeof p.to === 'string' && p.to !== 'resolved') view = { ...base, kind: 'reopened' }
        break
      case 'note': {
        const text = typeof p.text === 'string' ? p.text : ''
        const note: NoteView = { text, by: actor(p.by) }
        const prev = previous?.view
        if (prev && previous?.at === e.at && CARRIES_NOTE.has(prev.kind) && 'note' in prev && prev.note === null) {
          prev.note = note
          continue
        }
        if (text) view = { ...base, kind: 'note', note }
        break
      }
      case 'labels': {
        const now = strings(p.labels)
        const added = now.filter((l) => !labels.includes(l))
        const removed = labels.filter((l) => !now.includes(l))
        labels = now
        view = { ...base, kind: 'labels', by: actor(p.by), added, removed, labels: now }
        break
      }
      case 'priority':
        if (typeof p.priority === 'number') view = { ...base, kind: 'priority', by: actor(p.by), priority: p.priority }
        break
      default:
        break
    }
    if (view) {
      out.push(view)
      previous = { view, at: e.at }
    }
  }
  return out
}

/** The teams the log mentions (where each transition left the conversation, where it was
 * sent): their members are the agents the timeline names. */
export function mentionedTeams(events: readonly ApiEvent[]): string[] {
  const teams = new Set<string>()
  for (const e of events) {
    const p = record(e.payload)
    for (const team of [id(p.team), id(record(p.event).team)]) {
      if (team !== null) teams.add(team)
    }
  }
  return [...teams]
}
