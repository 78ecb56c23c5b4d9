import type { SocketFactory, SocketLike } from '@/lib/agent-socket'
import type { LiveFrame } from './api'
import { backoffDelay, parseFrame } from './model'

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline'

export interface OpsLiveOptions {
  /** The socket's URL for an access token (see `liveUrl`). */
  url: (token: string) => string
  getToken: () => string | null
  /** Asked after a 4401 close: a new access token, or null when the session is over. */
  getFreshToken: () => Promise<string | null>
  onFrame: (frame: LiveFrame) => void
  onState: (state: LiveState) => void
  /** A close that retrying cannot fix: a role without `ops:read`, a session that ended. */
  onFatal?: (code: number, reason: string) => void
  createSocket?: SocketFactory
  random?: () => number
  pingIntervalMs?: number
  /** No tick for this long (a half-open connection, a stalled proxy): reconnect. */
  staleAfterMs?: number
}

const CLOSE_UNAUTHORIZED = 4401
const CLOSE_FORBIDDEN = 4403

/**
 * The dashboard's live feed (docs/operations.md), independent of React: connects with the
 * access token, reports its state, reconnects by itself with jittered back-off (a 4401 close
 * first trades the token for a fresh one), pings to keep proxies from closing an idle
 * connection, and reconnects when ticks stop coming.
 */
export class OpsLiveSocket {
  private readonly opts: OpsLiveOptions
  private socket: SocketLike | null = null
  private stopped = true
  private attempts = 0
  private authRetries = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private staleTimer: ReturnType<typeof setTimeout> | null = null
  private current: LiveState = 'offline'

  constructor(options: OpsLiveOptions) {
    this.opts = options
  }

  get state(): LiveState {
    return this.current
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.attempts = 0
    this.open('connecting')
  }

  stop(): void {
    this.stopped = true
    this.clearTimers()
    const socket = this.socket
    this.socket = null
    if (socket) {
      socket.onclose = null
      socket.onmessage = null
      socket.close(1000, 'leaving')
    }
    this.setState('offline')
  }

  private setState(state: LiveState): void {
    if (state === this.current) return
    this.current = state
    this.opts.onState(state)
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    if (this.staleTimer !== null) clearTimeout(this.staleTimer)
    this.retryTimer = this.pingTimer = this.staleTimer = null
  }

  private open(state: LiveState): void {
    this.setState(state)
    const create = this.opts.createSocket ?? ((url: string) => new WebSocket(url))
    const socket = create(this.opts.url(this.opts.getToken() ?? ''))
    this.socket = socket
    socket.onmessage = (event: MessageEvent) => this.received(event.data)
    socket.onclose = (event: CloseEvent) => {
      if (this.socket === socket) void this.closed(event.code, event.reason)
    }
    socket.onerror = () => undefined // a close event follows; it decides what to do
    this.watch()
  }

  private watch(): void {
    if (this.staleTimer !== null) clearTimeout(this.staleTimer)
    this.staleTimer = setTimeout(() => this.socket?.close(4000, 'no ticks'), this.opts.staleAfterMs ?? 15_000)
  }

  private received(raw: unknown): void {
    const frame = parseFrame(raw)
    if (!frame) return
    this.watch()
    if (frame.type === 'welcome') {
      this.attempts = 0
      this.authRetries = 0
      this.setState('live')
      if (this.pingTimer !== null) clearInterval(this.pingTimer)
      this.pingTimer = setInterval(() => {
        if (this.socket?.readyState === 1) this.socket.send(JSON.stringify({ type: 'ping' }))
      }, this.opts.pingIntervalMs ?? 20_000)
    }
    this.opts.onFrame(frame)
  }

  private async closed(code: number, reason: string): Promise<void> {
    this.socket = null
    this.clearTimers()
    if (this.stopped) return
    if (code === CLOSE_FORBIDDEN) {
      this.fatal(code, reason)
      return
    }
    if (code === CLOSE_UNAUTHORIZED) {
      this.authRetries += 1
      const token = this.authRetries <= 2 ? await this.opts.getFreshToken() : null
      if (this.stopped) return
      if (!token) {
        this.fatal(code, reason)
        return
      }
      this.open('reconnecting')
      return
    }
    this.setState('reconnecting')
    const delay = backoffDelay(this.attempts, this.opts.random)
    this.attempts += 1
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.stopped) this.open('reconnecting')
    }, delay)
  }

  private fatal(code: number, reason: string): void {
    this.stopped = true
    this.setState('offline')
    this.opts.onFatal?.(code, reason)
  }
}
