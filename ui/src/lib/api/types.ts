/** Shapes of the REST API (docs/rest-api.md, docs/auth.md). */

export interface TokenPair {
  access_token: string
  expires_in: number
  refresh_token: string
  refresh_expires_in: number
  token_type: string
}

export interface Me {
  id: number
  email: string
  name: string
  role: 'agent' | 'supervisor' | 'admin'
  active?: boolean
  created_at?: string
}

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
