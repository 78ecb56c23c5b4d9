import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { renderWithQueries } from './test-utils'
import { WebhooksPage } from './WebhooksPage'

const crm = {
  id: 4,
  url: 'https://crm.example.com/hooks',
  events: ['conversation.*'],
  active: true,
  description: 'CRM sync',
  created_at: '2026-01-01T10:00:00+00:00',
  updated_at: '2026-01-01T10:00:00+00:00',
}
const failed = {
  id: 77,
  webhook_id: 4,
  event_id: 'evt0f6c',
  event_type: 'conversation.customer_message',
  attempt: 2,
  succeeded: false,
  response_status: 503,
  error: 'HTTP 503: upstream unavailable',
  duration_ms: 118,
  at: '2026-01-01T10:00:00+00:00',
  redelivery_of: null,
}

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('WebhooksPage', () => {
  it("subscribes with the server's 422 on the URL, then shows the secret once", async () => {
    let answer = problem(422, 'url: the host is missing', { code: 'invalid', field: 'url' })
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/webhooks\?/, () => json({ webhooks: [], next_cursor: null })],
      ['POST', /^\/api\/v1\/webhooks$/, () => answer],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<WebhooksPage />)
    await screen.findByText('No subscriptions yet.')
    await user.click(screen.getByRole('button', { name: 'New subscription' }))
    const dialog = await screen.findByRole('dialog', { name: 'New subscription' })
    const url = within(dialog).getByLabelText('URL')
    await user.type(url, 'https://crm.example.com/hooks')
    await user.clear(within(dialog).getByLabelText('Events'))
    await user.type(within(dialog).getByLabelText('Events'), 'conversation.*, , message.status')
    await user.click(within(dialog).getByRole('button', { name: 'Create' }))
    await waitFor(() => expect(url).toHaveAttribute('aria-invalid', 'true'))
    expect(url).toHaveAccessibleDescription('url: the host is missing')
    expect(fake.calls.find((c) => c.method === 'POST')?.body).toEqual({
      url: 'https://crm.example.com/hooks',
      events: ['conversation.*', 'message.status'],
      description: null,
    })

    answer = json({ ...crm, secret: 'whsec_abc' }, 201)
    await user.click(within(dialog).getByRole('button', { name: 'Create' }))
    expect(await within(dialog).findByLabelText('Signing secret for https://crm.example.com/hooks')).toHaveValue('whsec_abc')
  })

  it('shows the delivery log and redelivers an attempt', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/webhooks\?/, () => json({ webhooks: [crm], next_cursor: null })],
      ['GET', /^\/api\/v1\/webhooks\/4\/deliveries\?/, () => json({ deliveries: [failed], next_cursor: null })],
      ['POST', /^\/api\/v1\/webhooks\/4\/deliveries\/77\/redeliver$/, () => json({ ...failed, id: 78, attempt: 3, succeeded: true, response_status: 200, error: null, redelivery_of: 77 })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<WebhooksPage />)
    await user.click(await screen.findByRole('button', { name: 'Delivery log of https://crm.example.com/hooks' }))
    const log = await screen.findByRole('region', { name: 'Delivery log of https://crm.example.com/hooks' })
    expect(await within(log).findByRole('cell', { name: 'HTTP 503: upstream unavailable' })).toBeInTheDocument()
    await user.click(within(log).getByRole('button', { name: 'Redeliver event evt0f6c (attempt 2)' }))
    expect(await within(log).findByRole('status')).toHaveTextContent('Event evt0f6c was delivered again.')
  })

  it('edits a subscription through PATCH', async () => {
    let current = crm
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/webhooks\?/, () => json({ webhooks: [current], next_cursor: null })],
      [
        'PATCH',
        /^\/api\/v1\/webhooks\/4$/,
        (call) => {
          current = { ...current, ...(call.body as object) }
          return json(current)
        },
      ],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<WebhooksPage />)
    await user.click(await screen.findByRole('button', { name: 'Edit https://crm.example.com/hooks' }))
    const dialog = await screen.findByRole('dialog', { name: 'Edit https://crm.example.com/hooks' })
    expect(within(dialog).getByLabelText('Events')).toHaveValue('conversation.*')
    await user.clear(within(dialog).getByLabelText('URL'))
    await user.type(within(dialog).getByLabelText('URL'), 'https://crm.example.com/v2')
    await user.type(within(dialog).getByLabelText('Events'), ', message.status')
    await user.click(within(dialog).getByLabelText('Active (deliver events)'))
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
    expect(fake.calls.find((c) => c.method === 'PATCH')?.body).toEqual({
      url: 'https://crm.example.com/v2',
      events: ['conversation.*', 'message.status'],
      description: 'CRM sync',
      active: false,
    })
    expect(await screen.findByRole('cell', { name: /https:\/\/crm.example.com\/v2/ })).toBeInTheDocument()
  })
})
