import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SocketLike } from '@/lib/agent-socket'
import type { LiveFrame } from './api'
import { OpsLiveSocket, type LiveState } from './live-socket'

class FakeSocket implements SocketLike {
  readyState = 0
  onopen: ((ev: Event) => unknown) | null = null
  onmessage: ((ev: MessageEvent) => unknown) | null = null
  onclose: ((ev: CloseEvent) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  sent: unknown[] = []
  closedWith: number | null = null

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }

  close(code?: number): void {
    this.closedWith = code ?? 1000
    this.readyState = 3
  }

  receive(frame: unknown): void {
    this.readyState = 1
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent)
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason } as CloseEvent)
  }
}

describe('OpsLiveSocket', () => {
  let sockets: FakeSocket[]
  let states: LiveState[]
  let frames: LiveFrame[]
  let token: string
  let fresh: string | null
  let fatal: [number, string] | null

  function start(): OpsLiveSocket {
    const socket = new OpsLiveSocket({
      url: (tok) => `ws://x/api/v1/ops/live?token=${tok}`,
      getToken: () => token,
      getFreshToken: () => {
        if (fresh) token = fresh
        return Promise.resolve(fresh)
      },
      onFrame: (f) => frames.push(f),
      onState: (s) => states.push(s),
      onFatal: (code, reason) => {
        fatal = [code, reason]
      },
      createSocket: (url) => {
        const s = new FakeSocket(url)
        sockets.push(s)
        return s
      },
      random: () => 0.5,
      pingIntervalMs: 1000,
      staleAfterMs: 5000,
    })
    socket.start()
    return socket
  }

  const latest = () => {
    const s = sockets.at(-1)
    if (!s) throw new Error('no socket')
    return s
  }
  const welcome = { type: 'welcome', role: 'admin', interval: 1 }
  const tick = (n: number) => ({ type: 'tick', tick: n, at: n, interval: 1, window: 10, current: null, supervision: null, point: null })

  beforeEach(() => {
    vi.useFakeTimers()
    sockets = []
    states = []
    frames = []
    token = 'first'
    fresh = 'second'
    fatal = null
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('connects with the token, goes live on welcome and passes ticks on', () => {
    start()
    expect(latest().url).toBe('ws://x/api/v1/ops/live?token=first')
    expect(states).toEqual(['connecting'])
    latest().receive(welcome)
    latest().receive(tick(1))
    latest().receive('garbage')
    expect(states).toEqual(['connecting', 'live'])
    expect(frames.map((f) => f.type)).toEqual(['welcome', 'tick'])
  })

  it('pings while connected', () => {
    start()
    latest().receive(welcome)
    vi.advanceTimersByTime(1000)
    latest().receive(tick(1))
    vi.advanceTimersByTime(1000)
    expect(latest().sent).toEqual([{ type: 'ping' }, { type: 'ping' }])
  })

  it('reconnects by itself with back-off after a drop', () => {
    start()
    latest().receive(welcome)
    latest().serverClose(1006)
    expect(states.at(-1)).toBe('reconnecting')
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(499)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)
    latest().serverClose(1006)
    vi.advanceTimersByTime(999)
    expect(sockets).toHaveLength(2) // the second wait is twice as long
    vi.advanceTimersByTime(1)
    latest().receive(welcome)
    expect(states.at(-1)).toBe('live')
  })

  it('reconnects when the ticks stop coming', () => {
    start()
    latest().receive(welcome)
    vi.advanceTimersByTime(5000)
    expect(latest().closedWith).toBe(4000)
  })

  it('trades an expired token for a fresh one on 4401', async () => {
    start()
    latest().serverClose(4401, 'token_expired')
    await vi.waitFor(() => expect(sockets).toHaveLength(2))
    expect(latest().url).toContain('token=second')
    expect(fatal).toBeNull()
  })

  it('gives up when the session is over or the role may not see operations', async () => {
    fresh = null
    start()
    latest().serverClose(4401, 'token_expired')
    await vi.waitFor(() => expect(fatal).toEqual([4401, 'token_expired']))
    expect(states.at(-1)).toBe('offline')

    fatal = null
    start()
    latest().serverClose(4403, 'role agent cannot see operations')
    expect(fatal).toEqual([4403, 'role agent cannot see operations'])
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(2)
  })

  it('stops for good when asked', () => {
    const socket = start()
    latest().receive(welcome)
    socket.stop()
    expect(latest().closedWith).toBe(1000)
    expect(states.at(-1)).toBe('offline')
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
  })
})
