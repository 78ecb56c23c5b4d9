import { QueryClient } from '@tanstack/react-query'
import { QueryClientProvider } from '@tanstack/react-query'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { Desk } from './Desk'
import { deskActions, useDeskStore } from './store'
import { FakeWebSocket, json } from '@/test/fakes'

function socket(): FakeWebSocket {
  const live = FakeWebSocket.instances.filter((s) => s.readyState !== 3)
  const s = live.at(-1)
  if (!s) throw new Error('no open socket')
  return s
}

const summary = {
  conversation: 'p:7',
  conversation_id: 42,
  customer_id: 7,
  customer: '5511987654321',
  team: '3',
  agent: '12',
  priority: 0,
  labels: [],
  unread: 1,
  preview: 'preciso de ajuda',
}

beforeEach(() => {
  FakeWebSocket.instances = []
  vi.stubGlobal('WebSocket', FakeWebSocket)
  vi.stubGlobal(
    'fetch',
    vi.fn((url: string) => {
      if (/^\/api\/v1\/conversations\/\d+\/messages/.test(url)) {
        if (!url.includes('/42/')) return Promise.resolve(json({ messages: [], next_cursor: null }))
        return Promise.resolve(
          json({
            messages: [
              {
                id: 101,
                whatsapp_message_id: 'w1',
                direction: 'in',
                type: 'text',
                payload: { text: { body: 'preciso de *ajuda* <img src=x onerror=alert(1)>' } },
                status: 'received',
                sent_by_user_id: null,
                created_at: '2026-03-01T11:55:00+00:00',
                whatsapp_timestamp: null,
                sent_at: null,
                delivered_at: null,
                read_at: null,
                played_at: null,
                failed_at: null,
                error_code: null,
                error_details: null,
              },
            ],
            next_cursor: null,
          }),
        )
      }
      if (url.startsWith('/api/v1/customers/7')) {
        return Promise.resolve(
          json({
            id: 7,
            name: 'Ana Souza',
            phone: '+5511987654321',
            wa_id: '5511987654321',
            business_phone_number_id: 'p',
            created_at: '2026-01-01T10:00:00+00:00',
            conversations: [
              { id: 42, status: 'open', owner: 'assigned', team_id: 3, assigned_agent_id: 12, labels: [], opened_at: '2026-03-01T11:00:00+00:00', resolved_at: null, collected: {} },
              { id: 30, status: 'resolved', owner: 'resolved', team_id: 3, assigned_agent_id: null, labels: ['boleto'], opened_at: '2026-02-01T11:00:00+00:00', resolved_at: '2026-02-01T12:00:00+00:00', collected: { cpf: '529.982.247-25', topic: '<b>2ª via</b>' } },
            ],
          }),
        )
      }
      if (url.startsWith('/api/v1/templates')) {
        return Promise.resolve(
          json({
            synced: true,
            templates: [
              { name: 'order_shipped', language: 'pt_BR', category: 'UTILITY', header: null, header_variables: [], body: 'Olá {{customer}}, o pedido {{order}} saiu.', variables: ['customer', 'order'], footer: null, buttons: [] },
              { name: 'ticket', language: 'es_ES', category: 'UTILITY', header: null, header_variables: [], body: 'Ticket #{{1}}: {{2}}', variables: ['1', '2'], footer: null, buttons: [] },
            ],
          }),
        )
      }
      if (url.startsWith('/api/v1/teams/3/members')) {
        return Promise.resolve(
          json({
            members: [
              { user_id: 12, name: 'Eu Mesma', email: 'a@x', role: 'agent', active: true, skills: [], max_concurrent: 5, joined_at: null },
              { user_id: 13, name: 'Bia Colega', email: 'b@x', role: 'agent', active: true, skills: [], max_concurrent: 5, joined_at: null },
              { user_id: 14, name: 'Ex Colega', email: 'c@x', role: 'agent', active: false, skills: [], max_concurrent: 5, joined_at: null },
            ],
            next_cursor: null,
          }),
        )
      }
      if (url.startsWith('/api/v1/teams')) {
        return Promise.resolve(json({ teams: [{ id: 3, name: 'Suporte', member_count: 3 }], next_cursor: null }))
      }
      if (url.startsWith('/api/v1/conversations')) {
        return Promise.resolve(
          json({
            conversations: [{ id: 42, customer: { id: 7, name: 'Ana Souza', phone: '+5511987654321', wa_id: '5511987654321' } }],
            next_cursor: null,
          }),
        )
      }
      return Promise.resolve(new Response('{}', { status: 404 }))
    }),
  )
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok2'), onAuthFailure: vi.fn() })
  deskActions.reset()
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

function renderDesk() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return render(
    <QueryClientProvider client={client}>
      <Desk userId={12} />
    </QueryClientProvider>,
  )
}

describe('Desk', () => {
  it('offers, accepts, shows messages and sends a reply', async () => {
    const user = userEvent.setup()
    renderDesk()
    expect(screen.getByRole('status')).toHaveTextContent('Reconnecting…')
    const ws = socket()
    expect(ws.url).toContain('token=tok')
    expect(ws.url).toContain('last_seq=0')

    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({ type: 'live', last_seq: 0 })
    })
    expect(screen.getByRole('status')).toHaveTextContent('Connected')

    act(() => {
      ws.receive({
        seq: 1,
        type: 'conversation.offered',
        data: { ...summary, owner: 'offered', expires_at: Date.now() / 1000 + 30 },
        at: Date.now() / 1000,
      })
    })
    const list = screen.getByRole('list', { name: 'Conversations' })
    const items = within(list).getAllByRole('listitem')
    expect(items).toHaveLength(1)
    expect(items[0]).toHaveTextContent(/\d+s to accept/)
    expect(document.title).toBe('(1) PyTake')
    await waitFor(() => expect(within(list).getByText('Ana Souza')).toBeInTheDocument())

    await user.click(within(list).getByRole('button', { name: 'Accept' }))
    const accept = ws.sent.find((c) => c.type === 'accept')
    expect(accept).toMatchObject({ conversation_id: 42 })
    act(() => {
      ws.receive({ type: 'ack', id: accept?.id, data: { conversation_id: 42 } })
      ws.receive({
        seq: 2,
        type: 'conversation.assigned',
        data: { ...summary, owner: 'assigned', recent_message_ids: [101], window_open_until: Date.now() / 1000 + 3600 },
        at: Date.now() / 1000,
      })
    })
    expect(within(list).queryByRole('button', { name: 'Accept' })).toBeNull()

    await user.click(within(list).getByRole('button', { name: /Ana Souza/ }))
    const log = await screen.findByRole('log', { name: 'Messages' })
    await waitFor(() => expect(log).toHaveTextContent('preciso de ajuda <img src=x onerror=alert(1)>'))
    expect(log.querySelector('img')).toBeNull()
    expect(log.querySelector('strong')).toHaveTextContent('ajuda')

    // A live message, then the same one again (deduplicated by id).
    act(() => {
      for (const seq of [3, 4]) {
        ws.receive({
          seq,
          type: 'message.new',
          data: { conversation: 'p:7', conversation_id: 42, message_id: 102, wamid: 'w2', type: 'text', text: 'meu pedido atrasou', timestamp: 1772366410 },
          at: 1772366410,
        })
      }
    })
    expect(within(log).getAllByText('meu pedido atrasou')).toHaveLength(1)

    // The composer is the only element labelled like "Message" (the log is named by title).
    expect(screen.getAllByLabelText(/message/i)).toHaveLength(1)
    const box = screen.getByRole('textbox', { name: 'Message' })
    await user.type(box, 'Vou verificar!{Shift>}{Enter}{/Shift}Um momento')
    expect(box).toHaveValue('Vou verificar!\nUm momento')
    await user.keyboard('{Enter}')
    const send = ws.sent.find((c) => c.type === 'send')
    expect(send).toMatchObject({
      conversation_id: 42,
      content: { type: 'text', text: 'Vou verificar!\nUm momento' },
    })
    expect(typeof send?.idempotency_key).toBe('string')
    expect(box).toHaveValue('')
    expect(log).toHaveTextContent('Vou verificar!')
    act(() => ws.receive({ type: 'ack', id: send?.id, data: { message_id: 103, outbox_id: 55 } }))
    await waitFor(() => expect(log).toHaveTextContent('Sent'))
    act(() =>
      ws.receive({
        seq: 5,
        type: 'message.status',
        data: { conversation: 'p:7', conversation_id: 42, message_id: 103, wamid: 'w3', status: 'delivered' },
        at: 1772366420,
      }),
    )
    expect(log).toHaveTextContent('Delivered')

    await user.click(screen.getByRole('button', { name: 'Resolve' }))
    expect(ws.sent.find((c) => c.type === 'resolve')).toMatchObject({ conversation_id: 42 })
    act(() =>
      ws.receive({
        seq: 6,
        type: 'conversation.resolved',
        data: { conversation: 'p:7', conversation_id: 42, reason: 'resolve' },
        at: 1772366430,
      }),
    )
    expect(within(list).queryAllByRole('listitem')).toHaveLength(0)
    expect(screen.queryByRole('log')).toBeNull()
    // The seq is saved with the inbox it matches: at most once a second, and when the page is left.
    act(() => {
      window.dispatchEvent(new Event('pagehide'))
    })
    expect(JSON.parse(localStorage.getItem('pytake.desk.12') ?? 'null')).toEqual({ seq: 6, inbox: {} })
  })

  it('catches up on a replay in one store update, and comes back from the saved inbox after a reload', () => {
    const first = renderDesk()
    const ws = socket()
    let inboxUpdates = 0
    const stop = useDeskStore.subscribe((state, prev) => {
      if (state.inbox !== prev.inbox) inboxUpdates += 1
    })
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 200 })
      for (let i = 0; i < 100; i += 1) {
        const data = { ...summary, conversation_id: 1000 + i, customer: `5511900${String(1000 + i)}` }
        ws.receive({ seq: 2 * i + 1, type: 'conversation.offered', data: { ...data, owner: 'offered', expires_at: Date.now() / 1000 + 30 }, at: 1000 })
        ws.receive({
          seq: 2 * i + 2,
          type: 'conversation.assigned',
          data: { ...data, owner: 'assigned', recent_message_ids: [], window_open_until: null },
          at: 1001,
        })
      }
      ws.receive({ type: 'live', last_seq: 200 })
    })
    stop()
    expect(inboxUpdates).toBe(1)
    const list = screen.getByRole('list', { name: 'Conversations' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(100)
    expect(within(list).queryByRole('button', { name: 'Accept' })).toBeNull()

    // A reload: the inbox comes back from the tab's storage, and the socket asks for what
    // came after the seq saved with it.
    act(() => {
      window.dispatchEvent(new Event('pagehide'))
    })
    first.unmount()
    deskActions.reset()
    renderDesk()
    expect(within(screen.getByRole('list', { name: 'Conversations' })).getAllByRole('listitem')).toHaveLength(100)
    expect(socket().url).toContain('last_seq=200')
  })

  it('moves with J/K and opens the shortcuts dialog with ?', async () => {
    const user = userEvent.setup()
    renderDesk()
    const ws = socket()
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      for (const [seq, id] of [
        [1, 50],
        [2, 51],
      ] as const) {
        ws.receive({
          seq,
          type: 'conversation.assigned',
          data: { ...summary, conversation_id: id, customer: `55119000000${String(id)}`, unread: 0, owner: 'assigned', recent_message_ids: [], window_open_until: Date.now() / 1000 + 3600 },
          at: 1000 + seq,
        })
      }
    })
    await user.keyboard('j')
    expect(screen.getByRole('button', { name: /5511900000050/, current: true })).toBeInTheDocument()
    await user.keyboard('j')
    expect(screen.getByRole('button', { name: /5511900000051/, current: true })).toBeInTheDocument()
    await user.keyboard('k')
    expect(screen.getByRole('button', { name: /5511900000050/, current: true })).toBeInTheDocument()

    await user.keyboard('?')
    expect(await screen.findByRole('dialog', { name: 'Keyboard shortcuts' })).toBeInTheDocument()
    await user.keyboard('{Escape}')
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())

    // Typing in the search box does not move the selection.
    await user.type(screen.getByRole('searchbox', { name: 'Search' }), 'j')
    expect(screen.getByRole('searchbox', { name: 'Search' })).toHaveValue('j')
    expect(screen.getByRole('heading', { name: '5511900000050' })).toBeInTheDocument()
  })

  it('notes, labels, transfers and resolves from the keyboard and the actions; sets presence', async () => {
    const user = userEvent.setup()
    renderDesk()
    const ws = socket()
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({ type: 'live', last_seq: 0 })
      ws.receive({ seq: 1, type: 'presence', data: { status: 'online', connections: 1 }, at: 1000 })
      ws.receive({
        seq: 2,
        type: 'conversation.assigned',
        data: { ...summary, unread: 0, owner: 'assigned', recent_message_ids: [], window_open_until: Date.now() / 1000 + 3600 },
        at: 1001,
      })
    })
    const presence = screen.getByRole('combobox', { name: 'Your status' })
    expect(presence).toHaveValue('online')
    await user.selectOptions(presence, 'away')
    expect(ws.sent.find((c) => c.type === 'presence')).toMatchObject({ status: 'away' })

    await user.click(screen.getByRole('button', { name: /5511987654321|Ana Souza/ }))
    // N opens the note; typing N in it writes an N.
    await user.keyboard('n')
    const noteDialog = await screen.findByRole('dialog', { name: 'Add a private note' })
    await user.type(within(noteDialog).getByRole('textbox', { name: 'Note' }), 'Nota interna')
    await user.click(within(noteDialog).getByRole('button', { name: 'Save note' }))
    const note = ws.sent.find((c) => c.type === 'note')
    expect(note).toMatchObject({ conversation_id: 42, text: 'Nota interna' })
    act(() => ws.receive({ type: 'ack', id: note?.id, data: {} }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())

    await user.click(screen.getByRole('button', { name: 'Labels' }))
    const labels = await screen.findByRole('dialog', { name: 'Labels' })
    await user.type(within(labels).getByRole('textbox', { name: 'New label' }), 'vip{Enter}')
    expect(ws.sent.find((c) => c.type === 'label')).toMatchObject({ conversation_id: 42, add: ['vip'], remove: [] })
    await user.keyboard('{Escape}')

    await user.keyboard('t')
    const transfer = await screen.findByRole('dialog', { name: 'Transfer' })
    const team = within(transfer).getByRole('combobox', { name: 'Team' })
    await waitFor(() => expect(within(team).getByRole('option', { name: 'Suporte' })).toBeInTheDocument())
    await user.selectOptions(team, '3')
    const agent = within(transfer).getByRole('combobox', { name: 'Agent (optional)' })
    await waitFor(() => expect(within(agent).getByRole('option', { name: 'Bia Colega' })).toBeInTheDocument())
    // A deactivated member cannot take it.
    expect(within(agent).queryByRole('option', { name: 'Ex Colega' })).toBeNull()
    await user.selectOptions(agent, '13')
    await user.type(within(transfer).getByRole('textbox', { name: /Note for whoever/ }), 'cliente VIP')
    await user.click(within(transfer).getByRole('button', { name: 'Transfer' }))
    expect(ws.sent.find((c) => c.type === 'transfer')).toMatchObject({
      conversation_id: 42,
      team: 3,
      agent: 13,
      note: 'cliente VIP',
    })
    await user.keyboard('{Escape}')
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())

    // A plain E does nothing; Shift+E resolves.
    await user.keyboard('e')
    expect(ws.sent.find((c) => c.type === 'resolve')).toBeUndefined()
    await user.keyboard('{Shift>}E{/Shift}')
    expect(ws.sent.find((c) => c.type === 'resolve')).toMatchObject({ conversation_id: 42 })
  })

  it('shows the customer panel: past conversations and what flows collected', async () => {
    const user = userEvent.setup()
    renderDesk()
    const ws = socket()
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({
        seq: 1,
        type: 'conversation.assigned',
        data: { ...summary, unread: 0, owner: 'assigned', recent_message_ids: [], window_open_until: Date.now() / 1000 + 3600 },
        at: 1001,
      })
    })
    await user.click(screen.getByRole('button', { name: /5511987654321|Ana Souza/ }))
    const toggle = screen.getByRole('button', { name: 'Customer details' })
    expect(toggle).toHaveAttribute('aria-expanded', 'false')
    await user.click(toggle)
    expect(toggle).toHaveAttribute('aria-expanded', 'true')
    const panel = screen.getByRole('complementary', { name: 'Customer' })
    await waitFor(() => expect(within(panel).getByText('529.982.247-25')).toBeInTheDocument())
    const items = within(panel).getAllByRole('listitem')
    expect(items).toHaveLength(2)
    expect(items[0]).toHaveTextContent('this one')
    expect(items[1]).toHaveTextContent('Resolved')
    expect(items[1]).toHaveTextContent('boleto')
    // Collected values are text, never markup.
    expect(within(panel).getByText('<b>2ª via</b>')).toBeInTheDocument()
    await user.click(within(panel).getByRole('button', { name: 'Close' }))
    expect(screen.queryByRole('complementary', { name: 'Customer' })).toBeNull()
  })

  it('opens the command palette with Ctrl+K and runs what is chosen', async () => {
    const user = userEvent.setup()
    renderDesk()
    const ws = socket()
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({
        seq: 1,
        type: 'conversation.assigned',
        data: { ...summary, unread: 0, owner: 'assigned', recent_message_ids: [], window_open_until: Date.now() / 1000 + 3600 },
        at: 1001,
      })
    })
    await user.click(screen.getByRole('button', { name: /5511987654321|Ana Souza/ }))
    await user.keyboard('{Control>}k{/Control}')
    const box = await screen.findByRole('combobox', { name: 'Command' })
    await user.type(box, 'resolve')
    await user.keyboard('{Enter}')
    expect(ws.sent.find((c) => c.type === 'resolve')).toMatchObject({ conversation_id: 42 })
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
  })

  it('notifies and names the customer when an offer arrives while the tab is hidden', () => {
    const shown: { title: string; body?: string }[] = []
    class FakeNotification {
      static permission = 'granted'
      onclick: (() => void) | null = null
      constructor(title: string, options?: { body?: string }) {
        shown.push({ title, body: options?.body })
      }
      close() {}
    }
    vi.stubGlobal('Notification', FakeNotification)
    const visibility = vi.spyOn(document, 'visibilityState', 'get')
    renderDesk()
    const ws = socket()
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({ type: 'live', last_seq: 0 })
    })
    visibility.mockReturnValue('visible')
    act(() => {
      ws.receive({ seq: 1, type: 'conversation.offered', data: { ...summary, conversation_id: 41, owner: 'offered', expires_at: Date.now() / 1000 + 30 }, at: Date.now() / 1000 })
    })
    expect(shown).toEqual([]) // looking at the desk: no notification
    visibility.mockReturnValue('hidden')
    act(() => {
      ws.receive({ seq: 2, type: 'conversation.offered', data: { ...summary, owner: 'offered', expires_at: Date.now() / 1000 + 30 }, at: Date.now() / 1000 })
    })
    expect(shown).toEqual([{ title: 'New conversation offered: 5511987654321', body: 'preciso de ajuda' }])
    visibility.mockRestore()
  })

  it('offers only templates once the 24-hour window has closed', async () => {
    const user = userEvent.setup()
    renderDesk()
    const ws = socket()
    act(() => {
      ws.open()
      ws.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: 0, last_seq: 0, commands: [] })
      ws.receive({
        seq: 1,
        type: 'conversation.assigned',
        data: { ...summary, unread: 0, owner: 'assigned', recent_message_ids: [], window_open_until: Date.now() / 1000 - 60 },
        at: 1001,
      })
    })
    await user.click(screen.getByRole('button', { name: /5511987654321|Ana Souza/ }))
    expect(screen.getByText(/24-hour window has closed/)).toBeInTheDocument()
    expect(screen.queryByRole('textbox', { name: 'Message' })).toBeNull()
    const picker = screen.getByRole('combobox', { name: 'Template' })
    await waitFor(() => expect(within(picker).getByRole('option', { name: 'ticket (es_ES)' })).toBeInTheDocument())
    await user.selectOptions(picker, 'ticket|es_ES')
    const send = screen.getByRole('button', { name: 'Send template' })
    expect(send).toBeDisabled()
    await user.type(screen.getByRole('textbox', { name: 'Value of {{1}}' }), '991')
    await user.type(screen.getByRole('textbox', { name: 'Value of {{2}}' }), '*resolvido*')
    expect(screen.getByRole('group', { name: 'What the customer will read' })).toHaveTextContent('Ticket #991: resolvido')
    await user.click(send)
    expect(ws.sent.find((c) => c.type === 'send')).toMatchObject({
      conversation_id: 42,
      content: {
        type: 'template',
        name: 'ticket',
        language: 'es_ES',
        components: [{ type: 'body', parameters: [{ type: 'text', text: '991' }, { type: 'text', text: '*resolvido*' }] }],
      },
    })
  })
})
