import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { SettingsPage } from './SettingsPage'
import { renderWithQueries } from './test-utils'

const live = ['routing_reopen_window', 'routing_burst_gap', 'flows_default']
function settings(gap: number, overridden: boolean) {
  return {
    live,
    settings: {
      routing_reopen_window: { value: 3600.0, default: 86400.0, overridden: true },
      routing_burst_gap: { value: gap, default: 2.0, overridden },
      flows_default: { value: '', default: '', overridden: false },
    },
  }
}

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('SettingsPage', () => {
  it("changes a setting, with the server's 422 on its field", async () => {
    let answer = problem(422, 'routing_burst_gap must be at least 0, got -1.0', { code: 'invalid', field: 'routing_burst_gap' })
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/settings$/, () => json(settings(2.0, false))],
      ['PATCH', /^\/api\/v1\/settings$/, () => answer],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<SettingsPage />)
    const row = (await screen.findByRole('rowheader', { name: 'routing_burst_gap' })).closest('tr')
    if (!row) throw new Error('no row')
    expect(within(row).getByRole('button', { name: 'Back to default: routing_burst_gap' })).toBeDisabled()
    await user.click(within(row).getByRole('button', { name: 'Edit routing_burst_gap' }))
    const dialog = await screen.findByRole('dialog', { name: 'Edit routing_burst_gap' })
    const field = within(dialog).getByLabelText('routing_burst_gap')
    expect(field).toHaveValue('2')
    await user.clear(field)
    await user.type(field, '-1')
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(field).toHaveAttribute('aria-invalid', 'true'))
    expect(field).toHaveAccessibleDescription(expect.stringContaining('must be at least 0, got -1.0'))
    expect(fake.calls.find((c) => c.method === 'PATCH')?.body).toEqual({ routing_burst_gap: -1 })

    answer = json(settings(5, true))
    await user.clear(field)
    await user.type(field, '5')
    await user.click(within(dialog).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
    expect(fake.calls.filter((c) => c.method === 'PATCH').at(-1)?.body).toEqual({ routing_burst_gap: 5 })
    expect(within(row).getByRole('cell', { name: '5' })).toBeInTheDocument()
  })

  it('puts an overridden setting back to its default (null)', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/settings$/, () => json(settings(2.0, false))],
      ['PATCH', /^\/api\/v1\/settings$/, () => json(settings(2.0, false))],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<SettingsPage />)
    await user.click(await screen.findByRole('button', { name: 'Back to default: routing_reopen_window' }))
    await waitFor(() => expect(fake.calls.find((c) => c.method === 'PATCH')?.body).toEqual({ routing_reopen_window: null }))
  })
})
