import { afterEach, describe, expect, it, vi } from 'vitest'
import { apiFetch, setAuthHandlers } from './client'
import { ApiError } from './errors'
import { singleFlight } from './single-flight'

function json(status: number, body: unknown, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type } })
}

function problem(status: number, code: string, detail: string, field?: string): Response {
  return json(status, { type: 'about:blank', title: 'x', status, detail, error: detail, code, field }, 'application/problem+json')
}

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('apiFetch', () => {
  it('adds the bearer token and parses JSON', async () => {
    const fetchMock = vi.fn((_url: string, _init: RequestInit) => Promise.resolve(json(200, { ok: 1 })))
    vi.stubGlobal('fetch', fetchMock)
    setAuthHandlers({ getAccessToken: () => 'abc', refresh: () => Promise.resolve(null), onAuthFailure: vi.fn() })
    await expect(apiFetch('/api/v1/x', { query: { limit: 5, q: '' } })).resolves.toEqual({ ok: 1 })
    const [url, init] = fetchMock.mock.calls[0]!
    expect(url).toBe('/api/v1/x?limit=5')
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer abc')
  })

  it('refreshes once on 401 token_expired and retries with the new token', async () => {
    let token = 'old'
    const refresh = vi.fn(() => {
      token = 'new'
      return Promise.resolve('new')
    })
    const fetchMock = vi.fn((_url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization
      return Promise.resolve(
        auth === 'Bearer new' ? json(200, { ok: true }) : problem(401, 'token_expired', 'access token expired'),
      )
    })
    vi.stubGlobal('fetch', fetchMock)
    setAuthHandlers({ getAccessToken: () => token, refresh, onAuthFailure: vi.fn() })
    await expect(apiFetch('/api/v1/auth/me')).resolves.toEqual({ ok: true })
    expect(refresh).toHaveBeenCalledOnce()
    expect(fetchMock).toHaveBeenCalledTimes(2)
  })

  it('signs out when the refresh fails', async () => {
    const onAuthFailure = vi.fn()
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(problem(401, 'token_expired', 'expired'))))
    setAuthHandlers({ getAccessToken: () => 'old', refresh: () => Promise.resolve(null), onAuthFailure })
    await expect(apiFetch('/api/v1/auth/me')).rejects.toMatchObject({ status: 401, code: 'token_expired' })
    expect(onAuthFailure).toHaveBeenCalledOnce()
  })

  it('turns problem documents into ApiError with code, field and detail', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(problem(422, 'invalid', 'email is not an email address', 'email'))))
    const error: unknown = await apiFetch('/api/v1/setup', { body: {}, auth: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 422, code: 'invalid', field: 'email', detail: 'email is not an email address' })
  })

  it('keeps what a refusal adds, such as the problems of a flow', async () => {
    const problems = [{ path: 'nodes[4].team', message: "team 'vendas' does not exist", code: 'unknown_team' }]
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(json(422, { error: 'flow has 1 problem', code: 'invalid_flow', problems }))))
    const error: unknown = await apiFetch('/api/v1/flows/x/publish', { body: {}, auth: false }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'invalid_flow', detail: 'flow has 1 problem', body: { problems } })
  })

  it('answers undefined for 204', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response(null, { status: 204 }))))
    await expect(apiFetch('/api/v1/auth/logout', { body: { refresh_token: 'r' }, auth: false })).resolves.toBeUndefined()
  })

  it('sends a FormData body as it is, leaving the multipart header to the browser', async () => {
    const fetchMock = vi.fn((_url: string, _init: RequestInit) => Promise.resolve(json(201, { id: 'm1' })))
    vi.stubGlobal('fetch', fetchMock)
    setAuthHandlers({ getAccessToken: () => 'abc', refresh: () => Promise.resolve(null), onAuthFailure: vi.fn() })
    const form = new FormData()
    form.append('file', new File(['x'], 'a.txt', { type: 'text/plain' }))
    await expect(apiFetch('/api/v1/conversations/1/media', { body: form })).resolves.toEqual({ id: 'm1' })
    const [, init] = fetchMock.mock.calls[0]!
    expect(init.method).toBe('POST')
    expect(init.body).toBe(form)
    const headers = init.headers as Record<string, string>
    expect(headers['Content-Type']).toBeUndefined()
    expect(headers.Authorization).toBe('Bearer abc')
  })
})

describe('singleFlight', () => {
  it('shares one run between concurrent callers, then runs again', async () => {
    let calls = 0
    let release: (v: number) => void = () => undefined
    const run = singleFlight(() => {
      calls += 1
      return new Promise<number>((resolve) => {
        release = resolve
      })
    })
    const a = run()
    const b = run()
    expect(calls).toBe(1)
    release(7)
    await expect(Promise.all([a, b])).resolves.toEqual([7, 7])
    void run()
    expect(calls).toBe(2)
  })
})
