import { describe, expect, it } from 'vitest'
import type { ApiMessage } from '@/lib/api'
import { fromApi, isConversationMessage } from './messages'

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
})
