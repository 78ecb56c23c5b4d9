/** The flow routes (pytake/web/_flows_api.py, docs/rest-api.md) as the builder calls them.
 * Shapes come from the server's OpenAPI document where it states them (schema.d.ts). */

import { useQuery } from '@tanstack/react-query'
import { apiFetch, isApiError } from '@/lib/api'
import type { paths } from '@/lib/api/schema'
import { t } from '@/lib/i18n'
import { catalogFromModules } from './catalog'
import { DEFAULT_LIMITS, limitsFromSchema, type Limits } from './limits'
import type { FlowDocument, ModuleCatalog, Problem } from './types'

type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer B } }> } ? B : never

export type FlowsList = Answer<'/api/v1/flows', 'get'>
export type FlowSummary = FlowsList['flows'][number]
export type FlowDetail = Answer<'/api/v1/flows/{name}', 'get'>
export type FlowVersionInfo = FlowDetail['versions'][number]
export type Validation = Answer<'/api/v1/flows/validate', 'post'>
type ModulesList = Answer<'/api/v1/modules', 'get'>

export interface Draft {
  version: number
  valid: boolean
  problems: Problem[]
}

export interface VersionDocument {
  version: number
  status: string
  document: FlowDocument
}

export interface Published {
  version: number
  /** "published", or "candidate" when a share was asked for and the server took it. */
  status?: string
  archived: number | null
}

export interface NodeMetrics {
  node: string
  type: string | null
  steps: number
  outcomes: Record<string, number>
  average_seconds: number | null
  dropped: number
  in_progress: number
}

export interface FlowMetrics {
  runs: Record<string, number>
  resolution_rate: number | null
  handoff_rate: number | null
  drop_off_rate: number | null
  nodes: NodeMetrics[]
}

export type SimMessage = string | { reply_id: string } | { timer: true }

export interface SimTurn {
  message: Record<string, unknown>
  steps: { node: string; outcome: string }[]
  sent: Record<string, unknown>[]
  variables: Record<string, unknown>
  result: Record<string, unknown>
}

export interface Transcript {
  flow: string
  turns: SimTurn[]
  result: { status: string; node?: string; flow?: string; team?: string; note?: string; resolved?: boolean }
}

export const keys = {
  list: ['flows'] as const,
  detail: (id: string) => ['flows', id] as const,
  version: (id: string, n: number) => ['flows', id, 'versions', n] as const,
  metrics: (id: string) => ['flows', id, 'metrics'] as const,
  modules: ['flows', 'modules'] as const,
  schema: ['flows', 'schema'] as const,
}

const path = (id: string) => `/api/v1/flows/${encodeURIComponent(id)}`

export function fetchFlows(signal?: AbortSignal): Promise<FlowsList> {
  return apiFetch<FlowsList>('/api/v1/flows', { query: { limit: 500 }, signal })
}

export function fetchDetail(id: string, signal?: AbortSignal): Promise<FlowDetail> {
  return apiFetch<FlowDetail>(path(id), { signal })
}

export function fetchVersion(id: string, version: number, signal?: AbortSignal): Promise<VersionDocument> {
  return apiFetch<VersionDocument>(`${path(id)}/versions/${String(version)}`, { signal })
}

/** A 422 "invalid_flow" on create carries no stored draft, only the reason (an id that is not
 * one); anything else stored answers the draft, valid or not. */
export function createDraft(doc: FlowDocument): Promise<Draft> {
  return apiFetch<Draft>('/api/v1/flows', { body: doc })
}

export function saveDraft(doc: FlowDocument): Promise<Draft> {
  return apiFetch<Draft>(`${path(doc.id)}/draft`, { method: 'PUT', body: doc })
}

export function validateFlow(doc: FlowDocument, signal?: AbortSignal): Promise<Validation> {
  return apiFetch<Validation>('/api/v1/flows/validate', { body: doc, signal })
}

export function publishFlow(id: string, options: { version?: number; share?: number } = {}): Promise<Published> {
  return apiFetch<Published>(`${path(id)}/publish`, { body: options })
}

export function rollbackFlow(id: string): Promise<Published> {
  return apiFetch<Published>(`${path(id)}/rollback`, { method: 'POST' })
}

export function simulateFlow(doc: FlowDocument, messages: SimMessage[], signal?: AbortSignal): Promise<Transcript> {
  return apiFetch<Transcript>('/api/v1/flows/simulate', { body: { document: doc, messages }, signal })
}

export function fetchMetrics(id: string, signal?: AbortSignal): Promise<FlowMetrics> {
  return apiFetch<FlowMetrics>(`${path(id)}/metrics`, { signal })
}

export async function fetchModuleCatalog({ signal }: { signal?: AbortSignal } = {}): Promise<ModuleCatalog> {
  const answer = await apiFetch<ModulesList>('/api/v1/modules', { query: { limit: 500 }, signal })
  return catalogFromModules(answer.modules)
}

/** The installed modules' actions as node types; none when they cannot be read. */
export function useModuleCatalog(): ModuleCatalog {
  const query = useQuery({ queryKey: keys.modules, queryFn: fetchModuleCatalog, staleTime: 5 * 60_000, retry: false })
  return query.data ?? EMPTY_CATALOG
}

const EMPTY_CATALOG: ModuleCatalog = {}

/** WhatsApp's limits from the server's JSON Schema, or the defaults while (or when) the route
 * does not answer. */
export function useLimits(): Limits {
  const query = useQuery({
    queryKey: keys.schema,
    queryFn: ({ signal }) => apiFetch<unknown>('/api/v1/flow-schema', { signal }),
    staleTime: Infinity,
    retry: false,
  })
  return query.data ? limitsFromSchema(query.data) : DEFAULT_LIMITS
}

export function errorText(error: unknown): string {
  if (isApiError(error)) return error.detail
  return t('common.error', { detail: error instanceof Error ? error.message : String(error) })
}
