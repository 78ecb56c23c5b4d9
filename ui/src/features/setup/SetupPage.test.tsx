import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SetupPage } from './SetupPage'

afterEach(() => vi.unstubAllGlobals())

async function fill() {
  const user = userEvent.setup()
  await user.type(screen.getByLabelText('Set-up code'), 'ABCD-1234')
  await user.type(screen.getByLabelText('Name'), 'Ana Admin')
  await user.type(screen.getByLabelText('Email'), 'admin@example.com')
  await user.type(screen.getByLabelText('Password'), 'correct horse battery')
  await user.click(screen.getByRole('button', { name: 'Create admin' }))
}

describe('SetupPage', () => {
  it('creates the admin and hands over the token pair', async () => {
    const pair = { access_token: 'a', expires_in: 900, refresh_token: 'r', refresh_expires_in: 1, token_type: 'bearer' }
    const fetchMock = vi.fn((_url: string, _init: RequestInit) =>
      Promise.resolve(new Response(JSON.stringify(pair), { status: 201, headers: { 'content-type': 'application/json' } })),
    )
    vi.stubGlobal('fetch', fetchMock)
    const onCreated = vi.fn()
    render(<SetupPage onCreated={onCreated} onAlreadyDone={vi.fn()} />)
    await fill()
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith(pair))
    const [url, init] = fetchMock.mock.calls[0]!
    expect(url).toBe('/api/v1/setup')
    expect(JSON.parse(init.body as string)).toEqual({
      code: 'ABCD-1234',
      name: 'Ana Admin',
      email: 'admin@example.com',
      password: 'correct horse battery',
    })
  })

  it('marks the field the server names', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() =>
        Promise.resolve(
          new Response(JSON.stringify({ status: 403, code: 'invalid_setup_code', field: 'code', detail: 'wrong code' }), {
            status: 403,
            headers: { 'content-type': 'application/problem+json' },
          }),
        ),
      ),
    )
    render(<SetupPage onCreated={vi.fn()} onAlreadyDone={vi.fn()} />)
    await fill()
    expect(await screen.findByText('This set-up code is not valid.')).toBeInTheDocument()
    expect(screen.getByLabelText('Set-up code')).toHaveAttribute('aria-invalid', 'true')
  })
})
