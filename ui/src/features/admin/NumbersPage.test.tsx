import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { NumbersPage } from './NumbersPage'
import { renderWithQueries } from './test-utils'

const vendas = {
  phone_number_id: '420000000000002',
  waba_id: '310000000000099',
  display_name: 'Vendas',
  has_token: true,
  paused: false,
  created_at: '2026-01-01T10:00:00+00:00',
  updated_at: '2026-01-01T10:00:00+00:00',
}

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('NumbersPage', () => {
  it("edits a number without reading its token back, and shows the server's 422 on the token", async () => {
    let answer = problem(422, 'access_token: PYTAKE_SECRET_KEY is not set', { code: 'invalid', field: 'access_token' })
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/numbers\?/, () => json({ numbers: [vendas], next_cursor: null })],
      ['PATCH', /^\/api\/v1\/numbers\/420000000000002$/, () => answer],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<NumbersPage />)
    await user.click(await screen.findByRole('button', { name: 'Edit 420000000000002' }))
    const dialog = await screen.findByRole('dialog', { name: 'Edit 420000000000002' })
    const token = within(dialog).getByLabelText('Access token')
    expect(token).toHaveAttribute('type', 'password')
    expect(token).toHaveValue('')
    expect(token).toHaveAccessibleDescription(expect.stringContaining('Leave empty to keep'))
    await user.clear(within(dialog).getByLabelText('Display name'))
    await user.type(within(dialog).getByLabelText('Display name'), 'Vendas SP')
    await user.type(token, 'EAAG-new')
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(token).toHaveAttribute('aria-invalid', 'true'))
    expect(token).toHaveAccessibleDescription(expect.stringContaining('PYTAKE_SECRET_KEY is not set'))
    expect(fake.calls.find((c) => c.method === 'PATCH')?.body).toEqual({
      waba_id: '310000000000099',
      display_name: 'Vendas SP',
      access_token: 'EAAG-new',
    })

    // Empty keeps the stored token: it is not sent.
    answer = json({ ...vendas, display_name: 'Vendas SP' })
    await user.clear(token)
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
    expect(fake.calls.filter((c) => c.method === 'PATCH').at(-1)?.body).toEqual({ waba_id: '310000000000099', display_name: 'Vendas SP' })
  })

  it('pauses a number', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/numbers\?/, () => json({ numbers: [vendas], next_cursor: null })],
      ['POST', /^\/api\/v1\/numbers\/420000000000002\/pause$/, () => json({ ...vendas, paused: true })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<NumbersPage />)
    await user.click(await screen.findByRole('button', { name: 'Pause 420000000000002' }))
    await waitFor(() => expect(fake.calls.some((c) => c.url.endsWith('/pause'))).toBe(true))
  })
})
