import { startTransition, useEffect, useReducer, useRef } from 'react'

// One clock for every reader, ticking once a second while anyone reads it.
const listeners = new Set<() => void>()
let now = Date.now()
let timer: ReturnType<typeof setInterval> | null = null

function current(): number {
  // Between readers the clock stands still: read the time afresh for the first one.
  if (timer === null) now = Date.now()
  return now
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  if (timer === null) {
    now = Date.now()
    timer = setInterval(() => {
      now = Date.now()
      // In the background: 500 waiting times that change together are drawn in slices,
      // between which the browser scrolls and paints.
      startTransition(() => {
        for (const notify of listeners) notify()
      })
    }, 1000)
  }
  return () => {
    listeners.delete(listener)
    if (listeners.size === 0 && timer !== null) {
      clearInterval(timer)
      timer = null
    }
  }
}

/**
 * What ``show`` makes of the current time (ms since the epoch), read again every second. The
 * component is drawn again only when that changes ("5m" stays "5m" for a minute), so a list of
 * 500 waiting times costs 500 small calls a second, not 500 rows drawn again.
 */
export function useClock<T extends string | number>(show: (now: number) => T): T {
  const value = show(current())
  const [, redraw] = useReducer((n: number) => n + 1, 0)
  const shown = useRef({ show, value })
  useEffect(() => {
    shown.current = { show, value }
  })
  useEffect(() => {
    const check = () => {
      if (shown.current.show(now) !== shown.current.value) redraw()
    }
    const stop = subscribe(check)
    // The clock may have moved on between this render and now.
    startTransition(check)
    return stop
  }, [])
  return value
}
