import { useCallback, useMemo } from 'react'
import type { AgentCommand, QueueStats } from '@/lib/agent-socket'
import { t } from '@/lib/i18n'
import { useDeskSocketClient } from './desk-context'
import { deskActions } from './store'

function newKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  // crypto.randomUUID needs a secure context; build a v4 UUID by hand elsewhere.
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

type OutgoingContent = Extract<AgentCommand, { type: 'send' }>['content']

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The desk's commands over the socket; failures surface as the desk's notice. */
export function useCommands() {
  const client = useDeskSocketClient()

  const run = useCallback(
    async (command: AgentCommand) => {
      try {
        return await client.send(command)
      } catch (error) {
        deskActions.setNotice(t('common.error', { detail: describe(error) }))
        return null
      }
    },
    [client],
  )

  const sendContent = useCallback(
    async (conversationId: number, content: OutgoingContent, shown: string, type: string) => {
      const key = newKey()
      const localId = `local:${key}`
      deskActions.addOutgoing(conversationId, localId, shown, type)
      try {
        const ack = await client.send({ type: 'send', conversation_id: conversationId, content, idempotency_key: key })
        const messageId = ack.message_id
        if (typeof messageId === 'number') deskActions.confirmOutgoing(conversationId, localId, messageId)
      } catch (error) {
        deskActions.failOutgoing(conversationId, localId, describe(error))
        deskActions.setNotice(t('common.error', { detail: describe(error) }))
      }
    },
    [client],
  )

  return useMemo(
    () => ({
      accept: (conversationId: number) => {
        // Accepting opens the conversation.
        deskActions.select(conversationId)
        return run({ type: 'accept', conversation_id: conversationId })
      },
      decline: (conversationId: number) => run({ type: 'decline', conversation_id: conversationId }),
      resolve: (conversationId: number) => run({ type: 'resolve', conversation_id: conversationId }),
      note: (conversationId: number, text: string) => run({ type: 'note', conversation_id: conversationId, text }),
      labels: (conversationId: number, add: string[], remove: string[]) =>
        run({ type: 'label', conversation_id: conversationId, add, remove }),
      priority: (conversationId: number, priority: number) =>
        run({ type: 'priority', conversation_id: conversationId, priority }),
      transfer: (conversationId: number, team: number, agent: number | null, note: string) =>
        run({
          type: 'transfer',
          conversation_id: conversationId,
          team,
          ...(agent === null ? {} : { agent }),
          ...(note.trim() ? { note: note.trim() } : {}),
        }),
      presence: (status: 'online' | 'away') => run({ type: 'presence', status }),
      assign: (conversationId: number, agent: number, team: number | null) =>
        run({ type: 'assign', conversation_id: conversationId, agent, ...(team === null ? {} : { team }) }),
      queueStats: async (team: number) => {
        const stats = await run({ type: 'queue_stats', team })
        if (stats) deskActions.setTeamStats(stats as unknown as QueueStats, Date.now())
      },
      markRead: (conversationId: number) => {
        deskActions.markReadLocal(conversationId)
        // Best effort: a failed read receipt is not worth a notice.
        client.send({ type: 'mark_read', conversation_id: conversationId }).catch(() => undefined)
      },
      send: (conversationId: number, text: string) =>
        sendContent(conversationId, { type: 'text', text }, text, 'text'),
      /** An uploaded file (``content``: its type, media id, caption, file name); ``shown`` is
       * how the desk lists it until the server's copy arrives. */
      sendMedia: (conversationId: number, content: { type: string } & Record<string, unknown>, shown: string) =>
        sendContent(conversationId, content, shown, content.type),
      /** An approved template (the only thing WhatsApp takes once the window closed);
       * ``shown`` is its text as the customer will read it. */
      sendTemplate: (conversationId: number, template: Record<string, unknown>, shown: string) =>
        sendContent(conversationId, { ...template, type: 'template' }, shown, 'template'),
    }),
    [client, run, sendContent],
  )
}
