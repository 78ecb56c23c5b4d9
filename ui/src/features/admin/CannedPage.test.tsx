import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { CannedPage } from './CannedPage'
import { renderWithQueries } from './test-utils'

const teams = {
  teams: [
    { id: 3, name: 'Vendas', routing_strategy: 'round_robin', member_count: 1, timezone: 'America/Sao_Paulo' },
    { id: 4, name: 'Suporte', routing_strategy: 'least_busy', member_count: 0, timezone: 'America/Sao_Paulo' },
  ],
}
const greeting = { id: 8, team_id: 3, shortcut: 'greeting', title: 'Greeting', text: 'Olá!', created_at: null, updated_at: null }

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('CannedPage', () => {
  it("creates a response in the chosen team, with the server's 422 and 409 on the shortcut", async () => {
    let answer = problem(422, 'shortcut: use letters, digits, ., _ or -', { code: 'invalid', field: 'shortcut' })
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/teams\?/, () => json(teams)],
      ['GET', /^\/api\/v1\/canned-responses\?team=3/, () => json({ canned_responses: [greeting], next_cursor: null })],
      ['GET', /^\/api\/v1\/canned-responses\?team=4/, () => json({ canned_responses: [], next_cursor: null })],
      ['POST', /^\/api\/v1\/canned-responses$/, () => answer],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<CannedPage />)
    expect(await screen.findByRole('cell', { name: '/greeting' })).toBeInTheDocument()
    await user.selectOptions(screen.getByLabelText('Team'), 'Suporte')
    expect(await screen.findByText('This team has no canned responses yet.')).toBeInTheDocument()

    await user.click(screen.getByRole('button', { name: 'New canned response' }))
    const dialog = await screen.findByRole('dialog', { name: 'New canned response for Suporte' })
    await user.type(within(dialog).getByLabelText('Shortcut'), 'bad shortcut')
    await user.type(within(dialog).getByLabelText('Title'), 'Bom dia')
    await user.type(within(dialog).getByLabelText('Text'), 'Bom dia! Como posso ajudar?')
    await user.click(within(dialog).getByRole('button', { name: 'Create' }))

    const shortcut = within(dialog).getByLabelText('Shortcut')
    await waitFor(() => expect(shortcut).toHaveAttribute('aria-invalid', 'true'))
    expect(shortcut).toHaveAccessibleDescription(expect.stringContaining('shortcut: use letters, digits, ., _ or -'))
    expect(within(dialog).getByLabelText('Title')).not.toHaveAttribute('aria-invalid')
    expect(fake.calls.find((c) => c.method === 'POST')?.body).toEqual({
      team_id: 4,
      shortcut: 'bad shortcut',
      title: 'Bom dia',
      text: 'Bom dia! Como posso ajudar?',
    })

    answer = problem(409, 'the team already has a canned response /bomdia', { code: 'shortcut_taken', field: 'shortcut' })
    await user.clear(shortcut)
    await user.type(shortcut, 'bomdia')
    await user.click(within(dialog).getByRole('button', { name: 'Create' }))
    await waitFor(() => expect(shortcut).toHaveAccessibleDescription(expect.stringContaining('already has a canned response /bomdia')))

    answer = json({ ...greeting, id: 9, team_id: 4, shortcut: 'bomdia' }, 201)
    await user.clear(shortcut)
    await user.type(shortcut, 'bomdia2')
    await user.click(within(dialog).getByRole('button', { name: 'Create' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
  })

  it('deletes after asking', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/teams\?/, () => json(teams)],
      ['GET', /^\/api\/v1\/canned-responses\?/, () => json({ canned_responses: [greeting], next_cursor: null })],
      ['DELETE', /^\/api\/v1\/canned-responses\/8$/, () => new Response(null, { status: 204 })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<CannedPage />)
    await user.click(await screen.findByRole('button', { name: 'Delete /greeting' }))
    const dialog = await screen.findByRole('dialog', { name: 'Delete /greeting' })
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }))
    await waitFor(() => expect(fake.calls.some((c) => c.method === 'DELETE')).toBe(true))
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull())
  })
})
