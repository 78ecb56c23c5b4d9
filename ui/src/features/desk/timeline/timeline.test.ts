import { describe, expect, it } from 'vitest'
import type { ViewMessage } from '../messages'
import type { EventView } from './events'
import { foldReactions } from './reactions'
import { buildTimeline, type TimelineEntry } from './timeline'

function message(id: number | string, at: number): ViewMessage {
  return { id, direction: 'in', type: 'text', text: String(id), at, status: 'received', payload: { type: 'text', text: { body: String(id) } } }
}

function event(seq: number, at: number): EventView {
  return { kind: 'note', seq, at, note: { text: `n${String(seq)}`, by: null } }
}

function names(entries: TimelineEntry[]): string[] {
  return entries.map((e) => (e.kind === 'event' ? `e${String(e.event.seq)}` : e.kind === 'message' ? `m${String(e.message.id)}` : 'r'))
}

describe('messages and events in one timeline', () => {
  it('puts each event before the first message later than it, messages first on a tie', () => {
    const items = foldReactions([message(1, 1000), message(2, 3000), message(3, 5000)])
    expect(names(buildTimeline(items, [event(1, 500), event(2, 2000), event(3, 3000), event(4, 6000)]))).toEqual([
      'e1', 'm1', 'e2', 'm2', 'e3', 'm3', 'e4',
    ])
  })

  it('keeps the messages own order and this tab\'s unsent messages last', () => {
    // Stored order (row ids) with a clock that disagrees; an unsent message stamped early.
    const items = foldReactions([message(1, 2000), message(2, 1000), message('local:k', 0)])
    expect(names(buildTimeline(items, [event(1, 1500), event(2, 9000)]))).toEqual(['e1', 'm1', 'm2', 'e2', 'mlocal:k'])
  })

  it('leaves out events older than the oldest message shown while older messages are to load', () => {
    const items = foldReactions([message(5, 5000), message(6, 6000)])
    const events = [event(1, 1000), event(2, 5500)]
    expect(names(buildTimeline(items, events, 5000))).toEqual(['m5', 'e2', 'm6'])
    expect(names(buildTimeline(items, events))).toEqual(['e1', 'm5', 'e2', 'm6'])
  })
})
