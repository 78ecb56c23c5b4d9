import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AgentEvent } from '@/lib/agent-socket'
import { deskActions, loadSnapshot, snapshotKey } from './store'
import { keepSnapshot, SAVE_EVERY_MS } from './useDeskSocket'

function assigned(seq: number, id: number): AgentEvent {
  return {
    seq,
    type: 'conversation.assigned',
    data: {
      conversation: `p:${String(id)}`,
      conversation_id: id,
      customer_id: id,
      customer: `55119${String(id)}`,
      owner: 'assigned',
      team: '3',
      agent: '12',
      priority: 0,
      labels: [],
      unread: 0,
      preview: 'oi',
      recent_message_ids: [],
      window_open_until: null,
    },
    at: 1000 + seq,
  }
}

function saved(): { seq: number; ids: string[] } | null {
  const snapshot = loadSnapshot(12)
  return snapshot && { seq: snapshot.seq, ids: Object.keys(snapshot.data.inbox) }
}

beforeEach(() => {
  vi.useFakeTimers()
  deskActions.reset()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the saved inbox', () => {
  it('is saved with its seq at most once a second, and at once when the page is left', () => {
    const client = { flush: vi.fn() }
    const setItem = vi.spyOn(Storage.prototype, 'setItem')
    const stop = keepSnapshot(12, client)
    deskActions.applyEvents([assigned(1, 50)])
    vi.advanceTimersByTime(0)
    expect(saved()).toEqual({ seq: 1, ids: ['50'] })
    // A stream of events within the next second: saved once, at its end, as it then stands.
    for (let seq = 2; seq <= 20; seq += 1) {
      vi.advanceTimersByTime(40)
      deskActions.applyEvents([assigned(seq, 50 + seq)])
    }
    expect(saved()?.seq).toBe(1)
    vi.advanceTimersByTime(SAVE_EVERY_MS)
    expect(saved()).toMatchObject({ seq: 20 })
    expect(saved()?.ids).toHaveLength(20)
    expect(setItem.mock.calls.filter(([key]) => key === snapshotKey(12))).toHaveLength(2)

    // Leaving the page delivers what the socket holds, then saves without waiting.
    client.flush.mockImplementation(() => deskActions.applyEvents([assigned(21, 99)]))
    window.dispatchEvent(new Event('pagehide'))
    expect(client.flush).toHaveBeenCalledOnce()
    expect(saved()).toMatchObject({ seq: 21 })
    stop()
  })

  it('never holds a seq without the inbox it matches, even from before the seq was kept in it', () => {
    localStorage.setItem(snapshotKey(12), JSON.stringify({ inbox: {} }))
    expect(loadSnapshot(12)).toBeNull() // replayed from the start
    localStorage.setItem('pytake.agent.lastSeq.12', '7')
    expect(loadSnapshot(12)).toEqual({ data: { inbox: {}, live: {}, statuses: {} }, seq: 7 })
  })
})
