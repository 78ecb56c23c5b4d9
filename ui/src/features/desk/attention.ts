import type { InboxItem } from './store'

/** Something that should reach an agent who is looking at another tab. */
export interface Attention {
  kind: 'offer' | 'message'
  conversationId: number
  customer: string
  preview: string
}

/** What changed between two inboxes that calls for attention: a conversation newly offered,
 * and a conversation whose unread count went up (a customer wrote). Pure, for the tests. */
export function attentionBetween(prev: Record<number, InboxItem>, next: Record<number, InboxItem>): Attention[] {
  const found: Attention[] = []
  for (const item of Object.values(next)) {
    const before = prev[item.id]
    const base = { conversationId: item.id, customer: item.customer, preview: item.preview }
    if (item.state === 'offered' && before?.state !== 'offered') found.push({ kind: 'offer', ...base })
    else if (before && item.unread > before.unread) found.push({ kind: 'message', ...base })
  }
  return found
}

/** The sound: a short two-tone chime made on the spot (nothing to download, no asset). */
export function chime(): void {
  const Context = window.AudioContext as typeof AudioContext | undefined
  if (!Context) return
  try {
    const audio = new Context()
    const gain = audio.createGain()
    gain.connect(audio.destination)
    gain.gain.setValueAtTime(0.001, audio.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.45)
    for (const [frequency, start] of [
      [880, 0],
      [1320, 0.12],
    ] as const) {
      const tone = audio.createOscillator()
      tone.frequency.value = frequency
      tone.connect(gain)
      tone.start(audio.currentTime + start)
      tone.stop(audio.currentTime + start + 0.3)
    }
    window.setTimeout(() => void audio.close(), 800)
  } catch {
    // No audio device, or the browser wants a gesture first: the notification still shows.
  }
}
