import type {
  AckData,
  AgentCommand,
  AgentEvent,
  ConnectionState,
  SeqStorage,
  SocketFactory,
  SocketLike,
  TeamConversation,
  WelcomeFrame,
} from './types'

const OPEN = 1

/** A command the server answered with `rejected`. */
export class CommandRejectedError extends Error {
  readonly code: string
  readonly reason: string
  readonly retryAfter: number | undefined

  constructor(reason: string, code: string, retryAfter?: number) {
    super(reason)
    this.name = 'CommandRejectedError'
    this.code = code
    this.reason = reason
    this.retryAfter = retryAfter
  }
}

/** A command that got no answer because the connection was not open or closed meanwhile. */
export class DisconnectedError extends Error {
  readonly code = 'disconnected'

  constructor(message = 'not connected to the server') {
    super(message)
    this.name = 'DisconnectedError'
  }
}

export interface AgentSocketOptions {
  /** The signed-in user; the last processed seq is stored per user. */
  userId: string | number
  /** Builds the socket URL, e.g. `ws://host/ws/agent?token=…&last_seq=…`. */
  url: (token: string, lastSeq: number) => string
  /** Asked after a 4401 close: a new access token, or null when the session is over. */
  getFreshToken: () => Promise<string | null>
  /** The current access token for a reconnect (defaults to the last one given). */
  getToken?: () => string | null
  /** Each event, in seq order, when its batch is delivered (see `onEvents`). */
  onEvent?: (event: AgentEvent) => void
  /** The events of one delivery, in seq order, after `onEvent` saw each of them. Live events
   * come one at a time; a replay's (`welcome` → `live`) come in batches, at most one per
   * `schedule` (an animation frame), so that catching up on a thousand events redraws a view
   * a few times instead of a thousand. */
  onEvents?: (events: AgentEvent[]) => void
  /** When to deliver the replayed events received so far (default `nextFrame`); the replay's
   * last event, a `live` frame and any other frame deliver at once whatever is waiting. */
  schedule?: (deliver: () => void) => void
  /** A change in a team this connection watches (`watch_teams`; no seq, not replayed). */
  onTeamChange?: (change: TeamConversation) => void
  onWelcome?: (welcome: WelcomeFrame) => void
  /** The server's numbering is not the one we knew: drop state built from events. */
  onReset?: () => void
  onStateChange?: (state: ConnectionState) => void
  /** A close that retrying cannot fix (4400, 4403) or a session that ended. */
  onFatal?: (code: number, reason: string) => void
  createSocket?: SocketFactory
  /** Where the last delivered seq is kept (`localStorage` by default); null keeps it in
   * memory only, for a caller that saves it beside the state built from the events. */
  storage?: SeqStorage | null
  /** Where `online`/`offline` events come from (the window). */
  eventTarget?: EventTarget | null
  isOnline?: () => boolean
  pingIntervalMs?: number
  backoffInitialMs?: number
  backoffMaxMs?: number
  random?: () => number
}

interface Pending {
  resolve: (data: AckData) => void
  reject: (error: Error) => void
}

export function lastSeqKey(userId: string | number): string {
  return `pytake.agent.lastSeq.${String(userId)}`
}

function defaultStorage(): SeqStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null
  }
}

/** How long a replay's batch waits at most when the page draws no frames (a hidden tab). */
const FRAME_FALLBACK_MS = 100

/** Runs ``deliver`` at the next animation frame, or after `FRAME_FALLBACK_MS` when no frame
 * comes first (hidden pages get none; outside a browser there are none). */
export function nextFrame(deliver: () => void): void {
  let done = false
  const once = () => {
    if (done) return
    done = true
    deliver()
  }
  const visible = typeof document === 'undefined' || document.visibilityState !== 'hidden'
  if (visible && typeof requestAnimationFrame === 'function') requestAnimationFrame(once)
  setTimeout(once, FRAME_FALLBACK_MS)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The agent desk's protocol client (docs/agent-protocol.md), independent of React.
 *
 * Applies events strictly in seq order (duplicates dropped, a gap reconnects from the last
 * applied seq), delivers a replay's events in batches (`onEvents`), keeps the last delivered
 * seq per user in storage, reconnects with jittered exponential back-off (at once on the
 * window's `online` event), pings every 20 s, refreshes the token on a 4401 close, and
 * matches command answers (`ack`/`rejected`) by id.
 */
export class AgentSocket {
  private readonly opts: AgentSocketOptions
  private readonly storage: SeqStorage | null
  private readonly createSocket: SocketFactory
  private readonly schedule: (deliver: () => void) => void
  private socket: SocketLike | null = null
  private token: string | null = null
  /** The last event accepted in order: delivered, or waiting in `queue` to be. */
  private seq = 0
  /** Accepted events not delivered yet (a replay's, until its batch is due). */
  private queue: AgentEvent[] = []
  private deliveryScheduled = false
  /** The replay of the current connection runs to this seq (the welcome's `last_seq`). */
  private catchUpTo = 0
  private connState: ConnectionState = 'offline'
  private stopped = true
  private attempts = 0
  private authRetries = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private nextCommandId = 0
  private nextPingId = 0
  private readonly pending = new Map<string, Pending>()
  private listening = false
  private readonly teamListeners = new Set<(change: TeamConversation) => void>()
  private readonly stateListeners = new Set<(state: ConnectionState) => void>()

  constructor(options: AgentSocketOptions) {
    this.opts = options
    this.storage = options.storage === undefined ? defaultStorage() : options.storage
    this.createSocket =
      options.createSocket ?? ((url: string) => new WebSocket(url))
    this.schedule = options.schedule ?? nextFrame
    this.seq = this.loadSeq()
  }

  get state(): ConnectionState {
    return this.connState
  }

  /** The highest seq accepted in order (delivered, or to be at the next `flush`). */
  get lastSeq(): number {
    return this.seq
  }

  /** Delivers at once the events waiting for their batch (before the page goes away). */
  flush(): void {
    if (this.queue.length === 0) return
    const batch = this.queue
    this.queue = []
    for (const event of batch) {
      try {
        this.opts.onEvent?.(event)
      } catch (error) {
        console.error('agent socket: event handler failed', error)
      }
    }
    try {
      this.opts.onEvents?.(batch)
    } catch (error) {
      console.error('agent socket: event handler failed', error)
    }
    const last = batch.at(-1)
    if (last) this.saveSeq(last.seq)
  }

  /** Opens the connection; `lastSeq` defaults to the one stored for this user. */
  connect(token: string, lastSeq?: number): void {
    this.token = token
    if (lastSeq !== undefined) this.setSeq(lastSeq)
    else this.seq = this.loadSeq()
    this.stopped = false
    this.attempts = 0
    this.authRetries = 0
    this.listen()
    this.open('connecting')
  }

  /** Calls ``listener`` with each `team.conversation` frame until the returned function is
   * called. */
  onTeamChange(listener: (change: TeamConversation) => void): () => void {
    this.teamListeners.add(listener)
    return () => this.teamListeners.delete(listener)
  }

  /** Calls ``listener`` on each connection state change until the returned function is
   * called (a view that must ask again after a reconnect: the team feed). */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener)
    return () => this.stateListeners.delete(listener)
  }

  /** Closes for good (sign-out, unmount), after delivering the events received. Pending
   * commands are rejected. */
  close(): void {
    this.flush()
    this.stopped = true
    this.unlisten()
    this.clearReconnect()
    this.dropSocket(1000, 'client closed')
    this.setState('offline')
  }

  /** Sends a command; resolved with the `ack` data, rejected by `rejected` or a disconnect. */
  send(command: AgentCommand): Promise<AckData> {
    const socket = this.socket
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(new DisconnectedError())
    }
    this.nextCommandId += 1
    const id = `c${String(this.nextCommandId)}`
    return new Promise<AckData>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      try {
        socket.send(JSON.stringify({ ...command, id }))
      } catch (error) {
        this.pending.delete(id)
        reject(error instanceof Error ? error : new DisconnectedError())
      }
    })
  }

  // -- connection -------------------------------------------------------------------------

  private open(state: ConnectionState): void {
    this.clearReconnect()
    this.dropSocket(1000, 'reconnecting')
    if (this.stopped) return
    const token = this.opts.getToken?.() ?? this.token
    if (!token) {
      this.fatal(4401, 'no access token')
      return
    }
    this.token = token
    this.setState(state)
    let socket: SocketLike
    try {
      socket = this.createSocket(this.opts.url(token, this.seq))
    } catch {
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    socket.onopen = () => {
      if (socket !== this.socket) return
      this.startPing()
    }
    socket.onmessage = (ev: MessageEvent) => {
      if (socket !== this.socket) return
      this.onMessage(ev.data)
    }
    socket.onerror = () => {
      // A close event follows; nothing to do here.
    }
    socket.onclose = (ev: CloseEvent) => {
      if (socket !== this.socket) return
      this.socket = null
      this.stopPing()
      this.rejectPending()
      this.onClose(ev.code, ev.reason)
    }
  }

  private onClose(code: number, reason: string): void {
    if (this.stopped) return
    if (code === 4400 || code === 4403) {
      this.fatal(code, reason)
      return
    }
    if (code === 4401) {
      void this.refreshAndReconnect()
      return
    }
    this.scheduleReconnect()
  }

  private async refreshAndReconnect(): Promise<void> {
    this.setState('reconnecting')
    this.authRetries += 1
    let token: string | null
    try {
      token = await this.opts.getFreshToken()
    } catch {
      // The refresh itself failed (network?): the session may still be fine, try again later.
      if (!this.stopped) this.scheduleReconnect()
      return
    }
    if (this.stopped) return
    if (!token) {
      this.fatal(4401, 'session ended')
      return
    }
    this.token = token
    // The server keeps refusing fresh tokens (clock skew?): slow down with the back-off.
    if (this.authRetries <= 2) this.open('reconnecting')
    else this.scheduleReconnect()
  }

  private scheduleReconnect(immediate = false): void {
    this.clearReconnect()
    if (this.stopped) return
    const online = this.opts.isOnline?.() ?? (typeof navigator === 'undefined' || navigator.onLine)
    if (!online) {
      // Wait for the window's `online` event.
      this.setState('offline')
      return
    }
    this.setState('reconnecting')
    const initial = this.opts.backoffInitialMs ?? 500
    const max = this.opts.backoffMaxMs ?? 10_000
    const base = Math.min(max, initial * 2 ** this.attempts)
    const random = this.opts.random ?? Math.random
    const delay = immediate ? 0 : base / 2 + random() * (base / 2)
    this.attempts += 1
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.open('reconnecting')
    }, delay)
  }

  private fatal(code: number, reason: string): void {
    this.stopped = true
    this.unlisten()
    this.clearReconnect()
    this.dropSocket(1000, 'giving up')
    this.setState('offline')
    this.opts.onFatal?.(code, reason)
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket
    this.socket = null
    this.stopPing()
    if (socket) {
      socket.onopen = null
      socket.onmessage = null
      socket.onclose = null
      socket.onerror = null
      try {
        socket.close(code, reason)
      } catch {
        // already closed
      }
    }
    this.rejectPending()
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer)
      this.reconnectTimer = null
    }
  }

  private startPing(): void {
    this.stopPing()
    this.pingTimer = setInterval(() => {
      const socket = this.socket
      if (socket?.readyState === OPEN) {
        this.nextPingId += 1
        socket.send(JSON.stringify({ type: 'ping', id: `p${String(this.nextPingId)}` }))
      }
    }, this.opts.pingIntervalMs ?? 20_000)
  }

  private stopPing(): void {
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer)
      this.pingTimer = null
    }
  }

  private rejectPending(): void {
    if (this.pending.size === 0) return
    const waiting = [...this.pending.values()]
    this.pending.clear()
    for (const p of waiting) p.reject(new DisconnectedError('the connection closed before an answer'))
  }

  private readonly handleOnline = (): void => {
    if (this.stopped || this.socket !== null) return
    this.attempts = 0
    this.open('reconnecting')
  }

  private readonly handleOffline = (): void => {
    if (this.stopped) return
    // The browser lost the network: the socket is likely dead without knowing it yet. Drop it
    // and wait for `online`, then resume from the last applied seq.
    this.clearReconnect()
    this.dropSocket(1000, 'browser offline')
    this.setState('offline')
  }

  private listen(): void {
    const target = this.eventTarget()
    if (!target || this.listening) return
    target.addEventListener('online', this.handleOnline)
    target.addEventListener('offline', this.handleOffline)
    this.listening = true
  }

  private unlisten(): void {
    const target = this.eventTarget()
    if (!target || !this.listening) return
    target.removeEventListener('online', this.handleOnline)
    target.removeEventListener('offline', this.handleOffline)
    this.listening = false
  }

  private eventTarget(): EventTarget | null {
    if (this.opts.eventTarget !== undefined) return this.opts.eventTarget
    return typeof window === 'undefined' ? null : window
  }

  private setState(state: ConnectionState): void {
    if (state === this.connState) return
    this.connState = state
    this.opts.onStateChange?.(state)
    for (const listener of this.stateListeners) listener(state)
  }

  // -- frames -----------------------------------------------------------------------------

  private onMessage(raw: unknown): void {
    if (typeof raw !== 'string') return
    let frame: unknown
    try {
      frame = JSON.parse(raw)
    } catch {
      return
    }
    if (!isRecord(frame)) return
    if (typeof frame.seq === 'number') {
      this.onEvent(frame as unknown as AgentEvent)
      return
    }
    // Whatever a frame changes (the state going live, a command's answer) comes after the
    // events received before it.
    this.flush()
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame as unknown as WelcomeFrame)
        break
      case 'live':
        this.attempts = 0
        this.authRetries = 0
        this.setState('live')
        break
      case 'ack':
        this.answer(frame.id, (p) => p.resolve(isRecord(frame.data) ? frame.data : {}))
        break
      case 'rejected': {
        const reason = typeof frame.reason === 'string' ? frame.reason : 'rejected'
        const code = typeof frame.code === 'string' ? frame.code : 'invalid'
        const retryAfter = typeof frame.retry_after === 'number' ? frame.retry_after : undefined
        this.answer(frame.id, (p) => p.reject(new CommandRejectedError(reason, code, retryAfter)))
        break
      }
      case 'team.conversation':
        if (isRecord(frame.data) && typeof frame.data.conversation_id === 'number') {
          const change = frame.data as unknown as TeamConversation
          for (const listener of this.teamListeners) listener(change)
          this.opts.onTeamChange?.(change)
        }
        break
      default:
        // pong and frames this client does not know
        break
    }
  }

  private answer(id: unknown, settle: (p: Pending) => void): void {
    if (typeof id !== 'string') return
    const p = this.pending.get(id)
    if (!p) return
    this.pending.delete(id)
    settle(p)
  }

  private onWelcome(welcome: WelcomeFrame): void {
    const resume = typeof welcome.resume_from === 'number' ? welcome.resume_from : 0
    if (resume < this.seq) {
      // The server does not know our seq (another deployment, a restored database).
      if (resume === 0) this.opts.onReset?.()
      this.setSeq(resume)
    }
    this.catchUpTo = typeof welcome.last_seq === 'number' ? welcome.last_seq : 0
    this.opts.onWelcome?.(welcome)
  }

  private onEvent(event: AgentEvent): void {
    if (!Number.isInteger(event.seq)) return
    if (event.seq <= this.seq) return // already applied
    if (event.seq > this.seq + 1) {
      // A gap: never apply out of order; resume from the last applied seq.
      this.dropSocket(4000, 'gap in event seq')
      this.scheduleReconnect(this.attempts === 0)
      return
    }
    this.seq = event.seq
    this.queue.push(event)
    if (event.seq < this.catchUpTo) {
      // Catching up: deliver what arrived by the next frame in one batch.
      if (!this.deliveryScheduled) {
        this.deliveryScheduled = true
        this.schedule(() => {
          this.deliveryScheduled = false
          this.flush()
        })
      }
      return
    }
    // A live event, or the replay's last: at once.
    this.flush()
  }

  // -- storage ----------------------------------------------------------------------------

  private loadSeq(): number {
    const raw = this.storage?.getItem(lastSeqKey(this.opts.userId))
    const value = raw == null ? 0 : Number(raw)
    return Number.isInteger(value) && value >= 0 ? value : 0
  }

  private setSeq(seq: number): void {
    this.seq = seq
    this.saveSeq(seq)
  }

  private saveSeq(seq: number): void {
    try {
      this.storage?.setItem(lastSeqKey(this.opts.userId), String(seq))
    } catch {
      // storage full or unavailable: keep going from memory
    }
  }
}
