/** The admin API's shapes, taken from the server's OpenAPI document (schema.d.ts), and the
 * query keys the admin pages share. Reads are TanStack queries; every change invalidates the
 * keys it touches. */

import type { UseFormSetError, FieldValues, Path } from 'react-hook-form'
import { isApiError } from '@/lib/api'
import type { paths } from '@/lib/api/schema'
import { t } from '@/lib/i18n'

type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer B } }> } ? B : never

export type UsersPage = Answer<'/api/v1/users', 'get'>
export type User = UsersPage['users'][number]
export type Role = User['role']
export type Credential = Answer<'/api/v1/users', 'post', 201>
type InviteBody = paths['/api/v1/users']['post'] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never
export type Delivery = NonNullable<InviteBody extends { delivery?: infer D } ? D : never>

export type Team = Answer<'/api/v1/teams/{team_id}', 'get'>
export type TeamsPage = Answer<'/api/v1/teams', 'get'>
export type MembersPage = Answer<'/api/v1/teams/{team_id}/members', 'get'>
export type Member = MembersPage['members'][number]

export type AuditPage = Answer<'/api/v1/audit', 'get'>
export type AuditEntry = AuditPage['entries'][number]

export type CustomersPage = Answer<'/api/v1/customers', 'get'>
export type CustomerMatch = CustomersPage['customers'][number]
export type DataRequestsPage = Answer<'/api/v1/data-requests', 'get'>
export type DataRequest = DataRequestsPage['data_requests'][number]
export type DataRequestDone = Answer<'/api/v1/customers/{customer_id}/erase', 'post'>

export type CannedPage = Answer<'/api/v1/canned-responses', 'get'>
export type Canned = CannedPage['canned_responses'][number]

export type NumbersPage = Answer<'/api/v1/numbers', 'get'>
export type BusinessNumber = NumbersPage['numbers'][number]

export type WebhooksPage = Answer<'/api/v1/webhooks', 'get'>
export type Webhook = WebhooksPage['webhooks'][number]
export type WebhookCreated = Answer<'/api/v1/webhooks', 'post', 201>
export type RotatedSecret = Answer<'/api/v1/webhooks/{webhook_id}/rotate-secret', 'post'>
export type DeliveriesPage = Answer<'/api/v1/webhooks/{webhook_id}/deliveries', 'get'>
export type WebhookDelivery = DeliveriesPage['deliveries'][number]

export type ModulesPage = Answer<'/api/v1/modules', 'get'>
export type InstalledModule = ModulesPage['modules'][number]
export type ModuleConfig = Answer<'/api/v1/modules/{name}/configs/{tenant}', 'get'>
export type ModuleConfigsPage = Answer<'/api/v1/modules/{name}/configs', 'get'>

export type SettingsAnswer = Answer<'/api/v1/settings', 'get'>
export type LiveSetting = SettingsAnswer['settings'][string]

export const ROLES: readonly Role[] = ['admin', 'supervisor', 'agent']
export const STRATEGIES = ['round_robin', 'least_busy', 'skills'] as const

export const keys = {
  users: ['admin', 'users'] as const,
  /** Shared with the desk's team pickers, which read the same list. */
  teams: ['teams'] as const,
  members: (teamId: number) => ['teams', teamId, 'members'] as const,
  audit: ['admin', 'audit'] as const,
  customers: ['admin', 'customers'] as const,
  dataRequests: ['admin', 'data-requests'] as const,
  canned: (teamId: number) => ['admin', 'canned', teamId] as const,
  numbers: ['admin', 'numbers'] as const,
  webhooks: ['admin', 'webhooks'] as const,
  deliveries: (webhookId: number) => ['admin', 'webhooks', webhookId, 'deliveries'] as const,
  settings: ['admin', 'settings'] as const,
  modules: ['admin', 'modules'] as const,
  moduleConfigs: (name: string) => ['admin', 'modules', name, 'configs'] as const,
  moduleConfig: (name: string, tenant: string) => ['admin', 'modules', name, 'configs', tenant] as const,
}

/** A list typed as "billing, pt-BR" (skills, event patterns): trimmed, empty ones dropped. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

/** A failure as one line for the page. */
export function errorText(error: unknown): string {
  if (isApiError(error)) return error.detail
  return t('common.error', { detail: error instanceof Error ? error.message : String(error) })
}

/**
 * Puts a server's refusal on the form: a problem document naming one of `fields` goes under
 * that field; anything else (a 409, a 500) is answered as the form's own message.
 */
export function serverErrorOnForm<V extends FieldValues>(
  error: unknown,
  fields: readonly Path<V>[],
  setError: UseFormSetError<V>,
  aliases: Record<string, Path<V>> = {},
): string | null {
  if (isApiError(error)) {
    const field = error.field ?? (error.code ? aliases[error.code] : undefined) ?? null
    const named = fields.find((f) => f === field)
    if (named !== undefined) {
      setError(named, { type: 'server', message: error.detail }, { shouldFocus: true })
      return null
    }
  }
  return errorText(error)
}
