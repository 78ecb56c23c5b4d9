import { describe, expect, it } from 'vitest'
import { attentionBetween } from './attention'
import type { InboxItem } from './store'

function item(id: number, state: InboxItem['state'], unread: number): InboxItem {
  return {
    id, key: `p:${String(id)}`, customer: `55119000000${String(id)}`, customerId: id, state,
    preview: 'oi', unread, expiresAt: null, waitingSince: null, labels: [], priority: 0, note: '',
    windowOpenUntil: null,
  }
}

describe('what calls for attention', () => {
  it('is a new offer or a new customer message, not a read or an accept', () => {
    const before = { 1: item(1, 'assigned', 0), 2: item(2, 'offered', 0), 3: item(3, 'assigned', 2) }
    const after = {
      1: item(1, 'assigned', 1), // a customer wrote
      2: item(2, 'assigned', 0), // accepted: not new
      3: item(3, 'assigned', 0), // read
      4: item(4, 'offered', 1), // offered now
    }
    expect(attentionBetween(before, after).map((a) => [a.kind, a.conversationId])).toEqual([
      ['message', 1],
      ['offer', 4],
    ])
    expect(attentionBetween(after, after)).toEqual([])
  })
})
