import { lazy, Suspense, useEffect, type ReactNode } from 'react'
import { LoginPage, SignOutButton, signIn, useAuthStore, useMe, useSessionKeeper } from '@/features/auth'
import type { AdminPage } from '@/features/admin'
import { Desk } from '@/features/desk'
import { SetPasswordPage } from '@/features/setpassword'
import { SetupPage, useSetupStatus } from '@/features/setup'
import { t } from '@/lib/i18n'
import {
  flowOf,
  flowRoute,
  isAdminRoute,
  isFlowsRoute,
  mayOpen,
  navigate,
  useRoute,
  type AdminRoute,
  type Role,
  type Route,
} from './router'

/** Loaded when an admin first opens it: agents never download the panel. */
const AdminPanel = lazy(() => import('@/features/admin').then((m) => ({ default: m.AdminPanel })))
/** The flow builder (React Flow and its layout engine) is the biggest part: its own chunk. */
const FlowsPage = lazy(() => import('@/features/flows').then((m) => ({ default: m.FlowsPage })))
/** The operations dashboard and its charts, for supervisors and admins. */
const OpsDashboard = lazy(() => import('@/features/ops').then((m) => ({ default: m.OpsDashboard })))


function Splash({ children }: { children?: ReactNode }) {
  return <p className="m-auto p-8 text-sm text-slate-500">{children ?? t('common.loading')}</p>
}

/** Sends the browser to `to` when the rendered page is not the one in the address bar. */
function useRedirect(route: Route, to: Route | null): void {
  useEffect(() => {
    if (to !== null && to !== route) navigate(to, { replace: true })
  }, [route, to])
}

export function App() {
  const route = useRoute()
  const signedIn = useAuthStore((s) => s.session !== null)
  const setup = useSetupStatus()
  useSessionKeeper()

  let target: Route | null = null
  // An invitation's link works whether someone is signed in on this browser or not.
  if (route === '/set-password') target = null
  else if (setup.data?.needed) target = '/setup'
  else if (setup.data && !signedIn) target = '/login'
  else if (setup.data && signedIn && (route === '/login' || route === '/setup')) target = '/'
  useRedirect(route, target)

  if (route === '/set-password') {
    return (
      <SetPasswordPage
        onSignedIn={(pair) => {
          signIn(pair)
          navigate('/', { replace: true })
        }}
        onSignIn={() => navigate('/login', { replace: true })}
      />
    )
  }

  if (setup.isPending) return <Splash />
  if (setup.isError && !signedIn) {
    // Cannot tell whether set-up is needed (server down?): offer the sign-in page.
    return <LoginPage onSignedIn={() => navigate('/', { replace: true })} />
  }
  if (setup.data?.needed) {
    return (
      <SetupPage
        onCreated={(pair) => {
          signIn(pair)
          void setup.refetch()
          navigate('/', { replace: true })
        }}
        onAlreadyDone={() => {
          void setup.refetch()
        }}
      />
    )
  }
  if (!signedIn) return <LoginPage onSignedIn={() => navigate('/', { replace: true })} />
  return <SignedIn route={route} />
}

const adminPages: Record<AdminPage, AdminRoute> = {
  users: '/admin/users',
  teams: '/admin/teams',
  canned: '/admin/canned',
  numbers: '/admin/numbers',
  webhooks: '/admin/webhooks',
  settings: '/admin/settings',
  audit: '/admin/audit',
  customers: '/admin/customers',
  modules: '/admin/modules',
}

function pageOf(route: AdminRoute): AdminPage {
  return route.slice('/admin/'.length) as AdminPage
}

const SECTIONS = [
  ['/', 'admin.viewDesk'],
  ['/flows', 'admin.viewFlows'],
  ['/ops', 'admin.viewOps'],
  ['/admin/users', 'admin.viewAdmin'],
] as const

function sectionOf(route: Route): Route {
  if (isAdminRoute(route)) return '/admin/users'
  if (isFlowsRoute(route)) return '/flows'
  return route
}

/** The header's switch between the desk and the sections the user's role may open. */
function ViewSwitch({ role, route }: { role: Role; route: Route }) {
  const shown = SECTIONS.filter(([to]) => mayOpen(role, to))
  if (shown.length < 2) return null
  const section = sectionOf(route)
  return (
    <nav aria-label={t('admin.views')} className="flex min-w-0 gap-1 overflow-x-auto text-sm">
      {shown.map(([to, label]) => {
        const current = to === section
        return (
          <a
            key={to}
            href={to}
            aria-current={current ? 'page' : undefined}
            onClick={(e) => {
              if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return
              e.preventDefault()
              navigate(to)
            }}
            className={`rounded px-3 py-1 font-medium whitespace-nowrap focus-visible:outline-2 focus-visible:outline-white ${
              current ? 'bg-white text-slate-900' : 'text-slate-200 hover:bg-slate-700'
            }`}
          >
            {t(label)}
          </a>
        )
      })}
    </nav>
  )
}

function SignedIn({ route }: { route: Route }) {
  const me = useMe()
  const role: Role = me.data?.role ?? 'agent'
  // A section the role may not open sends the user to the desk.
  useRedirect(route, me.data && !mayOpen(role, route) ? '/' : null)
  if (me.isPending) return <Splash />
  if (me.isError) return <Splash>{t('common.error', { detail: me.error.message })}</Splash>
  return (
    <div className="flex h-full flex-col">
      <header className="flex items-center gap-2 border-b border-slate-200 bg-slate-900 px-3 py-2 text-white sm:gap-4 sm:px-4">
        <span className="font-semibold">{t('app.name')}</span>
        <ViewSwitch role={role} route={route} />
        {/* On a phone the name gives way to the views and the sign-out button. */}
        <span className="ml-auto hidden truncate text-sm text-slate-300 sm:inline">{t('desk.signedInAs', { name: me.data.name })}</span>
        <div className="ml-auto shrink-0 rounded bg-white sm:ml-0">
          <SignOutButton />
        </div>
      </header>
      <Section route={route} role={role} userId={me.data.id} />
    </div>
  )
}

function Section({ route, role, userId }: { route: Route; role: Role; userId: number }) {
  if (!mayOpen(role, route) || !(isAdminRoute(route) || isFlowsRoute(route) || route === '/ops')) {
    return <Desk key={userId} userId={userId} role={role} />
  }
  return (
    <Suspense fallback={<Splash />}>
      {isAdminRoute(route) ? (
        <AdminPanel page={pageOf(route)} onPage={(page) => navigate(adminPages[page])} userId={userId} />
      ) : isFlowsRoute(route) ? (
        <FlowsPage flow={flowOf(route)} onOpen={(flow) => navigate(flowRoute(flow))} />
      ) : (
        <OpsDashboard admin={role === 'admin'} />
      )}
    </Suspense>
  )
}
