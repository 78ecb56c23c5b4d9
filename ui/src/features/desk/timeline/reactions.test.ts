import { describe, expect, it } from 'vitest'
import type { ViewMessage } from '../messages'
import { foldReactions } from './reactions'

function message(id: number | string, direction: 'in' | 'out', type: string, payload: Record<string, unknown> | undefined, wamid: string | null = null): ViewMessage {
  return { id, direction, type, text: '', at: typeof id === 'number' ? id * 1000 : 0, status: direction === 'in' ? 'received' : 'sent', wamid, payload }
}

describe('folding reactions onto their messages', () => {
  it('shows the customer reaction the server keeps in the target payload as a badge', () => {
    const items = foldReactions([
      message(1, 'in', 'text', { type: 'text', text: { body: 'meu boleto' } }, 'wamid.1'),
      message(2, 'out', 'text', { body: 'Aqui está', reaction: { emoji: '🙏', wamid: 'wamid.r', at: 5 } }, 'wamid.2'),
    ])
    expect(items.map((i) => (i.kind === 'message' ? i.message.reactions : null))).toEqual([[], [{ emoji: '🙏', from: 'customer' }]])
  })

  it('puts a reaction row on its target instead of a bubble; the later one wins, an empty emoji removes', () => {
    const items = foldReactions([
      message(1, 'in', 'text', { type: 'text', text: { body: 'obrigado!' } }, 'wamid.1'),
      message(2, 'out', 'reaction', { message_id: 'wamid.1', emoji: '👍' }),
      message(3, 'out', 'reaction', { message_id: 'wamid.1', emoji: '❤️' }),
      message(4, 'in', 'text', { type: 'text', text: { body: 'tchau' } }, 'wamid.4'),
      message(5, 'out', 'reaction', { message_id: 'wamid.4', emoji: '👋' }),
      message(6, 'out', 'reaction', { message_id: 'wamid.4', emoji: '' }),
    ])
    expect(items).toHaveLength(2)
    expect(items.map((i) => (i.kind === 'message' ? [i.message.id, i.message.reactions] : null))).toEqual([
      [1, [{ emoji: '❤️', from: 'business' }]],
      [4, []],
    ])
  })

  it('keeps both sides apart', () => {
    const items = foldReactions([
      message(1, 'out', 'text', { body: 'Resolvido!', reaction: { emoji: '🎉', wamid: 'w', at: 1 } }, 'wamid.1'),
      message(2, 'in', 'reaction', { type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '😀' } }),
      message(3, 'out', 'reaction', { message_id: 'wamid.1', emoji: '👍' }),
    ])
    expect(items).toHaveLength(1)
    expect(items[0]?.kind === 'message' && items[0].message.reactions).toEqual([
      { emoji: '😀', from: 'customer' },
      { emoji: '👍', from: 'business' },
    ])
  })

  it('keeps a reaction to a message not in the list as a line of its own', () => {
    const items = foldReactions([message(7, 'in', 'reaction', { type: 'reaction', reaction: { message_id: 'wamid.old', emoji: '👍' } })])
    expect(items).toEqual([{ kind: 'reaction', reaction: { id: 7, from: 'customer', emoji: '👍', at: 7000 } }])
  })
})
