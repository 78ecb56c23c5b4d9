import { useSyncExternalStore } from 'react'

/** A tiny history router: the server answers index.html for every path (history fallback). */
export type Route = '/' | '/login' | '/setup' | AdminRoute

/** The admin panel's pages (admins only: App sends anyone else to the desk). */
export type AdminRoute =
  | '/admin/users'
  | '/admin/teams'
  | '/admin/canned'
  | '/admin/numbers'
  | '/admin/webhooks'
  | '/admin/settings'
  | '/admin/audit'
  | '/admin/customers'

const adminRoutes: readonly AdminRoute[] = [
  '/admin/users',
  '/admin/teams',
  '/admin/canned',
  '/admin/numbers',
  '/admin/webhooks',
  '/admin/settings',
  '/admin/audit',
  '/admin/customers',
]

const routes: readonly Route[] = ['/', '/login', '/setup', ...adminRoutes]

export function isAdminRoute(route: Route): route is AdminRoute {
  return (adminRoutes as readonly string[]).includes(route)
}

function current(): Route {
  const path = window.location.pathname.replace(/\/+$/, '') || '/'
  // "/admin" alone opens the panel's first page.
  if (path === '/admin') return '/admin/users'
  return (routes as readonly string[]).includes(path) ? (path as Route) : '/'
}

const listeners = new Set<() => void>()

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  window.addEventListener('popstate', listener)
  return () => {
    listeners.delete(listener)
    window.removeEventListener('popstate', listener)
  }
}

export function navigate(to: Route, { replace = false } = {}): void {
  if (current() === to && window.location.pathname === to) return
  if (replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  for (const listener of listeners) listener()
}

export function useRoute(): Route {
  return useSyncExternalStore(subscribe, current, () => '/')
}
