import { describe, expect, it } from 'vitest'
import type { Point } from './api'
import {
  backoffDelay,
  CHARTS,
  chartRows,
  flattenTree,
  formatValue,
  mergePoint,
  mergeSeries,
  parseFrame,
  sortKinds,
  summarise,
  TILES,
} from './model'

function point(at: number, rates: Record<string, number> = {}, gauges: Record<string, number | null> = {}): Point {
  return { at, seconds: 10, rates, gauges, latency: {} }
}

describe('the hour series', () => {
  it('adds a new point once, and drops what is older than the hour', () => {
    const series = [point(100), point(110)]
    expect(mergePoint(series, point(110))).toBe(series)
    expect(mergePoint(series, null)).toBe(series)
    expect(mergePoint(series, point(120)).map((p) => p.at)).toEqual([100, 110, 120])
    expect(mergePoint(series, point(3705)).map((p) => p.at)).toEqual([110, 3705])
  })

  it('merges the route answer with live points, by time, without duplicates', () => {
    const merged = mergeSeries([point(10), point(20)], [point(20, { messages_in: 2 }), point(30)])
    expect(merged.map((p) => p.at)).toEqual([10, 20, 30])
    expect(merged[1]?.rates.messages_in).toBe(2) // the live one wins: it is the newer reading
    expect(mergeSeries([], [])).toEqual([])
    expect(mergeSeries([point(0)], [point(5000)], 3600).map((p) => p.at)).toEqual([5000])
  })
})

describe('tiles and charts', () => {
  it('reads every tile from a point, none when the number is missing', () => {
    const now: Point = {
      at: 1,
      seconds: 10,
      rates: { messages_in: 4.25, messages_out: 3 },
      gauges: { queue_waiting: 7, outbox_backlog: null },
      latency: { webhook_ack: { count: 3, mean: 0.01, p50: 0.005, p95: 0.02 } },
    }
    const read = Object.fromEntries(TILES.map((tile) => [tile.id, tile.read(now)]))
    expect(read.messagesIn).toBe(4.25)
    expect(read.queueWaiting).toBe(7)
    expect(read.outboxBacklog).toBeNull()
    expect(read.webhookAck).toBe(0.02)
    expect(read.firstResponse).toBeNull()
  })

  it('formats rates, counts and durations', () => {
    expect(formatValue(null, 'rate')).toBe('–')
    expect(formatValue(Number.NaN, 'count')).toBe('–')
    expect(formatValue(4.25, 'rate')).toBe('4.3/s')
    expect(formatValue(42.4, 'rate')).toBe('42/s')
    expect(formatValue(1234, 'count')).toBe('1,234')
    expect(formatValue(0.0123, 'seconds')).toBe('12 ms')
    expect(formatValue(45, 'seconds')).toBe('45 s')
    expect(formatValue(600, 'seconds')).toBe('10 min')
    expect(formatValue(7200, 'seconds')).toBe('2 h')
    expect(formatValue(4.25, 'rate', 'pt-BR')).toBe('4,3/s')
  })

  it('gives each chart rows in milliseconds and a summary in words', () => {
    const chart = CHARTS.find((c) => c.id === 'messages')
    if (!chart) throw new Error('no messages chart')
    const series = [point(100, { messages_in: 1, messages_out: 0 }), point(110, { messages_in: 5, messages_out: 2 })]
    expect(chartRows(series, chart)).toEqual([
      { at: 100_000, in: 1, out: 0 },
      { at: 110_000, in: 5, out: 2 },
    ])
    expect(summarise(series, chart)).toEqual([
      { key: 'in', last: 5, min: 1, max: 5 },
      { key: 'out', last: 2, min: 0, max: 2 },
    ])
    expect(summarise([], chart)[0]).toEqual({ key: 'in', last: null, min: null, max: null })
  })
})

describe('the supervision tree', () => {
  const kind = (name: string, crashes: number, queued: number) => ({
    kind: name, state: 'running', live: 1, queued, handled: 0, crashes, restarts: crashes,
    escalations: 0, dead_letters: 0, hot: [],
  })

  it('puts the most troubled kinds first', () => {
    const sorted = sortKinds([kind('agent', 0, 0), kind('queue', 0, 9), kind('conversation', 2, 0)])
    expect(sorted.map((k) => k.kind)).toEqual(['conversation', 'queue', 'agent'])
  })

  it('flattens parents before children', () => {
    const leaf = (id: string) => ({ kind: 'service', id, state: 'running', restarts: 0, crashes: 0, children: [] })
    const tree = { ...leaf('pytake'), kind: 'supervisor', children: [{ ...leaf('actors'), children: [leaf('log')] }, leaf('timers')] }
    expect(flattenTree(tree).map(({ node, depth }) => `${String(depth)}:${node.id}`)).toEqual([
      '0:pytake', '1:actors', '2:log', '1:timers',
    ])
  })
})

describe('live frames', () => {
  it('understands welcome, tick and pong frames, and nothing else', () => {
    expect(parseFrame('{"type":"welcome","role":"admin","interval":1}')).toEqual({ type: 'welcome', role: 'admin', interval: 1 })
    const tick = parseFrame(JSON.stringify({
      type: 'tick', tick: 3, at: 5, interval: 1, window: 10, current: point(5),
      supervision: { tree: { id: 'pytake' }, kinds: [] }, point: null,
    }))
    expect(tick).toMatchObject({ type: 'tick', tick: 3, at: 5, point: null, supervision: { kinds: [] } })
    expect(parseFrame(JSON.stringify({ type: 'tick', tick: 1, supervision: 'nope' }))).toMatchObject({ supervision: null, current: null })
    expect(parseFrame('not json')).toBeNull()
    expect(parseFrame('[1]')).toBeNull()
    expect(parseFrame('{"type":"other"}')).toBeNull()
    expect(parseFrame(42)).toBeNull()
  })

  it('backs off exponentially with jitter, up to a ceiling', () => {
    const mid = () => 0.5
    expect(backoffDelay(0, mid)).toBe(500)
    expect(backoffDelay(3, mid)).toBe(4000)
    expect(backoffDelay(30, mid)).toBe(15_000)
    expect(backoffDelay(0, () => 0)).toBe(400)
    expect(backoffDelay(0, () => 1)).toBe(600)
  })
})
