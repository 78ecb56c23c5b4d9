/** Shapes of the REST API (docs/rest-api.md, docs/auth.md).  Where the server's OpenAPI
 * document describes them, they are taken from it (schema.d.ts, generated: `npm run gen:api`),
 * so a change of the API breaks the build here rather than in a user's browser. */

import type { paths } from './schema'

/** The JSON body of a route's success answer. */
type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer B } }> }
    ? B
    : never

export type TokenPair = Answer<'/api/v1/auth/login', 'post'>

export type Me = Answer<'/api/v1/auth/me', 'get'>

export interface ApiMessage {
  id: number
  whatsapp_message_id: string | null
  direction: 'in' | 'out'
  type: string
  payload: Record<string, unknown>
  status: string
  sent_by_user_id: number | null
  created_at: string
  whatsapp_timestamp: string | null
  sent_at: string | null
  delivered_at: string | null
  read_at: string | null
  played_at: string | null
  failed_at: string | null
  error_code: string | number | null
  error_details: string | null
}

export interface MessagesPage {
  messages: ApiMessage[]
  next_cursor: string | null
}

export type TeamsPage = Answer<'/api/v1/teams', 'get'>

export type Team = TeamsPage['teams'][number]

export type MembersPage = Answer<'/api/v1/teams/{team_id}/members', 'get'>

export type TeamMember = MembersPage['members'][number]

export type CustomerProfile = Answer<'/api/v1/customers/{customer_id}', 'get'>

export type TemplatesList = Answer<'/api/v1/templates', 'get'>

export type MessageTemplate = TemplatesList['templates'][number]

export type AgentsList = Answer<'/api/v1/agents', 'get'>

export type AgentEntry = AgentsList['agents'][number]

export type ConversationsList = Answer<'/api/v1/conversations', 'get'>

export type ConversationEntry = ConversationsList['conversations'][number]

export type CannedResponsesPage = Answer<'/api/v1/canned-responses', 'get'>

export type CannedResponse = CannedResponsesPage['canned_responses'][number]
