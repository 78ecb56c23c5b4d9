import { useEffect } from 'react'
import { t } from '@/lib/i18n'
import { attentionBetween, chime } from './attention'
import { deskActions, useDeskStore } from './store'

const SOUND_KEY = 'pytake.desk.sound'

export function soundEnabled(): boolean {
  return localStorage.getItem(SOUND_KEY) !== 'off'
}

export function setSoundEnabled(on: boolean): void {
  localStorage.setItem(SOUND_KEY, on ? 'on' : 'off')
}

/** While the tab is hidden, a new offer or a customer's message shows a browser notification
 * (when the agent allowed them) and plays a chime (unless muted). Clicking the notification
 * brings the tab back with that conversation open. Events replayed after a reconnect do not
 * ring: only what arrives while the desk is live. */
export function useAttention(): void {
  useEffect(
    () =>
      useDeskStore.subscribe((state, prev) => {
        if (state.inbox === prev.inbox || state.connection !== 'live') return
        if (document.visibilityState !== 'hidden') return
        const found = attentionBetween(prev.inbox, state.inbox)
        if (found.length === 0) return
        if (soundEnabled()) chime()
        if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
        for (const a of found) {
          const title = a.kind === 'offer' ? t('desk.notifyOffer', { customer: a.customer }) : t('desk.notifyMessage', { customer: a.customer })
          const note = new Notification(title, { body: a.preview, tag: `pytake-${String(a.conversationId)}` })
          note.onclick = () => {
            window.focus()
            deskActions.select(a.conversationId)
            note.close()
          }
        }
      }),
    [],
  )
}
