import { useQueryClient } from '@tanstack/react-query'
import { useEffect, useState } from 'react'
import { AgentSocket, lastSeqKey } from '@/lib/agent-socket'
import { getAccessToken, refreshAccessToken } from '@/lib/api'
import { messagesQueryKey } from './messages'
import { deskActions, loadSnapshot, saveSnapshot, useDeskStore } from './store'

/** The inbox is saved at most this often (and when the page is hidden or left). */
export const SAVE_EVERY_MS = 1000

function socketUrl(token: string, lastSeq: number): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:'
  const params = new URLSearchParams({ token, last_seq: String(lastSeq) })
  return `${scheme}//${window.location.host}/ws/agent?${params.toString()}`
}

/**
 * Keeps the user's inbox, with the seq it matches, in the tab's storage: at most once every
 * `SAVE_EVERY_MS` while it changes, and at once when the page is hidden or left (after the
 * socket delivered what it received). Returns the function that stops it (saving first).
 */
export function keepSnapshot(userId: number, client: Pick<AgentSocket, 'flush'>): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null
  let savedAt = Number.NEGATIVE_INFINITY
  let saved: { inbox: unknown; seq: number } | null = null

  const save = () => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    const { inbox, seq } = useDeskStore.getState()
    if (saved?.inbox === inbox && saved.seq === seq) return
    saved = { inbox, seq }
    savedAt = Date.now()
    saveSnapshot(userId, inbox, seq)
  }
  const unsubscribe = useDeskStore.subscribe((state, prev) => {
    if ((state.inbox === prev.inbox && state.seq === prev.seq) || timer !== null) return
    timer = setTimeout(save, Math.max(0, savedAt + SAVE_EVERY_MS - Date.now()))
  })
  const leaving = () => {
    client.flush()
    save()
  }
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') leaving()
  }
  window.addEventListener('pagehide', leaving)
  document.addEventListener('visibilitychange', onVisibility)
  return () => {
    window.removeEventListener('pagehide', leaving)
    document.removeEventListener('visibilitychange', onVisibility)
    unsubscribe()
    save()
  }
}

/**
 * The desk's socket for this user: restores the inbox saved with its seq, connects, feeds
 * events into the desk store (a replay's in a few batches) and closes on unmount.
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
        // The seq is saved with the inbox it matches (keepSnapshot), not on its own.
        storage: null,
        onEvents: (events) => {
          deskActions.applyEvents(events)
          for (const event of events) {
            if (event.type === 'conversation.assigned') {
              void queryClient.invalidateQueries({ queryKey: messagesQueryKey(event.data.conversation_id) })
            }
          }
        },
        onReset: () => deskActions.reset(),
        onStateChange: (state) => deskActions.setConnection(state),
      }),
  )

  useEffect(() => {
    const snapshot = loadSnapshot(userId)
    // No inbox saved with its seq (first visit, cleared storage): replay from the start.
    if (snapshot) deskActions.reset(snapshot.data, snapshot.seq)
    else deskActions.reset()
    // Where the seq was kept on its own before it was saved in the snapshot.
    localStorage.removeItem(lastSeqKey(userId))
    client.connect(getAccessToken() ?? '', snapshot?.seq ?? 0)
    const stop = keepSnapshot(userId, client)
    return () => {
      client.close()
      stop()
    }
  }, [client, userId])

  return client
}
