import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { renderWithQueries } from './test-utils'
import { UsersPage } from './UsersPage'

const admin = { id: 1, email: 'root@example.com', name: 'Root', role: 'admin', active: true, created_at: '2026-01-01T10:00:00+00:00' }

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

async function openInvite() {
  const user = userEvent.setup()
  renderWithQueries(<UsersPage userId={1} />)
  await screen.findByRole('cell', { name: 'root@example.com' })
  await user.click(screen.getByRole('button', { name: 'Invite a user' }))
  const dialog = await screen.findByRole('dialog', { name: 'Invite a user' })
  return { user, dialog }
}

describe('UsersPage', () => {
  it('shows a 422 from the server on the field it names', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/users\?/, () => json({ users: [admin], next_cursor: null })],
      ['POST', /^\/api\/v1\/users$/, () => problem(422, 'email: the domain example.test takes no mail', { code: 'invalid', field: 'email' })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const { user, dialog } = await openInvite()
    await user.type(within(dialog).getByLabelText('Email'), 'ana@example.test')
    await user.type(within(dialog).getByLabelText('Name'), 'Ana')
    await user.selectOptions(within(dialog).getByLabelText('Role'), 'supervisor')
    await user.click(within(dialog).getByRole('radio', { name: /temporary password/ }))
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }))

    const email = within(dialog).getByLabelText('Email')
    await waitFor(() => expect(email).toHaveAttribute('aria-invalid', 'true'))
    expect(email).toHaveAccessibleDescription('email: the domain example.test takes no mail')
    expect(email).toHaveFocus()
    expect(within(dialog).getByLabelText('Name')).not.toHaveAttribute('aria-invalid')
    expect(within(dialog).queryByRole('alert')).toBeNull()
    expect(fake.calls.find((c) => c.method === 'POST')?.body).toEqual({
      email: 'ana@example.test',
      name: 'Ana',
      role: 'supervisor',
      delivery: 'password',
    })
  })

  it('puts a taken email on the email field, and shows the temporary password once it works', async () => {
    let taken = true
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/users\?/, () => json({ users: [admin], next_cursor: null })],
      [
        'POST',
        /^\/api\/v1\/users$/,
        () =>
          taken
            ? problem(409, 'ana@example.com is taken', { code: 'email_taken' })
            : json({ user: { ...admin, id: 2, email: 'bia@example.com', name: 'Bia', role: 'agent' }, delivery: 'password', temporary_password: 'Xy7-temporary-pw' }, 201),
      ],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const { user, dialog } = await openInvite()
    await user.type(within(dialog).getByLabelText('Email'), 'ana@example.com')
    await user.type(within(dialog).getByLabelText('Name'), 'Ana')
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }))
    await waitFor(() => expect(within(dialog).getByLabelText('Email')).toHaveAccessibleDescription('ana@example.com is taken'))

    taken = false
    await user.clear(within(dialog).getByLabelText('Email'))
    await user.type(within(dialog).getByLabelText('Email'), 'bia@example.com')
    await user.click(within(dialog).getByRole('radio', { name: /temporary password/ }))
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }))
    expect(await within(dialog).findByLabelText('Temporary password for bia@example.com')).toHaveValue('Xy7-temporary-pw')
  })

  it('says why a deactivation was refused (409 last admin)', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/users\?/, () => json({ users: [admin], next_cursor: null })],
      ['POST', /^\/api\/v1\/users\/1\/deactivate$/, () => problem(409, 'root@example.com is the last active admin; make another admin first', { code: 'last_admin' })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<UsersPage userId={1} />)
    await user.click(await screen.findByRole('button', { name: 'Deactivate Root' }))
    const dialog = await screen.findByRole('dialog', { name: 'Deactivate Root' })
    await user.click(within(dialog).getByRole('button', { name: 'Deactivate' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('is the last active admin')
  })

  it('shows the full set-password link of an invitation', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/users\?/, () => json({ users: [admin], next_cursor: null })],
      [
        'POST',
        /^\/api\/v1\/users$/,
        () =>
          json(
            {
              user: { ...admin, id: 2, email: 'bia@example.com', name: 'Bia', role: 'agent' },
              delivery: 'link',
              set_password_token: 'Zr0l+/tok',
              expires_at: '2026-01-08T10:00:00+00:00',
            },
            201,
          ),
      ],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const { user, dialog } = await openInvite()
    await user.type(within(dialog).getByLabelText('Email'), 'bia@example.com')
    await user.type(within(dialog).getByLabelText('Name'), 'Bia')
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }))
    const link = await within(dialog).findByLabelText('Set-password link for bia@example.com')
    expect(link).toHaveValue(`${window.location.origin}/set-password?token=Zr0l%2B%2Ftok`)
  })
})
