import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { json, problem, routedFetch } from '@/test/fakes'
import { SetPasswordPage, tokenFromLocation } from './index'

const pair = { access_token: 'a', refresh_token: 'r', token_type: 'Bearer', expires_in: 900 }

afterEach(() => {
  vi.unstubAllGlobals()
  window.history.replaceState(null, '', '/')
})

async function choose(user: ReturnType<typeof userEvent.setup>, password: string, repeat = password) {
  await user.type(screen.getByLabelText('New password'), password)
  await user.type(screen.getByLabelText('Repeat the password'), repeat)
  await user.click(screen.getByRole('button', { name: 'Set password and sign in' }))
}

describe('SetPasswordPage', () => {
  it('reads the token from the link, drops it from the address, sets the password and signs in', async () => {
    window.history.replaceState(null, '', '/set-password?token=Zr0l%2Btok')
    const fake = routedFetch([['POST', /^\/api\/v1\/auth\/set-password$/, () => json(pair)]])
    vi.stubGlobal('fetch', fake.fetch)
    const onSignedIn = vi.fn()
    const user = userEvent.setup()
    render(<SetPasswordPage onSignedIn={onSignedIn} />)
    expect(screen.getByRole('heading', { name: 'Choose your password' })).toBeInTheDocument()
    await waitFor(() => expect(window.location.search).toBe(''))
    expect(window.location.pathname).toBe('/set-password')

    await choose(user, 'short', 'short')
    expect(await screen.findByText('Use at least 8 characters.')).toBeInTheDocument()
    await user.clear(screen.getByLabelText('New password'))
    await user.clear(screen.getByLabelText('Repeat the password'))
    await choose(user, 'correct horse battery', 'correct horse batery')
    expect(await screen.findByText('The passwords differ.')).toBeInTheDocument()
    expect(fake.calls).toEqual([])

    await user.clear(screen.getByLabelText('Repeat the password'))
    await user.type(screen.getByLabelText('Repeat the password'), 'correct horse battery')
    await user.click(screen.getByRole('button', { name: 'Set password and sign in' }))
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(pair))
    expect(fake.calls[0]?.body).toEqual({ token: 'Zr0l+tok', password: 'correct horse battery' })
    expect(fake.calls[0]?.headers).not.toHaveProperty('Authorization')
  })

  it("shows the server's refusal of the password on that field", async () => {
    const fake = routedFetch([['POST', /set-password$/, () => problem(422, 'password is too common; choose another', { code: 'invalid', field: 'password' })]])
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    render(<SetPasswordPage token="tok" onSignedIn={vi.fn()} />)
    await choose(user, 'password123')
    await waitFor(() => expect(screen.getByLabelText('New password')).toHaveAccessibleDescription(/too common/))
    expect(screen.getByLabelText('New password')).toHaveFocus()
  })

  it('says a spent link cannot be used, and one without a token neither', async () => {
    const fake = routedFetch([['POST', /set-password$/, () => problem(422, 'the set-password token is unknown, expired or already used', { code: 'invalid', field: 'token' })]])
    vi.stubGlobal('fetch', fake.fetch)
    const onSignIn = vi.fn()
    const user = userEvent.setup()
    const { unmount } = render(<SetPasswordPage token="old" onSignedIn={vi.fn()} onSignIn={onSignIn} />)
    await choose(user, 'correct horse battery')
    expect(await screen.findByRole('alert')).toHaveTextContent('unknown, expired or was already used')
    await user.click(screen.getByRole('button', { name: 'Go to the sign-in page' }))
    expect(onSignIn).toHaveBeenCalled()
    unmount()
    render(<SetPasswordPage token={null} onSignedIn={vi.fn()} />)
    expect(screen.getByRole('alert')).toHaveTextContent('This link has no token')
  })

  it('asks for the email and code when the account has a second factor', async () => {
    const fake = routedFetch([
      ['POST', /set-password$/, () => problem(401, 'this account has a second factor: send totp_code or recovery_code', { code: 'second_factor_required' })],
      ['POST', /\/auth\/login$/, (call) => ((call.body as { totp_code: string }).totp_code === '123456' ? json(pair) : problem(401, 'wrong', { code: 'invalid_second_factor' }))],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const onSignedIn = vi.fn()
    const user = userEvent.setup()
    render(<SetPasswordPage token="tok" onSignedIn={onSignedIn} />)
    await choose(user, 'correct horse battery')
    expect(await screen.findByRole('status')).toHaveTextContent('Your password is set')
    await user.type(screen.getByLabelText('Email'), 'bia@example.com')
    await user.type(screen.getByLabelText('Verification code'), '000000')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    await waitFor(() => expect(screen.getByLabelText('Verification code')).toHaveAccessibleDescription('The code is wrong, expired or already used.'))
    await user.clear(screen.getByLabelText('Verification code'))
    await user.type(screen.getByLabelText('Verification code'), '123456')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(pair))
    expect(fake.calls.at(-1)?.body).toEqual({ email: 'bia@example.com', password: 'correct horse battery', totp_code: '123456' })
  })

  it('finds the token in a query string', () => {
    expect(tokenFromLocation('?token=a%2Bb')).toBe('a+b')
    expect(tokenFromLocation('?token=')).toBeNull()
    expect(tokenFromLocation('')).toBeNull()
  })
})
