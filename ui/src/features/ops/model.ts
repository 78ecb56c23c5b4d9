/** The dashboard's data, pure: merging live points into the hour's series, reading tiles,
 * rows for the charts and their text alternatives, and checking the socket's frames. */

import type { KindSummary, LiveFrame, Point, ServiceNode, Supervision } from './api'

/** One hour: what the server keeps, and so what a chart shows. */
export const HOUR_SECONDS = 3600

/** Adds `point` to `series` (oldest first) unless a point with its `at` is there, and drops
 * points older than `keepSeconds` before it. Returns the same array when nothing changed. */
export function mergePoint(series: Point[], point: Point | null, keepSeconds = HOUR_SECONDS): Point[] {
  if (!point) return series
  const last = series.at(-1)
  if (last && point.at <= last.at) return series
  const from = point.at - keepSeconds
  return [...series.filter((p) => p.at > from), point]
}

export type TileFormat = 'rate' | 'count' | 'seconds'

export interface TileSpec {
  /** An i18n key under `ops.tile.`. */
  id: string
  read: (p: Point) => number | null
  format: TileFormat
}

const rate = (name: string) => (p: Point) => p.rates[name] ?? null
const gauge = (name: string) => (p: Point) => p.gauges[name] ?? null
const mean = (name: string) => (p: Point) => p.latency[name]?.mean ?? null
const p95 = (name: string) => (p: Point) => p.latency[name]?.p95 ?? null

/** The numbers at the top of the dashboard, in reading order. */
export const TILES: TileSpec[] = [
  { id: 'messagesIn', read: rate('messages_in'), format: 'rate' },
  { id: 'messagesOut', read: rate('messages_out'), format: 'rate' },
  { id: 'queueWaiting', read: gauge('queue_waiting'), format: 'count' },
  { id: 'oldestWait', read: gauge('queue_oldest_wait'), format: 'seconds' },
  { id: 'agentsOnline', read: gauge('agents_online'), format: 'count' },
  { id: 'agentsBusy', read: gauge('agents_busy'), format: 'count' },
  { id: 'firstResponse', read: mean('first_response'), format: 'seconds' },
  { id: 'handleTime', read: mean('handle_time'), format: 'seconds' },
  { id: 'resolvedBot', read: rate('resolved_bot'), format: 'rate' },
  { id: 'resolvedAgent', read: rate('resolved_agent'), format: 'rate' },
  { id: 'moduleLatency', read: p95('module_call'), format: 'seconds' },
  { id: 'moduleFailures', read: rate('module_failures'), format: 'rate' },
  { id: 'webhookAck', read: p95('webhook_ack'), format: 'seconds' },
  { id: 'outboxBacklog', read: gauge('outbox_backlog'), format: 'count' },
  { id: 'mailboxDepth', read: gauge('mailbox_depth'), format: 'count' },
]

/** A number as a tile shows it: "–" for none, rates with one decimal below 10 per second. */
export function formatValue(value: number | null | undefined, format: TileFormat, locale = 'en'): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  const number = (n: number, digits: number) =>
    new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n)
  if (format === 'count') return number(value, 0)
  if (format === 'rate') return `${number(value, value < 10 ? 1 : 0)}/s`
  if (value < 1) return `${number(value * 1000, 0)} ms`
  if (value < 120) return `${number(value, 1)} s`
  if (value < 7200) return `${number(value / 60, 1)} min`
  return `${number(value / 3600, 1)} h`
}

/** A chart: its lines, each a value read from a point. */
export interface ChartSpec {
  id: string
  format: TileFormat
  lines: { key: string; read: (p: Point) => number | null }[]
}

export const CHARTS: ChartSpec[] = [
  { id: 'messages', format: 'rate', lines: [
    { key: 'in', read: rate('messages_in') },
    { key: 'out', read: rate('messages_out') },
  ] },
  { id: 'queues', format: 'count', lines: [
    { key: 'waiting', read: gauge('queue_waiting') },
    { key: 'busy', read: gauge('agents_busy') },
    { key: 'online', read: gauge('agents_online') },
  ] },
  { id: 'service', format: 'seconds', lines: [
    { key: 'firstResponse', read: mean('first_response') },
    { key: 'handleTime', read: mean('handle_time') },
  ] },
  { id: 'resolutions', format: 'rate', lines: [
    { key: 'bot', read: rate('resolved_bot') },
    { key: 'agent', read: rate('resolved_agent') },
  ] },
  { id: 'latency', format: 'seconds', lines: [
    { key: 'module', read: p95('module_call') },
    { key: 'webhook', read: p95('webhook_ack') },
  ] },
  { id: 'failures', format: 'rate', lines: [
    { key: 'modules', read: rate('module_failures') },
    { key: 'outbox', read: rate('outbox_failed') },
    { key: 'crashes', read: rate('actor_crashes') },
  ] },
]

export type ChartRow = { at: number } & Record<string, number | null>

/** The rows a chart draws: `at` in milliseconds (for the time axis), then each line's value. */
export function chartRows(series: Point[], chart: ChartSpec): ChartRow[] {
  return series.map((p) => {
    const row: ChartRow = { at: p.at * 1000 }
    for (const line of chart.lines) row[line.key] = line.read(p)
    return row
  })
}

export interface LineSummary {
  key: string
  last: number | null
  min: number | null
  max: number | null
}

/** What a chart says in words (its text alternative): per line the last, lowest and highest. */
export function summarise(series: Point[], chart: ChartSpec): LineSummary[] {
  return chart.lines.map(({ key, read }) => {
    const values = series.map(read).filter((v): v is number => v !== null && Number.isFinite(v))
    return {
      key,
      last: values.at(-1) ?? null,
      min: values.length ? Math.min(...values) : null,
      max: values.length ? Math.max(...values) : null,
    }
  })
}

/** The kinds with the most trouble first: crashes, then deepest mailboxes, then name. */
export function sortKinds(kinds: KindSummary[]): KindSummary[] {
  return [...kinds].sort((a, b) => b.crashes - a.crashes || b.queued - a.queued || a.kind.localeCompare(b.kind))
}

/** Every node of the tree with its depth, parents before children (for keyboard order). */
export function flattenTree(node: ServiceNode, depth = 0): { node: ServiceNode; depth: number }[] {
  return [{ node, depth }, ...node.children.flatMap((c) => flattenTree(c, depth + 1))]
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isSupervision(value: unknown): value is Supervision {
  return isRecord(value) && isRecord(value.tree) && Array.isArray(value.kinds)
}

/** A frame from the live socket, or null for anything the dashboard does not understand. */
export function parseFrame(raw: unknown): LiveFrame | null {
  if (typeof raw !== 'string') return null
  let data: unknown
  try {
    data = JSON.parse(raw)
  } catch {
    return null
  }
  if (!isRecord(data)) return null
  if (data.type === 'welcome' && typeof data.interval === 'number') {
    return { type: 'welcome', role: String(data.role), interval: data.interval }
  }
  if (data.type === 'pong') return { type: 'pong', id: data.id }
  if (data.type !== 'tick' || typeof data.tick !== 'number') return null
  return {
    type: 'tick',
    tick: data.tick,
    at: typeof data.at === 'number' ? data.at : null,
    interval: typeof data.interval === 'number' ? data.interval : 1,
    window: typeof data.window === 'number' ? data.window : 10,
    current: isRecord(data.current) ? (data.current as unknown as Point) : null,
    supervision: isSupervision(data.supervision) ? data.supervision : null,
    point: isRecord(data.point) ? (data.point as unknown as Point) : null,
  }
}

/** Jittered exponential back-off for reconnecting, in milliseconds. */
export function backoffDelay(attempt: number, random: () => number = Math.random, initial = 500, max = 15_000): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt))
  return Math.round(base * (0.8 + 0.4 * random()))
}

/** The hour's series from the route's answer and the points the socket brought since: one
 * point per `at`, oldest first, at most `keepSeconds` behind the newest. */
export function mergeSeries(base: Point[], extra: Point[], keepSeconds = HOUR_SECONDS): Point[] {
  const byAt = new Map<number, Point>()
  for (const p of [...base, ...extra]) byAt.set(p.at, p)
  const all = [...byAt.values()].sort((a, b) => a.at - b.at)
  const newest = all.at(-1)
  return newest ? all.filter((p) => p.at > newest.at - keepSeconds) : all
}

/** `supervision` from the stats route (the document types it loosely), checked. */
export function asSupervision(value: unknown): Supervision | null {
  return isSupervision(value) ? value : null
}
