import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, routedFetch } from '@/test/fakes'
import { CustomersPage, eraseConfirmed } from './CustomersPage'
import { reportRows } from './report'
import { renderWithQueries } from './test-utils'

const ana = {
  id: 7,
  business_phone_number_id: '1234567890',
  name: 'Ana Souza',
  phone: '5511987654321',
  wa_id: '5511987654321',
  bsuid: null,
  created_at: '2026-01-05T10:00:00+00:00',
  anonymized_at: null,
  conversations: 3,
  last_activity_at: '2026-03-01T12:00:00+00:00',
}

const erasure = {
  id: 14,
  kind: 'erase',
  customer_id: 7,
  state: 'done',
  requested_by_user_id: 1,
  requested_via: 'api',
  attempts: 1,
  error: null,
  started_at: '2026-03-02T09:00:00+00:00',
  updated_at: '2026-03-02T09:00:01+00:00',
  finished_at: '2026-03-02T09:00:01+00:00',
  report: { steps: ['found', 'postgresql'], found: { conversations: 1 }, postgresql: { messages: 7, customers: 1 } },
}

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('the erase dialog', () => {
  it('enables its button only once the customer id or phone is typed exactly', async () => {
    let erased = false
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/customers\?/, () => json({ customers: erased ? [] : [ana], next_cursor: null })],
      ['GET', /^\/api\/v1\/data-requests/, () => json({ data_requests: erased ? [erasure] : [], next_cursor: null })],
      [
        'POST',
        /^\/api\/v1\/customers\/7\/erase$/,
        () => {
          erased = true
          return json({ request: erasure, already_erased: false })
        },
      ],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<CustomersPage />)
    await user.type(screen.getByLabelText('Phone, BSUID or name'), '98765')
    await user.click(screen.getByRole('button', { name: 'Search' }))
    const card = await screen.findByRole('article', { name: 'Ana Souza' })
    expect(fake.calls.some((c) => c.url === '/api/v1/customers?q=98765&limit=50')).toBe(true)
    await user.click(within(card).getByRole('button', { name: 'Erase Ana Souza' }))

    const dialog = await screen.findByRole('dialog', { name: 'Erase Ana Souza' })
    const confirm = within(dialog).getByLabelText(/To confirm, type the customer id \(7\) or the phone number/)
    const button = within(dialog).getByRole('button', { name: 'Erase for good' })
    expect(button).toBeDisabled()
    for (const wrong of ['8', '70', '551198765432', 'Ana Souza']) {
      await user.clear(confirm)
      await user.type(confirm, wrong)
      expect(button).toBeDisabled()
    }
    await user.keyboard('{Enter}')
    expect(fake.calls.some((c) => c.method === 'POST')).toBe(false)
    await user.clear(confirm)
    await user.type(confirm, '5511987654321')
    expect(button).toBeEnabled()
    await user.clear(confirm)
    await user.type(confirm, '7')
    expect(button).toBeEnabled()
    await user.click(button)

    const result = await screen.findByRole('region', { name: 'Request 14 (Erasure): Done' })
    expect(within(result).getByText('postgresql.messages')).toBeInTheDocument()
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
    expect(fake.calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual(['/api/v1/customers/7/erase'])
    // The lists are read again: the customer is gone, the request is listed.
    await waitFor(() => expect(screen.queryByRole('article', { name: 'Ana Souza' })).toBeNull())
    expect(await screen.findByRole('cell', { name: 'Erasure' })).toBeInTheDocument()
  })

  it('takes only the id when the customer has no phone left', () => {
    expect(eraseConfirmed({ id: 7, phone: null }, ' 7 ')).toBe(true)
    expect(eraseConfirmed({ id: 7, phone: null }, '')).toBe(false)
    expect(eraseConfirmed({ id: 7, phone: '551' }, '551')).toBe(true)
    expect(eraseConfirmed({ id: 7, phone: '551' }, '55')).toBe(false)
  })
})

describe('reportRows', () => {
  it('names every count by its path', () => {
    expect(reportRows(erasure.report)).toEqual([
      ['steps', 'found, postgresql'],
      ['found.conversations', '1'],
      ['postgresql.messages', '7'],
      ['postgresql.customers', '1'],
    ])
  })
})
