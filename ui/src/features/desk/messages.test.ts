import { describe, expect, it } from 'vitest'
import type { ApiMessage } from '@/lib/api'
import { fromApi, isConversationMessage, mergeMessages, type ViewMessage } from './messages'
import type { LiveMessage } from './store'

function row(id: number, type: string, payload: Record<string, unknown>): ApiMessage {
  return {
    id, whatsapp_message_id: null, direction: 'out', type, payload, status: 'pending',
    sent_by_user_id: null, created_at: '2026-12-07T12:00:00+00:00', whatsapp_timestamp: null,
    sent_at: null, delivered_at: null, read_at: null, played_at: null, failed_at: null,
    error_code: null, error_details: null,
  }
}

describe('stored messages', () => {
  it('leaves out the read receipts the desk sent', () => {
    const rows = [row(1, 'text', { text: { body: 'Olá' } }), row(2, 'read', { status: 'read' })]
    expect(rows.filter(isConversationMessage).map(fromApi).map((m) => m.id)).toEqual([1])
  })

  it('keeps what the timeline reads: the payload, the wamid, who sent it and why it failed', () => {
    const failed = { ...row(3, 'image', { id: 'media-1', caption: 'boleto' }), whatsapp_message_id: 'wamid.3', sent_by_user_id: 12, status: 'failed', error_code: 131053, error_details: 'Media upload error' }
    expect(fromApi(failed)).toMatchObject({
      id: 3, type: 'image', status: 'failed', text: '[image] boleto', wamid: 'wamid.3',
      payload: { id: 'media-1', caption: 'boleto' }, sentBy: 12, error: 'Media upload error', errorCode: 131053,
    })
  })
})

describe('merging stored and live messages', () => {
  it('orders by the server\'s storage order, not by the mixed clocks, and puts unsent ones last', () => {
    // Stored at 12:00:10.700 (server time); the next message came live with WhatsApp's
    // timestamp 12:00:10 (whole seconds): by time it would jump ahead of the first.
    const stored: ViewMessage[] = [
      { id: 10, direction: 'in', type: 'text', text: 'meu boleto venceu', at: Date.parse('2026-12-07T12:00:10.700Z'), status: 'received' },
    ]
    const live: LiveMessage[] = [
      { id: 11, conversationId: 1, direction: 'in', type: 'text', text: 'alô?', at: Date.parse('2026-12-07T12:00:10Z'), status: 'received' },
      { id: 'local:k', conversationId: 1, direction: 'out', type: 'text', text: 'Oi!', at: Date.parse('2026-12-07T12:00:00Z'), status: 'pending' },
      { id: 10, conversationId: 1, direction: 'in', type: 'text', text: 'meu boleto venceu', at: 0, status: 'received' },
    ]
    expect(mergeMessages(stored, live, {}).map((m) => m.text)).toEqual(['meu boleto venceu', 'alô?', 'Oi!'])
  })
})
