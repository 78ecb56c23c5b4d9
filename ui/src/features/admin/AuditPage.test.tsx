import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, routedFetch } from '@/test/fakes'
import { AuditPage } from './AuditPage'
import { auditQuery, NO_FILTERS } from './audit-query'
import { renderWithQueries } from './test-utils'

const entry = (seq: number, action: string) => ({
  seq,
  at: '2026-03-01T12:00:00+00:00',
  user_id: 1,
  role: 'admin',
  action,
  target_type: 'user',
  target_id: '2',
  ip: '127.0.0.1',
  user_agent: null,
  request_id: null,
  details: {},
  prev_hash: 'a',
  hash: 'b',
})

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  Reflect.deleteProperty(URL, 'createObjectURL')
  Reflect.deleteProperty(URL, 'revokeObjectURL')
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

function params(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url, 'http://x').searchParams)
}

describe('AuditPage', () => {
  it('builds the query from the filters, pages with the cursor and exports with the token in a header', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/users\?/, () => json({ users: [{ id: 1, email: 'root@example.com', name: 'Root', role: 'admin', active: true, created_at: '2026-01-01T00:00:00+00:00' }], next_cursor: null })],
      [
        'GET',
        /^\/api\/v1\/audit\?.*format=csv/,
        () => new Response('seq,at\n', { status: 200, headers: { 'content-type': 'text/csv', 'content-disposition': 'attachment; filename="audit.csv"' } }),
      ],
      [
        'GET',
        /^\/api\/v1\/audit\?/,
        (call) => (call.url.includes('cursor=') ? json({ entries: [entry(1, 'user.update')], next_cursor: null }) : json({ entries: [entry(2, 'user.invite')], next_cursor: 'c1' })),
      ],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    // jsdom has no object URLs and does not follow links: both are played here.
    const createObjectURL = vi.fn((_blob: Blob) => 'blob:x')
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() })
    const saved: string[] = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(`${this.download} ${this.href}`)
    })
    const user = userEvent.setup()
    renderWithQueries(<AuditPage />)
    await screen.findByRole('cell', { name: 'user.invite' })

    const filters = screen.getByRole('form', { name: 'Filters' })
    await user.selectOptions(within(filters).getByLabelText('User'), 'Root (#1)')
    await user.type(within(filters).getByLabelText('Action'), 'user.*')
    await user.type(within(filters).getByLabelText('Target type'), 'user')
    await user.type(within(filters).getByLabelText('Target id'), '2')
    await user.type(within(filters).getByLabelText('From'), '2026-03-01T09:30')
    await user.type(within(filters).getByLabelText('Until'), '2026-03-02T18:00')
    await user.click(within(filters).getByRole('button', { name: 'Apply filters' }))

    // datetime-local values are the browser's wall clock: sent as the instants they name.
    const expected = {
      user: '1',
      action: 'user.*',
      target_type: 'user',
      target_id: '2',
      since: new Date(2026, 2, 1, 9, 30).toISOString(),
      until: new Date(2026, 2, 2, 18, 0).toISOString(),
      limit: '50',
    }
    await waitFor(() => expect(fake.calls.filter((c) => c.url.startsWith('/api/v1/audit?')).map((c) => params(c.url))).toContainEqual(expected))

    await user.click(await screen.findByRole('button', { name: 'Load more' }))
    await screen.findByRole('cell', { name: 'user.update' })
    expect(fake.calls.map((c) => params(c.url))).toContainEqual({ ...expected, cursor: 'c1' })

    await user.click(screen.getByRole('button', { name: 'Export CSV' }))
    await waitFor(() => expect(createObjectURL).toHaveBeenCalledOnce())
    const exported = fake.calls.find((c) => c.url.includes('format=csv'))
    const { limit: _limit, ...filtered } = expected
    expect(exported && params(exported.url)).toEqual({ ...filtered, format: 'csv' })
    expect(saved).toEqual(['audit.csv blob:x'])
    expect(await createObjectURL.mock.calls[0]?.[0].text()).toBe('seq,at\n')
    expect(exported?.headers.Authorization).toBe('Bearer tok')
    expect(exported?.url).not.toContain('tok')
  })

  it('leaves empty filters out', () => {
    expect(auditQuery(NO_FILTERS)).toEqual({})
    expect(auditQuery({ ...NO_FILTERS, action: '  auth.* ', since: 'not a time' })).toEqual({ action: 'auth.*' })
  })
})
