import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LoginPage } from './LoginPage'
import { SESSION_KEY, clearSession, installAuth, refreshSession, useAuthStore } from './session'

function problem(status: number, code: string, detail: string): Response {
  return new Response(JSON.stringify({ status, code, detail, error: detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  })
}

const pair = { access_token: 'acc', expires_in: 900, refresh_token: 'ref', refresh_expires_in: 2592000, token_type: 'bearer' }

afterEach(() => {
  vi.unstubAllGlobals()
  clearSession()
})

describe('LoginPage', () => {
  it('asks for the verification code when the server wants a second factor', async () => {
    const bodies: Record<string, unknown>[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn((_url: string, init: RequestInit) => {
        const body = JSON.parse(init.body as string) as Record<string, unknown>
        bodies.push(body)
        if (!body.totp_code) return Promise.resolve(problem(401, 'second_factor_required', 'code needed'))
        return Promise.resolve(new Response(JSON.stringify(pair), { status: 200, headers: { 'content-type': 'application/json' } }))
      }),
    )
    const onSignedIn = vi.fn()
    const user = userEvent.setup()
    render(<LoginPage onSignedIn={onSignedIn} />)
    expect(screen.queryByLabelText('Verification code')).toBeNull()
    await user.type(screen.getByLabelText('Email'), 'ana@example.com')
    await user.type(screen.getByLabelText('Password'), 'correct horse')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    const code = await screen.findByLabelText('Verification code')
    await waitFor(() => expect(code).toHaveFocus())
    await user.type(code, '123456')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledOnce())
    expect(bodies[1]).toEqual({ email: 'ana@example.com', password: 'correct horse', totp_code: '123456' })
    expect(useAuthStore.getState().session?.accessToken).toBe('acc')
    expect(JSON.parse(localStorage.getItem(SESSION_KEY) ?? '{}')).toMatchObject({ refreshToken: 'ref' })
  })

  it('shows invalid credentials', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(problem(401, 'invalid_credentials', 'invalid email or password'))))
    const user = userEvent.setup()
    render(<LoginPage />)
    await user.type(screen.getByLabelText('Email'), 'ana@example.com')
    await user.type(screen.getByLabelText('Password'), 'nope')
    await user.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Invalid email or password.')
  })
})

describe('session refresh', () => {
  it('refreshes once for concurrent callers (a refresh token works once)', async () => {
    installAuth()
    useAuthStore.setState({ session: null })
    const fetchMock = vi.fn(() =>
      Promise.resolve(
        new Response(JSON.stringify({ ...pair, access_token: 'acc2', refresh_token: 'ref2' }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
      ),
    )
    vi.stubGlobal('fetch', fetchMock)
    const session = { accessToken: 'acc', refreshToken: 'ref', accessExpiresAt: Date.now() + 1000, refreshAt: Date.now() }
    localStorage.setItem(SESSION_KEY, JSON.stringify(session))
    useAuthStore.setState({ session })
    const results = await Promise.all([refreshSession(), refreshSession(), refreshSession()])
    expect(results).toEqual(['acc2', 'acc2', 'acc2'])
    expect(fetchMock).toHaveBeenCalledOnce()
    expect(useAuthStore.getState().session?.refreshToken).toBe('ref2')
  })

  it('signs out when the refresh token is refused', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(problem(401, 'refresh_token_reused', 'reused'))))
    const session = { accessToken: 'acc', refreshToken: 'ref', accessExpiresAt: Date.now() + 1000, refreshAt: Date.now() }
    localStorage.setItem(SESSION_KEY, JSON.stringify(session))
    useAuthStore.setState({ session })
    await expect(refreshSession()).resolves.toBeNull()
    expect(useAuthStore.getState()).toMatchObject({ session: null, notice: 'expired' })
    expect(localStorage.getItem(SESSION_KEY)).toBeNull()
  })
})
