import { lazy, Suspense, useEffect, type ReactNode } from 'react'
import { LoginPage, SignOutButton, signIn, useAuthStore, useMe, useSessionKeeper } from '@/features/auth'
import type { AdminPage } from '@/features/admin'
import { Desk } from '@/features/desk'
import { SetupPage, useSetupStatus } from '@/features/setup'
import { t } from '@/lib/i18n'
import { isAdminRoute, navigate, useRoute, type AdminRoute, type Route } from './router'

/** Loaded when an admin first opens it: agents never download the panel. */
const AdminPanel = lazy(() => import('@/features/admin').then((m) => ({ default: m.AdminPanel })))

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
  if (setup.data?.needed) target = '/setup'
  else if (setup.data && !signedIn) target = '/login'
  else if (setup.data && signedIn && (route === '/login' || route === '/setup')) target = '/'
  useRedirect(route, target)

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
}

function pageOf(route: AdminRoute): AdminPage {
  return route.slice('/admin/'.length) as AdminPage
}

/** The header's switch between the desk and, for admins only, the admin panel. */
function ViewSwitch({ admin, route }: { admin: boolean; route: Route }) {
  if (!admin) return null
  return (
    <nav aria-label={t('admin.views')} className="flex gap-1 text-sm">
      {(
        [
          ['/', 'admin.viewDesk'],
          ['/admin/users', 'admin.viewAdmin'],
        ] as const
      ).map(([to, label]) => {
        const current = to === '/' ? !isAdminRoute(route) : isAdminRoute(route)
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
            className={`rounded px-3 py-1 font-medium focus-visible:outline-2 focus-visible:outline-white ${
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
  const admin = me.data?.role === 'admin'
  // The admin pages are for admins: anyone else who lands there goes to the desk.
  useRedirect(route, me.data && !admin && isAdminRoute(route) ? '/' : null)
  if (me.isPending) return <Splash />
  if (me.isError) return <Splash>{t('common.error', { detail: me.error.message })}</Splash>
  return (
    <div className="flex h-full flex-col">
      <header className="flex items-center gap-2 border-b border-slate-200 bg-slate-900 px-3 py-2 text-white sm:gap-4 sm:px-4">
        <span className="font-semibold">{t('app.name')}</span>
        <ViewSwitch admin={admin} route={route} />
        {/* On a phone the name gives way to the views and the sign-out button. */}
        <span className="ml-auto hidden truncate text-sm text-slate-300 sm:inline">{t('desk.signedInAs', { name: me.data.name })}</span>
        <div className="ml-auto shrink-0 rounded bg-white sm:ml-0">
          <SignOutButton />
        </div>
      </header>
      {admin && isAdminRoute(route) ? (
        <Suspense fallback={<Splash />}>
          <AdminPanel page={pageOf(route)} onPage={(page) => navigate(adminPages[page])} userId={me.data.id} />
        </Suspense>
      ) : (
        <Desk key={me.data.id} userId={me.data.id} role={me.data.role} />
      )}
    </div>
  )
}
