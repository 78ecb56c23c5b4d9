import type { EventView } from './events'
import type { FoldedItem } from './reactions'

export type TimelineEntry = FoldedItem | { kind: 'event'; event: EventView }

function timeOf(item: FoldedItem): number {
  if (item.kind === 'reaction') return item.reaction.at
  // This tab's unsent messages stay last, whatever the clocks say (see mergeMessages).
  return typeof item.message.id === 'string' ? Number.POSITIVE_INFINITY : item.message.at
}

/**
 * Messages (already in their order, see mergeMessages) and events (in seq order) interleaved
 * by time: each event goes before the first message later than it; a message and an event of
 * the same instant keep the message first. The messages' own order is never changed.
 *
 * `since`: while older messages are still to be loaded, events before the oldest loaded
 * message are left out (they belong among messages not shown yet). Pure.
 */
export function buildTimeline(items: readonly FoldedItem[], events: readonly EventView[], since: number | null = null): TimelineEntry[] {
  const shown = since === null ? events : events.filter((e) => e.at >= since)
  const out: TimelineEntry[] = []
  let next = 0
  for (const item of items) {
    const at = timeOf(item)
    while (next < shown.length && (shown[next]?.at ?? 0) < at) {
      out.push({ kind: 'event', event: shown[next] as EventView })
      next += 1
    }
    out.push(item)
  }
  for (; next < shown.length; next += 1) out.push({ kind: 'event', event: shown[next] as EventView })
  return out
}
