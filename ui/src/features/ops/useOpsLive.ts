import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useMemo, useState } from 'react'
import { apiFetch, getAccessToken, refreshAccessToken } from '@/lib/api'
import { keys, liveUrl, type OpsStats, type Point, type Supervision } from './api'
import { OpsLiveSocket, type LiveState } from './live-socket'
import { asSupervision, mergeSeries } from './model'

export interface OpsLive {
  state: LiveState
  /** Why the live feed gave up (a role without the permission, a session that ended). */
  refused: string | null
  loadError: unknown
  /** Seconds since the epoch of the newest numbers. */
  at: number | null
  window: number
  interval: number
  current: Point | null
  series: Point[]
  supervision: Supervision | null
}

interface Tick {
  at: number | null
  window: number
  interval: number
  current: Point | null
  supervision: Supervision | null
}

/** The stats route's answer once, then the live socket's ticks on top of it. */
export function useOpsLive(): OpsLive {
  const queryClient = useQueryClient()
  const stats = useQuery({
    queryKey: keys.stats,
    queryFn: ({ signal }) => apiFetch<OpsStats>('/api/v1/ops/stats', { signal }),
    staleTime: Infinity,
  })
  const [state, setState] = useState<LiveState>('connecting')
  const [refused, setRefused] = useState<string | null>(null)
  const [tick, setTick] = useState<Tick | null>(null)
  const [points, setPoints] = useState<Point[]>([])

  useEffect(() => {
    let wasLive = false
    const socket = new OpsLiveSocket({
      url: liveUrl,
      getToken: getAccessToken,
      getFreshToken: refreshAccessToken,
      onState: (next) => {
        setState(next)
        // Back after a gap: the route has the windows missed meanwhile.
        if (next === 'live' && wasLive) void queryClient.invalidateQueries({ queryKey: keys.stats })
        if (next === 'live') wasLive = true
      },
      onFatal: (_code, reason) => setRefused(reason),
      onFrame: (frame) => {
        if (frame.type !== 'tick') return
        setTick({ at: frame.at, window: frame.window, interval: frame.interval, current: frame.current, supervision: frame.supervision })
        const point = frame.point
        if (point) setPoints((prev) => (prev.at(-1)?.at === point.at ? prev : mergeSeries(prev, [point])))
      },
    })
    socket.start()
    return () => socket.stop()
  }, [queryClient])

  const data = stats.data
  const series = useMemo(() => mergeSeries(data?.series ?? [], points), [data, points])
  return {
    state,
    refused,
    loadError: stats.error,
    at: tick?.at ?? data?.at ?? null,
    window: tick?.window ?? data?.window ?? 10,
    interval: tick?.interval ?? data?.interval ?? 1,
    current: tick?.current ?? data?.current ?? null,
    series,
    supervision: tick?.supervision ?? asSupervision(data?.supervision),
  }
}
