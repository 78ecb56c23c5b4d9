import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers, type ApiMessage } from '@/lib/api'
import { fromApi, type ViewMessage } from '../messages'
import type { ApiEvent } from './events'
import { Timeline } from './Timeline'
import { useConversationEvents, useRefetchOn } from './useConversationEvents'
import { json } from '@/test/fakes'

function row(id: number, direction: 'in' | 'out', type: string, payload: Record<string, unknown>, extra: Partial<ApiMessage> = {}): ApiMessage {
  return {
    id, whatsapp_message_id: `wamid.${String(id)}`, direction, type, payload,
    status: direction === 'in' ? 'received' : 'sent', sent_by_user_id: direction === 'out' ? 12 : null,
    created_at: new Date(Date.UTC(2026, 2, 1, 12, 0, id)).toISOString(), whatsapp_timestamp: null,
    sent_at: null, delivered_at: null, read_at: null, played_at: null, failed_at: null, error_code: null, error_details: null,
    ...extra,
  }
}

/** An inbound row's payload: the webhook's message object. */
function wa(type: string, body: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { from: '5511987654321', timestamp: '1772366400', type, [type]: body, ...extra }
}

function missing(): Response {
  return json({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'the file is not stored', code: 'media_unavailable' }, 404, 'application/problem+json')
}

function event(seq: number, type: string, payload: Record<string, unknown>, second: number): ApiEvent {
  return { id: seq, seq, type, payload, at: new Date(Date.UTC(2026, 2, 1, 12, 0, second)).toISOString() }
}

let events: ApiEvent[] = []
const fetchMock = vi.fn((url: string): Promise<Response> => {
  const media = /\/messages\/(\d+)\/media$/.exec(url)
  if (media) {
    if (['3', '8'].includes(media[1] ?? '')) return Promise.resolve(missing())
    return Promise.resolve(new Response('bytes', { status: 200, headers: { 'content-type': 'image/png' } }))
  }
  if (url.includes('/events?')) {
    const after = Number(new URL(url, 'http://x').searchParams.get('after_seq'))
    const rest = events.filter((e) => e.seq > after)
    return Promise.resolve(json({ events: rest.slice(0, 2), has_more: rest.length > 2 }))
  }
  if (url.startsWith('/api/v1/teams/3/members')) {
    return Promise.resolve(json({ members: [{ user_id: 12, name: 'Ana Atendente', email: 'a@x', role: 'agent', active: true, skills: [], max_concurrent: 5, joined_at: null }], next_cursor: null }))
  }
  if (url.startsWith('/api/v1/teams')) return Promise.resolve(json({ teams: [{ id: 3, name: 'Suporte', member_count: 1 }], next_cursor: null }))
  if (url.startsWith('/api/v1/templates')) {
    return Promise.resolve(json({ synced: true, templates: [{ name: 'ticket', language: 'es_ES', category: 'UTILITY', header: null, header_variables: [], body: 'Ticket #{{1}}: {{2}}', variables: ['1', '2'], footer: 'Equipo', buttons: [] }] }))
  }
  return Promise.resolve(json({}, 404))
})

beforeEach(() => {
  events = []
  fetchMock.mockClear()
  vi.stubGlobal('fetch', fetchMock)
  let made = 0
  Object.defineProperty(URL, 'createObjectURL', { configurable: true, writable: true, value: vi.fn(() => `blob:test/${String((made += 1))}`) })
  Object.defineProperty(URL, 'revokeObjectURL', { configurable: true, writable: true, value: vi.fn() })
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok2'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

/** The timeline as ConversationView holds it: the log read again when `revision` changes. */
function Harness({ messages, revision }: { messages: ViewMessage[]; revision: unknown }) {
  const events = useConversationEvents(42)
  useRefetchOn(revision, events.refetch)
  return (
    <div role="log" title="Messages">
      <Timeline conversationId={42} messages={messages} olderToLoad={false} log={events.data} />
    </div>
  )
}

function renderTimeline(messages: ViewMessage[], revision: unknown = 0) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  const view = (rev: unknown) => (
    <QueryClientProvider client={client}>
      <Harness messages={messages} revision={rev} />
    </QueryClientProvider>
  )
  const result = render(view(revision))
  return { ...result, rerenderWith: (rev: unknown) => result.rerender(view(rev)) }
}

function bubble(id: number): HTMLElement {
  const found = document.querySelector<HTMLElement>(`[data-message-id="${String(id)}"]`)
  if (!found) throw new Error(`no message ${String(id)}`)
  return found
}

describe('the timeline shows every kind of message', () => {
  it('text, media with captions, stickers, audio, video and documents on demand', async () => {
    const user = userEvent.setup()
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined)
    renderTimeline([
      row(1, 'in', 'text', wa('text', { body: 'preciso de *ajuda* <b>já</b>' })),
      row(2, 'in', 'image', wa('image', { id: 'm2', mime_type: 'image/png', caption: 'meu boleto <img src=x onerror=alert(1)>' })),
      row(3, 'in', 'image', wa('image', { id: 'm3', mime_type: 'image/jpeg' })),
      row(4, 'in', 'sticker', wa('sticker', { id: 'm4', mime_type: 'image/webp' })),
      row(5, 'in', 'audio', wa('audio', { id: 'm5', mime_type: 'audio/ogg', voice: true })),
      row(6, 'in', 'video', wa('video', { id: 'm6', mime_type: 'video/mp4', caption: 'o erro' })),
      row(7, 'in', 'document', wa('document', { id: 'm7', mime_type: 'application/pdf', filename: 'boleto.pdf' })),
      row(8, 'out', 'document', { link: 'https://example.com/termos.pdf', filename: 'termos.pdf' }),
    ].map(fromApi))
    const log = screen.getByRole('log')

    expect(bubble(1)).toHaveTextContent('preciso de ajuda <b>já</b>')
    expect(bubble(1).querySelector('strong')).toHaveTextContent('ajuda')
    expect(bubble(1).querySelector('b')).toBeNull()

    // Images are fetched with the token once shown, and named by their caption or who sent them.
    const image = await within(bubble(2)).findByRole('img', { name: 'meu boleto <img src=x onerror=alert(1)>' })
    expect(image).toHaveAttribute('src', expect.stringMatching(/^blob:test\//))
    const call = fetchMock.mock.calls.find(([url]) => url === '/api/v1/conversations/42/messages/2/media') as unknown as [string, RequestInit]
    expect((call[1].headers as Record<string, string>).Authorization).toBe('Bearer tok')
    expect(bubble(2)).toHaveTextContent('meu boleto <img src=x onerror=alert(1)>')
    expect(bubble(2).querySelectorAll('img')).toHaveLength(1)

    // A file the server does not have: a clear placeholder, never a broken image.
    expect(await within(bubble(3)).findByText(/Image unavailable: the server does not have the file/)).toBeInTheDocument()
    expect(bubble(3).querySelector('img')).toBeNull()

    expect(await within(bubble(4)).findByRole('img', { name: 'Sticker' })).toBeInTheDocument()
    await waitFor(() => expect(bubble(5).querySelector('audio')).toHaveAttribute('src', expect.stringMatching(/^blob:/)))
    expect(bubble(5).querySelector('audio')).toHaveAccessibleName('Voice message')

    // Video and documents are fetched only when asked for.
    const fetched = () => fetchMock.mock.calls.map(([url]) => url)
    expect(fetched()).not.toContain('/api/v1/conversations/42/messages/6/media')
    expect(fetched()).not.toContain('/api/v1/conversations/42/messages/7/media')
    await user.click(within(bubble(6)).getByRole('button', { name: 'Play the video' }))
    await waitFor(() => expect(bubble(6).querySelector('video')).toHaveAttribute('src', expect.stringMatching(/^blob:/)))
    expect(bubble(6)).toHaveTextContent('o erro')

    await user.click(within(bubble(7)).getByRole('button', { name: 'Download boleto.pdf' }))
    const link = await within(bubble(7)).findByRole('link', { name: /Download boleto\.pdf \(5 B\)/ })
    expect(link).toHaveAttribute('download', 'boleto.pdf')
    expect(click).toHaveBeenCalledTimes(1)

    // An agent's file sent by link that the server did not keep: the link, as a link.
    await user.click(within(bubble(8)).getByRole('button', { name: 'Download termos.pdf' }))
    expect(await within(bubble(8)).findByRole('link', { name: 'https://example.com/termos.pdf' })).toHaveAttribute('rel', 'noopener noreferrer')
    expect(log.querySelectorAll('img')).toHaveLength(2)
  })

  it('opens an image full size in a dialog', async () => {
    const user = userEvent.setup()
    renderTimeline([row(2, 'in', 'image', wa('image', { id: 'm2', mime_type: 'image/png' }))].map(fromApi))
    await user.click(await screen.findByRole('button', { name: 'Open full size: Image from the customer' }))
    const dialog = await screen.findByRole('dialog', { name: 'Image from the customer' })
    expect(within(dialog).getByRole('img', { name: 'Image from the customer' })).toBeInTheDocument()
    expect(within(dialog).getByRole('link', { name: 'Open in a new tab' })).toHaveAttribute('href', expect.stringMatching(/^blob:/))
    await user.click(within(dialog).getByRole('button', { name: 'Close' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
  })

  it('locations, contacts, replies, buttons, lists and templates', async () => {
    renderTimeline([
      row(1, 'in', 'location', wa('location', { latitude: -23.5505, longitude: -46.6333, name: 'Loja <Centro>', address: 'Praça da Sé, 1' })),
      row(2, 'in', 'contacts', { type: 'contacts', contacts: [{ name: { formatted_name: 'Bia Lima' }, phones: [{ phone: '+55 11 91234-5678', type: 'CELL' }] }] }),
      row(3, 'out', 'interactive', { type: 'button', body: { text: 'Podemos *ajudar*?' }, action: { buttons: [{ type: 'reply', reply: { id: 'y', title: 'Sim' } }, { type: 'reply', reply: { id: 'n', title: 'Não' } }] } }),
      row(4, 'in', 'interactive', wa('interactive', { type: 'button_reply', button_reply: { id: 'y', title: 'Sim' } }, { context: { from: '551130000000', id: 'wamid.3' } })),
      row(5, 'out', 'interactive', { type: 'list', body: { text: 'Escolha' }, action: { button: 'Opções', sections: [{ title: 'Boletos', rows: [{ id: '1', title: '2ª via' }] }] } }),
      row(6, 'in', 'interactive', wa('interactive', { type: 'list_reply', list_reply: { id: '1', title: '2ª via', description: 'em PDF' } })),
      row(7, 'in', 'button', wa('button', { payload: 'STOP', text: 'Parar promoções' })),
      row(8, 'out', 'template', { name: 'ticket', language: { code: 'es_ES' }, components: [{ type: 'body', parameters: [{ type: 'text', text: '991' }, { type: 'text', text: '*resuelto*' }] }] }),
      row(9, 'out', 'template', { name: 'gone', language: { code: 'pt_BR' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }] }),
    ].map(fromApi))

    expect(bubble(1)).toHaveTextContent('Loja <Centro>')
    expect(bubble(1)).toHaveTextContent('-23.550500, -46.633300')
    const map = within(bubble(1)).getByRole('link', { name: 'Open in OpenStreetMap' })
    expect(map).toHaveAttribute('href', 'https://www.openstreetmap.org/?mlat=-23.550500&mlon=-46.633300#map=16/-23.550500/-46.633300')
    expect(bubble(1).querySelector('img, iframe')).toBeNull()

    expect(bubble(2)).toHaveTextContent('Shared contact')
    expect(bubble(2)).toHaveTextContent('Bia Lima')
    expect(bubble(2)).toHaveTextContent('+55 11 91234-5678 (CELL)')

    expect(within(within(bubble(3)).getByRole('list', { name: 'Reply buttons' })).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Sim', 'Não'])
    expect(bubble(3).querySelector('strong')).toHaveTextContent('ajudar')
    expect(bubble(4)).toHaveTextContent('Tapped a button')
    expect(bubble(4)).toHaveTextContent('In reply to: Podemos *ajudar*?')
    expect(bubble(5)).toHaveTextContent('List: Opções')
    expect(bubble(5)).toHaveTextContent('2ª via')
    expect(bubble(6)).toHaveTextContent('Chose from a list2ª viaem PDF')
    expect(bubble(7)).toHaveTextContent('Tapped a template buttonParar promoções')

    expect(bubble(8)).toHaveTextContent('Template ticket (es_ES)')
    await waitFor(() => expect(bubble(8)).toHaveTextContent('Ticket #991: resuelto'))
    expect(bubble(8)).toHaveTextContent('Equipo')
    // A template the list does not know: its values.
    expect(bubble(9)).toHaveTextContent('{{1}}Ana')
  })

  it('reactions, edits, deletions, unsupported messages and delivery statuses', () => {
    renderTimeline([
      row(1, 'in', 'text', wa('text', { body: 'Hola' }, { edits: [{ wamid: 'e', at: 1, message: { original_message_id: 'wamid.1', message: { type: 'text', text: { body: 'Hola, corrected' } } } }] })),
      row(2, 'in', 'text', { revoked: true, revoked_at: 1772366500, wamid: 'wamid.r' }),
      row(3, 'in', 'unsupported', { type: 'unsupported', errors: [{ code: 131051, title: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }], unsupported: { type: 'video_note' } }),
      row(4, 'out', 'text', { body: 'Lido', reaction: { emoji: '👍', wamid: 'wamid.x', at: 1772366490 } }, { status: 'read' }),
      row(5, 'out', 'text', { body: 'Entregue' }, { status: 'delivered' }),
      row(6, 'out', 'text', { body: 'Enviado' }, { status: 'sent', sent_by_user_id: null }),
      row(7, 'out', 'text', { body: 'Falhou' }, { status: 'failed', error_code: 131026, error_details: 'Message undeliverable' }),
      row(8, 'out', 'reaction', { message_id: 'wamid.elsewhere', emoji: '❤️' }),
      row(9, 'out', 'reaction', { message_id: 'wamid.1', emoji: '🙏' }),
    ].map(fromApi))

    expect(bubble(1)).toHaveTextContent('Hola, corrected')
    expect(bubble(1)).toHaveTextContent('edited')
    expect(within(bubble(1)).getByRole('list', { name: 'Reactions' })).toHaveTextContent('Agent reacted 🙏')
    expect(bubble(2)).toHaveTextContent('This message was deleted.')
    expect(bubble(3)).toHaveTextContent('Message type not supported by WhatsApp Cloud API (video_note)')
    expect(bubble(3)).toHaveTextContent('Message type is currently not supported.')

    expect(within(bubble(4)).getByTitle('Read')).toHaveTextContent('✓✓Read')
    expect(within(bubble(4)).getByTitle('Read').className).toContain('text-sky-600')
    expect(within(bubble(4)).getByRole('list', { name: 'Reactions' })).toHaveTextContent('Customer reacted 👍')
    expect(within(bubble(5)).getByTitle('Delivered')).toHaveTextContent('✓✓Delivered')
    expect(within(bubble(6)).getByTitle('Sent')).toHaveTextContent('✓Sent')
    expect(bubble(6)).toHaveTextContent('Bot:')
    expect(bubble(7)).toHaveTextContent('Not delivered: Message undeliverable (error 131026)')
    // The row of a reaction is no bubble: on its message, or a line when that is not shown.
    expect(document.querySelector('[data-message-id="8"]')).toBeNull()
    expect(document.querySelector('[data-message-id="9"]')).toBeNull()
    expect(screen.getByRole('log')).toHaveTextContent('Agent reacted ❤️ to a message')
  })
})

describe('the timeline shows the conversation events', () => {
  it('interleaves them by time, with names, notes kept apart, and reads new ones when told', async () => {
    events = [
      event(1, 'handoff', { from: 'flow', to: 'queued', team: '3', agent: null, event: { team: '3', priority: 0, skills: [] } }, 1),
      event(2, 'note', { text: 'Quer a 2ª via', by: 'bot' }, 1),
      event(3, 'accept', { from: 'offered', to: 'assigned', team: '3', agent: '12', event: { agent: '12' } }, 3),
      event(4, 'note', { text: 'Conferir CPF <antes>', by: '12' }, 5),
      event(5, 'labels', { labels: ['boleto'], by: '12' }, 6),
      event(6, 'priority', { priority: 10, by: '12' }, 6),
      event(7, 'transfer_to_agent', { from: 'assigned', to: 'assigned', team: '3', agent: '13', event: { agent: '13', team: '3' } }, 7),
      event(8, 'note', { text: 'cliente VIP', by: '12' }, 7),
    ]
    const { rerenderWith } = renderTimeline([row(2, 'in', 'text', wa('text', { body: 'oi' })), row(4, 'out', 'text', { body: 'Olá!' })].map(fromApi))
    const log = screen.getByRole('log')
    await waitFor(() => expect(log).toHaveTextContent('cliente VIP'))
    expect(fetchMock.mock.calls.map(([url]) => url).filter((u) => u.includes('/events'))).toEqual([
      '/api/v1/conversations/42/events?after_seq=0&limit=500',
      '/api/v1/conversations/42/events?after_seq=2&limit=500',
      '/api/v1/conversations/42/events?after_seq=4&limit=500',
      '/api/v1/conversations/42/events?after_seq=6&limit=500',
    ])
    await waitFor(() => expect(log).toHaveTextContent('Ana Atendente accepted the conversation'))
    const text = log.textContent ?? ''
    const order = ['The bot handed the conversation to Suporte', 'oi', 'Ana Atendente accepted', 'Olá!', 'Conferir CPF', 'added the labels: boleto', 'set the priority to High', 'Transferred to agent #13 (Suporte)', 'cliente VIP']
    const positions = order.map((s) => text.indexOf(s))
    expect(positions.every((p) => p >= 0)).toBe(true)
    expect([...positions].sort((a, b) => a - b)).toEqual(positions)
    // The hand-off's note travels with it; a note is private and reads as text.
    expect(text).toContain('Note for whoever takes it')
    expect(text).toContain('Quer a 2ª via')
    expect(screen.getByText('Conferir CPF <antes>')).toBeInTheDocument()
    expect(text).toContain('Private note')
    expect(text).toContain('never sent to the customer')

    // The conversation changed (a socket event): only what follows the last seq is read.
    events.push(event(9, 'resolve', { from: 'assigned', to: 'resolved', team: '3', agent: null, event: { by: '12' } }, 9))
    act(() => rerenderWith(1))
    await waitFor(() => expect(log).toHaveTextContent('Ana Atendente resolved the conversation'))
    expect(fetchMock.mock.calls.map(([url]) => url).filter((u) => u.includes('/events')).at(-1)).toBe('/api/v1/conversations/42/events?after_seq=8&limit=500')
  })
})
