import { useSyncExternalStore } from 'react'

/** A tiny history router: the server answers index.html for every path (history fallback). */
export type Route = '/' | '/login' | '/setup' | '/set-password' | AdminRoute | FlowsRoute | '/ops'

/** The flow builder: the list of flows, or one flow by its id (admins only). */
export type FlowsRoute = '/flows' | `/flows/${string}`

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
  | '/admin/modules'

const adminRoutes: readonly AdminRoute[] = [
  '/admin/users',
  '/admin/teams',
  '/admin/canned',
  '/admin/numbers',
  '/admin/webhooks',
  '/admin/settings',
  '/admin/audit',
  '/admin/customers',
  '/admin/modules',
]

const routes: readonly Route[] = ['/', '/login', '/setup', '/set-password', '/flows', '/ops', ...adminRoutes]

export function isAdminRoute(route: Route): route is AdminRoute {
  return (adminRoutes as readonly string[]).includes(route)
}

export function isFlowsRoute(route: Route): route is FlowsRoute {
  return route === '/flows' || route.startsWith('/flows/')
}

/** The flow a builder route names, or null for the list of flows. */
export function flowOf(route: FlowsRoute): string | null {
  return route === '/flows' ? null : decodeURIComponent(route.slice('/flows/'.length))
}

export function flowRoute(flow: string | null): FlowsRoute {
  return flow === null ? '/flows' : `/flows/${encodeURIComponent(flow)}`
}

export type Role = 'admin' | 'supervisor' | 'agent'

/** Who may open a section: the server checks every request again; this keeps menus honest. */
export function mayOpen(role: Role, route: Route): boolean {
  if (isAdminRoute(route) || isFlowsRoute(route)) return role === 'admin'
  if (route === '/ops') return role !== 'agent'
  return true
}

/** A flow id is letters, digits, _ and - (docs/flows.md), so it needs no escaping. */
const FLOW_PATH = /^\/flows\/[A-Za-z0-9_-]{1,64}$/

/** The route of an address's path; anything unknown is the desk. */
export function routeOf(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/'
  // "/admin" alone opens the panel's first page.
  if (path === '/admin') return '/admin/users'
  if (FLOW_PATH.test(path)) return path as FlowsRoute
  return (routes as readonly string[]).includes(path) ? (path as Route) : '/'
}

function current(): Route {
  return routeOf(window.location.pathname)
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
