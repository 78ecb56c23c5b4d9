/** Stand-ins the unit tests share: the desk's socket played by the test, and JSON answers
 * for a faked `fetch`. */

/** A WebSocket the test drives: it records what the app sends and delivers what the test
 * makes the server say. Install it with `vi.stubGlobal('WebSocket', FakeWebSocket)`. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = []
  readyState = 0
  onopen: ((ev: Event) => unknown) | null = null
  onmessage: ((ev: MessageEvent) => unknown) | null = null
  onclose: ((ev: CloseEvent) => unknown) | null = null
  onerror: ((ev: Event) => unknown) | null = null
  sent: Record<string, unknown>[] = []

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this)
  }

  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  close() {
    this.readyState = 3
  }

  open() {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }

  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent)
  }
}

/** A JSON answer, as the server gives one. */
export function json(body: unknown, status = 200, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type } })
}

/** A problem document (RFC 9457), as the server answers a refusal. */
export function problem(status: number, detail: string, extra: { code?: string; field?: string } = {}): Response {
  return json({ type: 'about:blank', title: detail, status, detail, error: detail, ...extra }, status, 'application/problem+json')
}

/** A call the app made through a faked `fetch`. */
export interface FetchCall {
  method: string
  url: string
  headers: Record<string, string>
  body: unknown
}

type Answer = (call: FetchCall) => Response | Promise<Response>

/**
 * A `fetch` that answers by route: the first `[method, pattern]` matching the call's method
 * and URL answers it; anything else is a 404. Every call is kept in `calls`, its JSON body
 * parsed. Install it with `vi.stubGlobal('fetch', fake.fetch)`.
 */
export function routedFetch(routes: [string, RegExp, Answer][]) {
  const calls: FetchCall[] = []
  const fetch = (input: string, init: RequestInit = {}): Promise<Response> => {
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : init.body
    const call: FetchCall = {
      method: init.method ?? 'GET',
      url: input,
      headers: (init.headers ?? {}) as Record<string, string>,
      body,
    }
    calls.push(call)
    const route = routes.find(([method, pattern]) => method === call.method && pattern.test(input))
    return Promise.resolve(route ? route[2](call) : problem(404, `no fake for ${call.method} ${input}`))
  }
  return { fetch, calls }
}
