/** The ops API's shapes, taken from the server's OpenAPI document (schema.d.ts), and the
 * shapes of the live socket's frames (docs/operations.md), which no OpenAPI document holds. */

import type { paths } from '@/lib/api/schema'

type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer B } }> } ? B : never

export type OpsStats = Answer<'/api/v1/ops/stats', 'get'>
export type Point = OpsStats['series'][number]
export type Latency = Point['latency'][string]
export type DeadLettersPage = Answer<'/api/v1/ops/dead-letters', 'get'>
export type DeadLetter = DeadLettersPage['dead_letters'][number]

export interface HotSpot {
  id: string
  depth: number
  state: string
  restarts: number
}

export interface KindSummary {
  kind: string
  state: string
  live: number
  queued: number
  handled: number
  crashes: number
  restarts: number
  escalations: number
  dead_letters: number
  hot: HotSpot[]
}

/** A supervisor, a service or an actor kind, as `supervision.tree` nests them. */
export interface ServiceNode {
  kind: string
  id: string
  state: string
  restarts: number
  crashes: number
  children: ServiceNode[]
}

export interface Supervision {
  tree: ServiceNode
  kinds: KindSummary[]
}

/** What the server sends on `/api/v1/ops/live`. */
export type LiveFrame =
  | { type: 'welcome'; role: string; interval: number }
  | {
      type: 'tick'
      tick: number
      at: number | null
      interval: number
      window: number
      current: Point | null
      supervision: Supervision | null
      point: Point | null
    }
  | { type: 'pong'; id?: unknown }

export const keys = {
  stats: ['ops', 'stats'] as const,
  deadLetters: ['ops', 'dead-letters'] as const,
}

export function liveUrl(token: string, location: { protocol: string; host: string } = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}/api/v1/ops/live?token=${encodeURIComponent(token)}`
}
