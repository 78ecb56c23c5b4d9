import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { AgentSocket, lastSeqKey } from '@/lib/agent-socket'
import { getAccessToken, refreshAccessToken } from '@/lib/api'
import { messagesQueryKey } from './messages'
import { deskActions, loadSnapshot, saveSnapshot, useDeskStore } from './store'

function socketUrl(token: string, lastSeq: number): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  const params = new URLSearchParams({ token, last_seq: String(lastSeq) })
  return `${scheme}//${window.location.host}/ws/agent?${params.toString()}`
}

/**
 * The desk's socket for this user: restores the inbox saved beside the last seq, connects,
 * feeds events into the desk store and closes on unmount.
 */
export function useDeskSocket(userId: number): AgentSocket {
  const queryClient = useQueryClient()
  const [client] = useState(
    () =>
      new AgentSocket({
        userId,
        url: socketUrl,
        getToken: getAccessToken,
        getFreshToken: refreshAccessToken,
        onEvent: (event) => {
          deskActions.applyEvent(event)
          if (event.type === 'conversation.assigned') {
            void queryClient.invalidateQueries({ queryKey: messagesQueryKey(event.data.conversation_id) })
          }
        },
        onReset: () => deskActions.reset(),
        onStateChange: (state) => deskActions.setConnection(state),
      }),
  )

  useEffect(() => {
    const snapshot = loadSnapshot(userId)
    if (snapshot) {
      deskActions.reset(snapshot)
    } else {
      // No inbox saved beside the seq (first visit, cleared storage): replay from the start.
      deskActions.reset()
      localStorage.removeItem(lastSeqKey(userId))
    }
    const unsubscribe = useDeskStore.subscribe((state, prev) => {
      if (state.inbox !== prev.inbox) saveSnapshot(userId, state)
    })
    client.connect(getAccessToken() ?? '')
    return () => {
      unsubscribe()
      client.close()
    }
  }, [client, userId])

  return client
}
