import { ApiError, problemFromResponse } from './errors'

/**
 * How the API client reaches the session. The auth feature installs these at start-up, so
 * that lib/ never imports a feature.
 */
export interface AuthHandlers {
  getAccessToken: () => string | null
  /** Trades the refresh token for a new pair (single-flight); the new access token or null. */
  refresh: () => Promise<string | null>
  /** The session cannot be recovered (refresh failed): sign out locally. */
  onAuthFailure: () => void
}

let handlers: AuthHandlers | null = null

export function setAuthHandlers(next: AuthHandlers | null): void {
  handlers = next
}

export function getAccessToken(): string | null {
  return handlers?.getAccessToken() ?? null
}

/** A fresh access token (refreshing the session once), or null when the session is over. */
export async function refreshAccessToken(): Promise<string | null> {
  if (!handlers) return null
  return handlers.refresh()
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Sent as JSON; a FormData is sent as multipart/form-data (file uploads). */
  body?: unknown
  query?: Record<string, string | number | boolean | null | undefined>
  /** Send the bearer token (default true); sign-in routes pass false. */
  auth?: boolean
  signal?: AbortSignal
  headers?: Record<string, string>
}

function buildUrl(path: string, query: RequestOptions['query']): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const qs = params.toString()
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  // A FormData body goes as multipart/form-data: the browser writes that header, with its boundary.
  const multipart = options.body instanceof FormData
  if (options.body !== undefined && !multipart) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  return fetch(buildUrl(path, options.query), {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body: options.body === undefined ? undefined : multipart ? (options.body as FormData) : JSON.stringify(options.body),
    signal: options.signal,
    credentials: 'same-origin',
  })
}

/**
 * Calls the JSON API. Adds the bearer token; on `401 token_expired` refreshes the session once
 * and retries; turns failures into ApiError (problem documents parsed).
 */
export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const useAuth = options.auth ?? true
  let response = await send(path, options, useAuth ? getAccessToken() : null)
  if (response.status === 401 && useAuth && handlers) {
    const problem = await problemFromResponse(response.clone())
    if (problem.code === 'token_expired') {
      const token = await handlers.refresh()
      if (!token) {
        handlers.onAuthFailure()
        throw problem
      }
      response = await send(path, options, token)
    }
  }
  if (!response.ok) {
    const problem = await problemFromResponse(response)
    if (problem.status === 401 && useAuth && handlers && problem.code !== 'token_expired') {
      // missing/invalid token, account_inactive, role_changed: the session is over.
      handlers.onAuthFailure()
    }
    throw problem
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  if (!text) return undefined as T
  try {
    return JSON.parse(text) as T
  } catch {
    throw new ApiError({ status: response.status, detail: 'the server answered something that is not JSON' })
  }
}
