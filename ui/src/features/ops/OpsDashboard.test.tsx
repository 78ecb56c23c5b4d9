import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { FakeWebSocket, json, routedFetch } from '@/test/fakes'
import { OpsDashboard } from './OpsDashboard'

const tree = {
  kind: 'supervisor', id: 'pytake', state: 'running', restarts: 0, crashes: 0,
  children: [
    { kind: 'supervisor', id: 'actors', state: 'running', restarts: 0, crashes: 0, children: [
      { kind: 'actor-kind', id: 'conversation', state: 'running', restarts: 0, crashes: 0, children: [] },
    ] },
    { kind: 'service', id: 'timers', state: 'running', restarts: 1, crashes: 1, children: [] },
  ],
}
const kind = (crashes: number) => ({
  kind: 'conversation', state: 'running', live: 3, queued: 4, handled: 10, crashes, restarts: crashes,
  escalations: 0, dead_letters: 1, hot: [{ id: '5511', depth: 4, state: 'running', restarts: 0 }],
})
const point = (at: number, messagesIn: number) => ({
  at, seconds: 10, rates: { messages_in: messagesIn, messages_out: 1 }, gauges: { queue_waiting: 2 }, latency: {},
})
const stats = { at: 100, interval: 1, window: 10, current: point(100, 2), series: [point(90, 1), point(100, 2)], supervision: { tree, kinds: [kind(0)] } }
const letter = {
  letter_id: 7, kind: 'conversation', id: '5511', message_type: 'Inbound', message: 'Inbound(text=oi)',
  error: 'RuntimeError: boom', traceback: 'Traceback…', attempts: 3, at: 100, retryable: true,
}

function renderDashboard(admin: boolean) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } })
  return render(
    <QueryClientProvider client={client}>
      <OpsDashboard admin={admin} />
    </QueryClientProvider>,
  )
}

beforeEach(() => {
  FakeWebSocket.instances = []
  vi.stubGlobal('WebSocket', FakeWebSocket)
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('OpsDashboard', () => {
  it('shows the numbers, moves them with each tick and shows a crash in the tree', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/ops\/stats$/, () => json(stats)],
      ['GET', /^\/api\/v1\/ops\/dead-letters/, () => json({ dead_letters: [{ ...letter, message: '[redacted]' }], next_cursor: null })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    renderDashboard(false)
    expect(await screen.findByRole('heading', { name: 'Operations', level: 1 })).toBeInTheDocument()
    const messagesIn = screen.getByTestId('ops-tile-messagesIn')
    await waitFor(() => expect(messagesIn).toHaveTextContent('2/s'))
    expect(screen.getByText('Connecting…')).toBeInTheDocument()

    const ws = FakeWebSocket.instances.at(-1)
    if (!ws) throw new Error('no socket')
    expect(ws.url).toContain('/api/v1/ops/live?token=tok')
    act(() => {
      ws.receive({ type: 'welcome', role: 'supervisor', interval: 1 })
      ws.receive({ type: 'tick', tick: 1, at: 111, interval: 1, window: 10, current: point(111, 7.5),
                   supervision: { tree, kinds: [kind(2)] }, point: point(110, 6) })
    })
    expect(await screen.findByText('Live')).toBeInTheDocument()
    expect(messagesIn).toHaveTextContent('7.5/s')
    expect(screen.getByTestId('ops-crashes-conversation')).toHaveTextContent('2')
    // The chart's text alternative has the live point too.
    const table = screen.getByRole('table', { name: 'Numbers of “Messages per second”' })
    expect(within(table).getByRole('row', { name: /In/ })).toHaveTextContent(/6\/s.*1\/s.*6\/s/)

    // The tree: nested lists, collapsible; the timers service shows its crash.
    const actors = screen.getByRole('button', { name: /actors/ })
    expect(actors).toHaveAttribute('aria-expanded', 'true')
    expect(screen.getAllByText(/5511: 4 waiting/)).toHaveLength(2) // in the tree and the table
    await userEvent.setup().click(actors)
    expect(actors).toHaveAttribute('aria-expanded', 'false')

    // Supervisors see redacted payloads and no actions.
    expect(await screen.findByText('[redacted]')).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: /Retry/ })).not.toBeInTheDocument()
  })

  it('lets an admin retry a dead letter after confirming', async () => {
    let letters = [letter]
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/ops\/stats$/, () => json(stats)],
      ['GET', /^\/api\/v1\/ops\/dead-letters/, () => json({ dead_letters: letters, next_cursor: null })],
      ['POST', /^\/api\/v1\/ops\/dead-letters\/7\/retry$/, () => {
        letters = []
        return json({ retried: letter })
      }],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderDashboard(true)
    expect(await screen.findByText('Inbound(text=oi)')).toBeInTheDocument()
    await user.click(screen.getByRole('button', { name: 'Retry Inbound conversation/5511' }))
    const dialog = await screen.findByRole('dialog', { name: 'Retry this dead letter?' })
    expect(dialog).toHaveTextContent('The message Inbound is delivered to conversation/5511 again')
    await user.click(within(dialog).getByRole('button', { name: 'Retry now' }))
    expect(await screen.findByText('Delivered again.')).toBeInTheDocument()
    expect(await screen.findByText('No dead letters.')).toBeInTheDocument()
    expect(fake.calls.filter((c) => c.method === 'POST')).toHaveLength(1)
  })
})
