import { create } from 'zustand'
import { ApiError, apiFetch, setAuthHandlers, singleFlight, type TokenPair } from '@/lib/api'

/** The signed-in session. Kept in localStorage so a reload (or another tab) keeps it. */
export interface Session {
  accessToken: string
  refreshToken: string
  /** When the access token expires (ms since the epoch). */
  accessExpiresAt: number
  /** When to refresh it silently (ms since the epoch), well before it expires. */
  refreshAt: number
}

interface AuthState {
  session: Session | null
  /** Why the user is on the sign-in page again, if not by choice. */
  notice: 'expired' | null
}

export const SESSION_KEY = 'pytake.session'

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.accessToken === 'string' &&
    typeof v.refreshToken === 'string' &&
    typeof v.accessExpiresAt === 'number' &&
    typeof v.refreshAt === 'number'
  )
}

export function readStoredSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY)
    if (!raw) return null
    const parsed: unknown = JSON.parse(raw)
    return isSession(parsed) ? parsed : null
  } catch {
    return null
  }
}

function writeStoredSession(session: Session | null): void {
  try {
    if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session))
    else localStorage.removeItem(SESSION_KEY)
  } catch {
    // private mode without storage: the session lives in memory only
  }
}

export const useAuthStore = create<AuthState>(() => ({ session: readStoredSession(), notice: null }))

export function sessionFromPair(pair: TokenPair, now = Date.now()): Session {
  const lifetime = Math.max(1, pair.expires_in) * 1000
  // Refresh a minute before expiry, or halfway through a short lifetime.
  const lead = Math.min(60_000, lifetime / 2)
  return {
    accessToken: pair.access_token,
    refreshToken: pair.refresh_token,
    accessExpiresAt: now + lifetime,
    refreshAt: now + lifetime - lead,
  }
}

/** Starts a session from a token pair (sign-in, first-run set-up, refresh). */
export function signIn(pair: TokenPair): void {
  const session = sessionFromPair(pair)
  writeStoredSession(session)
  useAuthStore.setState({ session, notice: null })
}

/** Ends the session locally (and in other tabs through the storage event). */
export function clearSession(notice: AuthState['notice'] = null): void {
  writeStoredSession(null)
  useAuthStore.setState({ session: null, notice })
}

/** Signs out: revokes the refresh token's session on the server, then forgets it. */
export async function signOut(): Promise<void> {
  const session = useAuthStore.getState().session
  clearSession()
  if (!session) return
  try {
    await apiFetch('/api/v1/auth/logout', { body: { refresh_token: session.refreshToken }, auth: false })
  } catch {
    // signed out locally either way
  }
}

async function refreshOnce(): Promise<string | null> {
  const mine = useAuthStore.getState().session
  if (!mine) return null
  // Another tab may have refreshed while we waited for the lock: adopt its pair (our refresh
  // token is spent; using it again would count as reuse and revoke the session).
  const stored = readStoredSession()
  if (!stored) {
    clearSession('expired')
    return null
  }
  if (stored.refreshToken !== mine.refreshToken) {
    useAuthStore.setState({ session: stored })
    if (stored.accessExpiresAt - Date.now() > 15_000) return stored.accessToken
  }
  try {
    const pair = await apiFetch<TokenPair>('/api/v1/auth/refresh', {
      body: { refresh_token: stored.refreshToken },
      auth: false,
    })
    signIn(pair)
    return pair.access_token
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
      clearSession('expired')
      return null
    }
    throw error // network trouble: keep the session, the caller retries later
  }
}

/**
 * Trades the refresh token for a new pair. Single-flight inside the tab, and across tabs
 * through the Web Locks API where the browser has it: a refresh token works once.
 */
export const refreshSession = singleFlight(async (): Promise<string | null> => {
  if (typeof navigator !== 'undefined' && 'locks' in navigator) {
    const token: string | null = await navigator.locks.request('pytake.auth.refresh', refreshOnce)
    return token
  }
  return refreshOnce()
})

let installed = false

/** Connects lib/api to this session store and follows sign-in/out in other tabs. */
export function installAuth(): void {
  if (installed) return
  installed = true
  setAuthHandlers({
    getAccessToken: () => useAuthStore.getState().session?.accessToken ?? null,
    refresh: refreshSession,
    onAuthFailure: () => clearSession('expired'),
  })
  if (typeof window !== 'undefined') {
    window.addEventListener('storage', (event) => {
      if (event.key !== SESSION_KEY && event.key !== null) return
      useAuthStore.setState({ session: readStoredSession() })
    })
  }
}
