import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers, type ApiMessage } from '@/lib/api'
import { Desk } from '../Desk'
import { deskActions } from '../store'
import type { ApiEvent } from './events'
import { FakeWebSocket, json } from '@/test/fakes'

function row(id: number, type: string, payload: Record<string, unknown>): ApiMessage {
  return {
    id, whatsapp_message_id: `wamid.${String(id)}`, direction: 'in', type, payload, status: 'received', sent_by_user_id: null,
    created_at: new Date(Date.UTC(2026, 2, 1, 12, 0, id % 60)).toISOString(), whatsapp_timestamp: null, sent_at: null,
    delivered_at: null, read_at: null, played_at: null, failed_at: null, error_code: null, error_details: null,
  }
}

let stored: ApiMessage[] = []
let events: ApiEvent[] = []
const fetchMock = vi.fn((url: string): Promise<Response> => {
  if (url.startsWith('/api/v1/conversations/42/messages/102/media')) {
    return Promise.resolve(new Response('png', { status: 200, headers: { 'content-type': 'image/png' } }))
  }
  if (url.startsWith('/api/v1/conversations/42/messages')) return Promise.resolve(json({ messages: [...stored].reverse(), next_cursor: null }))
  if (url.startsWith('/api/v1/conversations/42/events')) {
    const after = Number(new URL(url, 'http://x').searchParams.get('after_seq'))
    return Promise.resolve(json({ events: events.filter((e) => e.seq > after), has_more: false }))
  }
  if (url.startsWith('/api/v1/teams/3/members')) {
    return Promise.resolve(json({ members: [{ user_id: 12, name: 'Eu Mesma', email: 'a@x', role: 'agent', active: true, skills: [], max_concurrent: 5, joined_at: null }], next_cursor: null }))
  }
  if (url.startsWith('/api/v1/teams')) return Promise.resolve(json({ teams: [{ id: 3, name: 'Suporte', member_count: 1 }], next_cursor: null }))
  if (url.startsWith('/api/v1/conversations')) return Promise.resolve(json({ conversations: [], next_cursor: null }))
  return Promise.resolve(new Response('{}', { status: 404 }))
})

beforeEach(() => {
  FakeWebSocket.instances = []
  stored = [row(101, 'text', { type: 'text', text: { body: 'preciso de ajuda' } })]
  events = [
    { id: 1, seq: 1, type: 'accept', payload: { from: 'offered', to: 'assigned', team: '3', agent: '12', event: { agent: '12' } }, at: '2026-03-01T12:00:50+00:00' },
  ]
  fetchMock.mockClear()
  vi.stubGlobal('WebSocket', FakeWebSocket)
  vi.stubGlobal('fetch', fetchMock)
  Object.defineProperty(URL, 'createObjectURL', { configurable: true, writable: true, value: vi.fn(() => 'blob:test/1') })
  Object.defineProperty(URL, 'revokeObjectURL', { configurable: true, writable: true, value: vi.fn() })
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok2'), onAuthFailure: vi.fn() })
  deskActions.reset()
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('the conversation timeline in the desk', () => {
  it('follows the socket: a media message is read from the server, a note shows once announced', async () => {
    const user = userEvent.setup()
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
    render(
      <QueryClientProvider client={client}>
        <Desk userId={12} />
      </QueryClientProvider>,
    )
    const ws = FakeWebSocket.instances.at(-1)!
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({
        seq: 1,
        type: 'conversation.assigned',
        data: {
          conversation: 'p:7', conversation_id: 42, customer_id: 7, customer: '5511987654321', owner: 'assigned', team: '3', agent: '12',
          priority: 0, labels: [], unread: 0, preview: 'preciso de ajuda', recent_message_ids: [101], window_open_until: Date.now() / 1000 + 3600,
        },
        at: 1000,
      })
    })
    await user.click(screen.getByRole('button', { name: /5511987654321/ }))
    const log = await screen.findByRole('log', { name: 'Messages' })
    await waitFor(() => expect(log).toHaveTextContent('Eu Mesma accepted the conversation'))
    expect(log).toHaveTextContent('preciso de ajuda')

    // The socket says only "an image came": the desk reads the stored message for the file.
    stored = [...stored, row(102, 'image', { type: 'image', image: { id: 'm', mime_type: 'image/png', caption: 'o comprovante' } })]
    act(() => {
      ws.receive({
        seq: 2,
        type: 'message.new',
        data: { conversation: 'p:7', conversation_id: 42, message_id: 102, wamid: 'wamid.102', type: 'image', text: '', timestamp: 1772366462 },
        at: 1772366462,
      })
    })
    expect(await within(log).findByRole('img', { name: 'o comprovante' })).toHaveAttribute('src', 'blob:test/1')

    // A location: read again too, and the image already shown is not fetched again.
    stored = [...stored, row(103, 'location', { type: 'location', location: { latitude: -23.5, longitude: -46.6, name: 'Agência Sé' } })]
    act(() => {
      ws.receive({
        seq: 3,
        type: 'message.new',
        data: { conversation: 'p:7', conversation_id: 42, message_id: 103, wamid: 'wamid.103', type: 'location', text: '', timestamp: 1772366463 },
        at: 1772366463,
      })
    })
    await waitFor(() => expect(log).toHaveTextContent('Agência Sé'))
    expect(fetchMock.mock.calls.filter(([url]) => url.includes('/102/media'))).toHaveLength(1)

    // A note from another tab: conversation.updated makes the desk read the log again.
    events = [...events, { id: 2, seq: 2, type: 'note', payload: { text: 'Cliente já pagou', by: '12' }, at: '2026-03-01T12:01:10+00:00' }]
    act(() => {
      ws.receive({
        seq: 4,
        type: 'conversation.updated',
        data: { conversation: 'p:7', conversation_id: 42, change: 'note', text: 'Cliente já pagou', by: '12' },
        at: 1772366470,
      })
    })
    await waitFor(() => expect(log).toHaveTextContent('Private noteby Eu MesmaCliente já pagou'))
    const reads = fetchMock.mock.calls.map(([url]) => url).filter((u) => u.includes('/events'))
    expect(reads.at(-1)).toBe('/api/v1/conversations/42/events?after_seq=1&limit=500')
  })
})
