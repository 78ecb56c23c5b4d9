import { useEffect } from 'react'
import { refreshSession, useAuthStore } from './session'

/** Refreshes the access token silently before it expires (also after the tab slept). */
export function useSessionKeeper(): void {
  const refreshAt = useAuthStore((s) => s.session?.refreshAt ?? null)

  useEffect(() => {
    if (refreshAt === null) return
    let timer: ReturnType<typeof setTimeout> | null = null
    let retryDelay = 5_000

    const run = () => {
      refreshSession().catch(() => {
        // offline: try again a little later
        timer = setTimeout(run, retryDelay)
        retryDelay = Math.min(retryDelay * 2, 60_000)
      })
    }
    const schedule = () => {
      if (timer !== null) clearTimeout(timer)
      timer = setTimeout(run, Math.max(0, refreshAt - Date.now()))
    }
    const onVisible = () => {
      if (document.visibilityState === 'visible' && Date.now() >= refreshAt) run()
    }
    schedule()
    document.addEventListener('visibilitychange', onVisible)
    return () => {
      if (timer !== null) clearTimeout(timer)
      document.removeEventListener('visibilitychange', onVisible)
    }
  }, [refreshAt])
}
