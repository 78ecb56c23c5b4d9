import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AgentSocket, CommandRejectedError, DisconnectedError, lastSeqKey } from './client'
import type { AgentEvent, ConnectionState, SocketLike } from './types'

class FakeSocket implements SocketLike {
  readyState = 0
  onopen: ((ev: Event) => unknown) | null = null
  onmessage: ((ev: MessageEvent) => unknown) | null = null
  onclose: ((ev: CloseEvent) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  sent: Record<string, unknown>[] = []
  closedWith: number | null = null

  constructor(readonly url: string) {}

  get lastSeqParam(): number {
    return Number(new URL(this.url).searchParams.get('last_seq'))
  }

  get tokenParam(): string | null {
    return new URL(this.url).searchParams.get('token')
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close(code?: number): void {
    this.closedWith = code ?? 1000
    this.readyState = 3
  }

  // -- driven by the test --
  open(): void {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent)
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason } as CloseEvent)
  }

  welcome(resumeFrom: number, lastSeq = resumeFrom): void {
    this.receive({ type: 'welcome', agent_id: 12, role: 'agent', resume_from: resumeFrom, last_seq: lastSeq, commands: [] })
  }
}

function event(seq: number, conversationId = 42): AgentEvent {
  return {
    seq,
    type: 'message.new',
    data: {
      conversation: 'p:7',
      conversation_id: conversationId,
      message_id: 100 + seq,
      wamid: `w${String(seq)}`,
      type: 'text',
      text: `m${String(seq)}`,
      timestamp: 1,
    },
    at: 1,
  }
}

function setup(overrides: Partial<ConstructorParameters<typeof AgentSocket>[0]> = {}) {
  const sockets: FakeSocket[] = []
  const applied: number[] = []
  const states: ConnectionState[] = []
  const target = new EventTarget()
  const getFreshToken = vi.fn(() => Promise.resolve<string | null>('fresh'))
  const client = new AgentSocket({
    userId: 12,
    url: (token, lastSeq) => `ws://test/ws/agent?token=${token}&last_seq=${String(lastSeq)}`,
    getFreshToken,
    createSocket: (url) => {
      const s = new FakeSocket(url)
      sockets.push(s)
      return s
    },
    onEvent: (e) => applied.push(e.seq),
    onStateChange: (s) => states.push(s),
    storage: localStorage,
    eventTarget: target,
    isOnline: () => true,
    random: () => 0.5,
    ...overrides,
  })
  const current = (): FakeSocket => {
    const s = sockets.at(-1)
    if (!s) throw new Error('no socket')
    return s
  }
  return { client, sockets, applied, states, target, getFreshToken, current }
}

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('AgentSocket', () => {
  it('applies events in seq order and reaches live', () => {
    const { client, applied, states, current } = setup()
    client.connect('tok')
    expect(current().tokenParam).toBe('tok')
    expect(current().lastSeqParam).toBe(0)
    expect(client.state).toBe('connecting')
    current().open()
    current().welcome(0, 3)
    current().receive(event(1))
    current().receive(event(2))
    current().receive(event(3))
    current().receive({ type: 'live', last_seq: 3 })
    expect(applied).toEqual([1, 2, 3])
    expect(client.state).toBe('live')
    expect(states).toEqual(['connecting', 'live'])
    expect(localStorage.getItem(lastSeqKey(12))).toBe('3')
  })

  it('drops duplicates (seq <= last applied)', () => {
    const { client, applied, current } = setup()
    client.connect('tok')
    current().open()
    current().welcome(0)
    current().receive(event(1))
    current().receive(event(2))
    current().receive(event(2))
    current().receive(event(1))
    current().receive(event(3))
    expect(applied).toEqual([1, 2, 3])
    expect(client.lastSeq).toBe(3)
  })

  it('resumes from the seq stored for this user after a reload', () => {
    localStorage.setItem(lastSeqKey(12), '41')
    localStorage.setItem(lastSeqKey(99), '7')
    const { client, applied, current } = setup()
    client.connect('tok')
    expect(current().lastSeqParam).toBe(41)
    current().open()
    current().welcome(41)
    current().receive(event(41)) // already applied before the reload
    current().receive(event(42))
    expect(applied).toEqual([42])
    expect(localStorage.getItem(lastSeqKey(12))).toBe('42')
    expect(localStorage.getItem(lastSeqKey(99))).toBe('7')
  })

  it('on a gap, reconnects with its last seq instead of applying out of order', () => {
    const { client, sockets, applied, current } = setup()
    client.connect('tok')
    const first = current()
    first.open()
    first.welcome(0)
    first.receive(event(1))
    first.receive(event(3)) // 2 is missing
    first.receive(event(4))
    expect(applied).toEqual([1])
    expect(first.closedWith).not.toBeNull()
    vi.advanceTimersByTime(0)
    expect(sockets).toHaveLength(2)
    const second = current()
    expect(second.lastSeqParam).toBe(1)
    second.open()
    second.welcome(1)
    second.receive(event(2))
    second.receive(event(3))
    second.receive({ type: 'live', last_seq: 3 })
    expect(applied).toEqual([1, 2, 3])
    expect(client.state).toBe('live')
  })

  it('takes resume_from when the server does not know our seq, and signals a reset', () => {
    localStorage.setItem(lastSeqKey(12), '50')
    const onReset = vi.fn()
    const { client, applied, current } = setup({ onReset })
    client.connect('tok')
    current().open()
    current().welcome(0, 2)
    current().receive(event(1))
    current().receive(event(2))
    expect(onReset).toHaveBeenCalledOnce()
    expect(applied).toEqual([1, 2])
  })

  it('delivers a replay in batches, one per scheduled frame, the last event at once', () => {
    const due: (() => void)[] = []
    const batches: number[][] = []
    const { client, applied, current } = setup({
      schedule: (deliver) => due.push(deliver),
      onEvents: (events) => batches.push(events.map((e) => e.seq)),
    })
    client.connect('tok')
    current().open()
    current().welcome(0, 200)
    for (let seq = 1; seq <= 150; seq += 1) current().receive(event(seq))
    // Waiting for the frame: nothing delivered, nothing saved, one frame asked for.
    expect(applied).toEqual([])
    expect(due).toHaveLength(1)
    expect(localStorage.getItem(lastSeqKey(12))).toBeNull()
    expect(client.lastSeq).toBe(150)
    due.shift()?.()
    expect(batches).toEqual([Array.from({ length: 150 }, (_, i) => i + 1)])
    expect(localStorage.getItem(lastSeqKey(12))).toBe('150')
    for (let seq = 151; seq <= 200; seq += 1) current().receive(event(seq))
    // The replay's last event (the welcome's last_seq) delivers its batch at once.
    expect(batches).toHaveLength(2)
    expect(batches[1]).toHaveLength(50)
    expect(applied).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(localStorage.getItem(lastSeqKey(12))).toBe('200')
    due.shift()?.() // the frame asked for meanwhile finds nothing waiting
    current().receive({ type: 'live', last_seq: 200 })
    // Live events come one at a time, at once.
    current().receive(event(201))
    current().receive(event(202))
    expect(batches.slice(2)).toEqual([[201], [202]])
    expect(due).toHaveLength(0)
  })

  it('delivers waiting events before any other frame: the state goes live after them', () => {
    const due: (() => void)[] = []
    const seen: string[] = []
    const { client, current } = setup({
      schedule: (deliver) => due.push(deliver),
      onEvents: (events) => seen.push(`events ${events.map((e) => String(e.seq)).join(',')}`),
      onStateChange: (state) => seen.push(state),
    })
    client.connect('tok')
    current().open()
    current().welcome(0, 9)
    current().receive(event(1))
    current().receive(event(2))
    current().receive({ type: 'live', last_seq: 2 })
    expect(seen).toEqual(['connecting', 'events 1,2', 'live'])
    expect(localStorage.getItem(lastSeqKey(12))).toBe('2')
  })

  it('delivers the waiting events when closed', () => {
    const { client, applied, current } = setup({ schedule: () => undefined })
    client.connect('tok')
    current().open()
    current().welcome(0, 10)
    for (const seq of [1, 2, 3]) current().receive(event(seq))
    expect(applied).toEqual([])
    client.close()
    expect(applied).toEqual([1, 2, 3])
    expect(localStorage.getItem(lastSeqKey(12))).toBe('3')
  })

  it('keeps the seq in memory only when told to (the desk saves it with its inbox)', () => {
    const { client, current } = setup({ storage: null })
    client.connect('tok', 40)
    current().open()
    current().welcome(40)
    current().receive(event(41))
    expect(client.lastSeq).toBe(41)
    expect(localStorage.getItem(lastSeqKey(12))).toBeNull()
    current().serverClose(1006)
    vi.advanceTimersByTime(1000)
    expect(current().lastSeqParam).toBe(41)
  })

  it('matches ack and rejected answers to commands by id', async () => {
    const { client, current } = setup()
    client.connect('tok')
    current().open()
    const accept = client.send({ type: 'accept', conversation_id: 42 })
    const resolve = client.send({ type: 'resolve', conversation_id: 99 })
    const [c1, c2] = current().sent
    expect(c1).toMatchObject({ type: 'accept', conversation_id: 42 })
    expect(c2).toMatchObject({ type: 'resolve', conversation_id: 99 })
    expect(c1?.id).not.toEqual(c2?.id)
    // Answers arrive in any order.
    current().receive({ type: 'rejected', id: c2?.id, reason: 'no conversation 99', code: 'not_found' })
    current().receive({ type: 'ack', id: c1?.id, data: { conversation_id: 42 } })
    await expect(accept).resolves.toEqual({ conversation_id: 42 })
    const error: unknown = await resolve.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CommandRejectedError)
    expect(error).toMatchObject({ code: 'not_found', reason: 'no conversation 99' })
  })

  it('rejects pending commands on disconnect, and sends nothing while closed', async () => {
    const { client, current } = setup()
    client.connect('tok')
    current().open()
    const send = client.send({ type: 'send', conversation_id: 1, content: { type: 'text', text: 'hi' } })
    current().serverClose(1006)
    await expect(send).rejects.toBeInstanceOf(DisconnectedError)
    await expect(client.send({ type: 'accept', conversation_id: 1 })).rejects.toBeInstanceOf(DisconnectedError)
  })

  it('reconnects with back-off after a drop, and at once on the online event', () => {
    const { client, sockets, current, target } = setup()
    client.connect('tok')
    current().open()
    current().serverClose(1006)
    expect(client.state).toBe('reconnecting')
    // 500 ms base, jitter 0.5 → 375 ms
    vi.advanceTimersByTime(374)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)
    current().serverClose(1006)
    vi.advanceTimersByTime(100)
    expect(sockets).toHaveLength(2)
    target.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(3)
  })

  it('goes offline on the offline event and resumes from its last seq on online', () => {
    const { client, sockets, current, target, applied } = setup()
    client.connect('tok')
    const first = current()
    first.open()
    first.welcome(0)
    first.receive(event(1))
    first.receive({ type: 'live', last_seq: 1 })
    target.dispatchEvent(new Event('offline'))
    expect(client.state).toBe('offline')
    expect(first.closedWith).not.toBeNull()
    vi.advanceTimersByTime(60_000)
    expect(sockets).toHaveLength(1)
    target.dispatchEvent(new Event('online'))
    expect(sockets).toHaveLength(2)
    expect(current().lastSeqParam).toBe(1)
    expect(client.state).toBe('reconnecting')
    current().open()
    current().welcome(1)
    current().receive(event(2))
    current().receive({ type: 'live', last_seq: 2 })
    expect(applied).toEqual([1, 2])
    expect(client.state).toBe('live')
  })

  it('pings every 20 s', () => {
    const { client, current } = setup()
    client.connect('tok')
    current().open()
    vi.advanceTimersByTime(20_000)
    expect(current().sent).toEqual([{ type: 'ping', id: 'p1' }])
  })

  it('on 4401 asks for a fresh token and reconnects with the last seq', async () => {
    const { client, sockets, current, getFreshToken } = setup()
    client.connect('old')
    current().open()
    current().welcome(0)
    current().receive(event(1))
    current().serverClose(4401, 'token_expired: reconnect with a new access token')
    await vi.waitFor(() => expect(sockets).toHaveLength(2))
    expect(getFreshToken).toHaveBeenCalledOnce()
    expect(current().tokenParam).toBe('fresh')
    expect(current().lastSeqParam).toBe(1)
  })

  it('hands team.conversation frames to its listeners, and state changes too', () => {
    const { client, sockets } = setup()
    const changes: number[] = []
    const states: ConnectionState[] = []
    const stop = client.onTeamChange((c) => changes.push(c.conversation_id))
    const stopStates = client.onStateChange((s) => states.push(s))
    client.connect('tok')
    const socket = sockets[0]!
    socket.open()
    socket.welcome(0)
    socket.receive({ type: 'live', last_seq: 0 })
    socket.receive({ type: 'team.conversation', data: { conversation_id: 7, team: '3', owner: 'queued', agent: null, priority: 0, labels: [], status: 'open' } })
    socket.receive({ type: 'team.conversation', data: { team: '3' } })
    stop()
    stopStates()
    socket.receive({ type: 'team.conversation', data: { conversation_id: 8, team: '3', owner: 'queued', agent: null, priority: 0, labels: [], status: 'open' } })
    expect(changes).toEqual([7])
    expect(states).toContain('live')
  })

  it('gives up on 4403 and when no fresh token can be had', async () => {
    const onFatal = vi.fn()
    const a = setup({ onFatal })
    a.client.connect('tok')
    a.current().serverClose(4403, 'role x cannot use the agent desk')
    expect(a.client.state).toBe('offline')
    expect(onFatal).toHaveBeenCalledWith(4403, 'role x cannot use the agent desk')
    vi.advanceTimersByTime(60_000)
    expect(a.sockets).toHaveLength(1)

    const b = setup({ onFatal, getFreshToken: () => Promise.resolve(null) })
    b.client.connect('tok')
    b.current().serverClose(4401)
    await vi.waitFor(() => expect(b.client.state).toBe('offline'))
    expect(b.sockets).toHaveLength(1)
  })
})
