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
