import { describe, expect, it } from 'vitest'
import type { AgentEvent } from '@/lib/agent-socket'
import { deskActions, reduceEvent, reduceEvents, unreadTotal, useDeskStore, visibleInbox, type DeskData } from './store'

const summary = {
  conversation: 'p:7',
  conversation_id: 42,
  customer_id: 7,
  customer: '5511987654321',
  owner: 'offered' as const,
  team: '3',
  agent: '12',
  priority: 0,
  labels: [],
  unread: 1,
  preview: 'preciso de ajuda',
}

function apply(events: AgentEvent[], start: DeskData = { inbox: {}, live: {}, statuses: {} }): DeskData {
  return events.reduce(reduceEvent, start)
}

describe('desk store', () => {
  it('builds the inbox from offers, assignments and messages', () => {
    const state = apply([
      { seq: 1, type: 'conversation.offered', data: { ...summary, expires_at: 1000 }, at: 970 },
      { seq: 2, type: 'conversation.assigned', data: { ...summary, owner: 'assigned', recent_message_ids: [101], window_open_until: 2000 }, at: 975 },
      { seq: 3, type: 'message.new', data: { conversation: 'p:7', conversation_id: 42, message_id: 102, wamid: 'w', type: 'text', text: 'meu pedido', timestamp: 980 }, at: 980 },
      { seq: 4, type: 'message.new', data: { conversation: 'p:7', conversation_id: 42, message_id: 102, wamid: 'w', type: 'text', text: 'meu pedido', timestamp: 980 }, at: 980 },
    ])
    const item = state.inbox[42]!
    expect(item.state).toBe('assigned')
    expect(item.unread).toBe(2)
    expect(item.preview).toBe('meu pedido')
    expect(item.waitingSince).toBe(970_000)
    expect(state.live[42]).toHaveLength(1)
    expect(unreadTotal(state.inbox)).toBe(2)
  })

  it('removes conversations that leave the agent', () => {
    for (const type of [
      'conversation.offer_withdrawn',
      'conversation.resolved',
      'conversation.transferred',
      'conversation.released',
    ] as const) {
      const state = apply([
        { seq: 1, type: 'conversation.offered', data: { ...summary, expires_at: 1000 }, at: 970 },
        { seq: 2, type, data: { conversation: 'p:7', conversation_id: 42, reason: 'x' }, at: 971 },
      ])
      expect(state.inbox).toEqual({})
    }
  })

  it('keeps message statuses moving forward', () => {
    const ev = (seq: number, status: 'sent' | 'delivered' | 'read'): AgentEvent => ({
      seq,
      type: 'message.status',
      data: { conversation: 'p:7', conversation_id: 42, message_id: 5, wamid: 'w', status },
      at: seq,
    })
    expect(apply([ev(1, 'sent'), ev(2, 'read'), ev(3, 'delivered')]).statuses[5]).toBe('read')
  })

  it('sorts by wait and filters by name or phone', () => {
    const state = apply([
      { seq: 1, type: 'conversation.offered', data: { ...summary, expires_at: 1000 }, at: 990 },
      { seq: 2, type: 'conversation.offered', data: { ...summary, conversation_id: 43, customer: '5521999990000', expires_at: 1000 }, at: 980 },
    ])
    expect(visibleInbox(state.inbox, '').map((i) => i.id)).toEqual([43, 42])
    const names = { 42: { name: 'Ana Souza', phone: '+55 11 98765-4321' } }
    expect(visibleInbox(state.inbox, 'ana', names).map((i) => i.id)).toEqual([42])
    expect(visibleInbox(state.inbox, '98765-4321', names).map((i) => i.id)).toEqual([42])
    expect(visibleInbox(state.inbox, '2199999', names).map((i) => i.id)).toEqual([43])
  })
})

describe('a batch of events', () => {
  const offered = (seq: number, id: number): AgentEvent => ({
    seq,
    type: 'conversation.offered',
    data: { ...summary, conversation_id: id, customer: `55119${String(id)}`, expires_at: 2000 },
    at: 1000 + seq,
  })
  const assigned = (seq: number, id: number): AgentEvent => ({
    seq,
    type: 'conversation.assigned',
    data: { ...summary, conversation_id: id, owner: 'assigned', unread: 0, recent_message_ids: [], window_open_until: null },
    at: 1000 + seq,
  })
  const burst = Array.from({ length: 100 }, (_, i) => [offered(2 * i + 1, 500 + i), assigned(2 * i + 2, 500 + i)]).flat()

  it('gives what the events one by one give, copying only what changed', () => {
    const start: DeskData = apply([offered(1, 42)])
    const batched = reduceEvents(start, burst)
    expect(batched).toEqual(burst.reduce(reduceEvent, start))
    expect(Object.keys(batched.inbox)).toHaveLength(101)
    expect(batched.inbox[42]).toBe(start.inbox[42])
    expect(start.inbox[500]).toBeUndefined()
    // Events that change nothing leave the same object.
    const unknown: AgentEvent = { seq: 300, type: 'conversation.updated', data: { conversation: 'p:9', conversation_id: 9, change: 'note', text: 'x', by: '12' }, at: 1 }
    expect(reduceEvents(batched, [unknown])).toBe(batched)
  })

  it('is one store update, which takes the seq of its last event', () => {
    deskActions.reset()
    deskActions.select(42)
    const updates: number[] = []
    const stop = useDeskStore.subscribe((state) => updates.push(state.seq))
    deskActions.applyEvents([...burst, { seq: 201, type: 'presence', data: { status: 'away', connections: 1 }, at: 1300 }])
    stop()
    expect(updates).toEqual([201])
    const state = useDeskStore.getState()
    expect(Object.values(state.inbox).filter((item) => item.state === 'assigned')).toHaveLength(100)
    expect(state.presence).toBe('away')
    expect(state.selectedId).toBeNull() // 42 is not in this inbox
  })
})
