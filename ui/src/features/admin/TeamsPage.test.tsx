import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { TeamsPage } from './TeamsPage'
import { renderWithQueries } from './test-utils'

const team = {
  id: 3,
  name: 'Suporte',
  timezone: 'America/Sao_Paulo',
  routing_strategy: 'least_busy',
  business_hours: { weekly: { mon: [['09:00', '18:00']] }, holidays: [], exceptions: {} },
  settings: {},
  member_count: 0,
  created_at: '2026-01-01T10:00:00+00:00',
  updated_at: '2026-01-01T10:00:00+00:00',
}

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
  // Only Date is faked: 13:00 UTC on a Monday is 10:00 in São Paulo and 22:00 in Tokyo.
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(new Date('2026-03-02T13:00:00Z'))
})

afterEach(() => {
  vi.useRealTimers()
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

function fakeServer(patch: (body: unknown) => Response) {
  let current = team
  return routedFetch([
    ['GET', /^\/api\/v1\/teams\?/, () => json({ teams: [current], next_cursor: null })],
    ['GET', /^\/api\/v1\/teams\/3\/members\?/, () => json({ members: [], next_cursor: null })],
    ['GET', /^\/api\/v1\/users\?/, () => json({ users: [], next_cursor: null })],
    [
      'PATCH',
      /^\/api\/v1\/teams\/3$/,
      (call) => {
        const answer = patch(call.body)
        if (answer.ok) current = { ...current, ...(call.body as object), updated_at: '2026-03-02T13:00:00+00:00' }
        return answer
      },
    ],
  ])
}

describe('TeamsPage business hours', () => {
  it('shows the team open now in its zone, and saves hours in another zone', async () => {
    const fake = fakeServer(() => json(team))
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<TeamsPage />)
    const hours = await screen.findByRole('form', { name: 'Business hours' })
    expect(within(hours).getByRole('status')).toHaveTextContent('Now in America/Sao_Paulo: open')
    expect(within(hours).getByLabelText('Monday, range 1: opens')).toHaveValue('09:00')

    await user.selectOptions(within(hours).getByLabelText('Time zone'), 'Asia/Tokyo')
    await user.click(within(hours).getByRole('button', { name: 'Add a range to Tuesday' }))
    await user.clear(within(hours).getByLabelText('Tuesday, range 1: closes'))
    await user.type(within(hours).getByLabelText('Tuesday, range 1: closes'), '9:30')
    await user.click(within(hours).getByRole('button', { name: 'Add a holiday' }))
    await user.type(within(hours).getByLabelText('Holiday 1'), '2026-12-25')
    await user.click(within(hours).getByRole('button', { name: 'Save business hours' }))
    expect(await within(hours).findByRole('alert')).toHaveTextContent('Some hours need fixing')
    const closes = within(hours).getByLabelText('Tuesday, range 1: closes')
    expect(closes).toHaveAttribute('aria-invalid', 'true')
    expect(closes).toHaveAccessibleDescription(/Use HH:MM/)
    expect(fake.calls.some((c) => c.method === 'PATCH')).toBe(false)

    await user.clear(closes)
    await user.type(closes, '21:30')
    await user.click(within(hours).getByRole('button', { name: 'Save business hours' }))
    await waitFor(() => expect(fake.calls.find((c) => c.method === 'PATCH')?.body).toEqual({
      timezone: 'Asia/Tokyo',
      business_hours: { weekly: { mon: [['09:00', '18:00']], tue: [['09:00', '21:30']] }, holidays: ['2026-12-25'], exceptions: {} },
    }))
    // 22:00 on a Monday in Tokyo: closed, once the saved team is read again.
    expect(await within(hours).findByText('Now in Asia/Tokyo: closed')).toBeInTheDocument()
    expect(within(hours).getByText('Saved.')).toBeInTheDocument()
  }, 30_000)

  it("shows the server's refusal", async () => {
    const fake = fakeServer(() => problem(422, 'business_hours: weekly[mon]: ranges 09:00-18:00 and 10:00-11:00 overlap', { code: 'invalid', field: 'business_hours' }))
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<TeamsPage />)
    const hours = await screen.findByRole('form', { name: 'Business hours' })
    await user.click(within(hours).getByRole('button', { name: 'Save business hours' }))
    expect(await within(hours).findByRole('alert')).toHaveTextContent('overlap')
    await waitFor(() => expect(within(hours).getByRole('button', { name: 'Save business hours' })).toBeEnabled())
  })
})
