import { useEffect, type ReactNode } from 'react'
import { LoginPage, SignOutButton, signIn, useAuthStore, useMe, useSessionKeeper } from '@/features/auth'
import { Desk } from '@/features/desk'
import { SetupPage, useSetupStatus } from '@/features/setup'
import { t } from '@/lib/i18n'
import { navigate, useRoute, type Route } from './router'

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
  else if (setup.data && signedIn && route !== '/') target = '/'
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
  return <SignedIn />
}

function SignedIn() {
  const me = useMe()
  if (me.isPending) return <Splash />
  if (me.isError) return <Splash>{t('common.error', { detail: me.error.message })}</Splash>
  return (
    <div className="flex h-full flex-col">
      <header className="flex items-center gap-4 border-b border-slate-200 bg-slate-900 px-4 py-2 text-white">
        <span className="font-semibold">{t('app.name')}</span>
        <span className="ml-auto text-sm text-slate-300">{t('desk.signedInAs', { name: me.data.name })}</span>
        <div className="rounded bg-white">
          <SignOutButton />
        </div>
      </header>
      <Desk key={me.data.id} userId={me.data.id} role={me.data.role} />
    </div>
  )
}
