import type { ViewMessage } from '../messages'
import { messageDetails, type MessageDetails } from './content'

/** Who put a reaction on a message: the customer, or the business (an agent or the bot). */
export type ReactionSide = 'customer' | 'business'

export interface ReactionBadge {
  emoji: string
  from: ReactionSide
}

/** A message with what the timeline shows of it. */
export interface TimelineMessage extends ViewMessage {
  details: MessageDetails
  reactions: ReactionBadge[]
}

/** A reaction whose message is not in the list (an older page, or never stored). An empty
 * emoji means the reaction was taken away. */
export interface LooseReaction {
  id: number | string
  from: ReactionSide
  emoji: string
  at: number
}

export type FoldedItem = { kind: 'message'; message: TimelineMessage } | { kind: 'reaction'; reaction: LooseReaction }

function side(direction: 'in' | 'out'): ReactionSide {
  return direction === 'in' ? 'customer' : 'business'
}

function badges(bySide: Map<ReactionSide, string>): ReactionBadge[] {
  const out: ReactionBadge[] = []
  for (const from of ['customer', 'business'] as const) {
    const emoji = bySide.get(from)
    if (emoji) out.push({ emoji, from })
  }
  return out
}

/**
 * Messages (in the order given) with their reactions folded onto the message they react to.
 *
 * Two sources: the server keeps a customer's reaction in the target's payload (`reaction`),
 * and a row of type `reaction` (one the business sent, found by the target's wamid). One
 * reaction per side and message, the later one winning; an empty emoji removes it. A
 * reaction row whose target is not in the list stays an item of its own. Pure.
 */
export function foldReactions(messages: ViewMessage[]): FoldedItem[] {
  const detailed = messages.map((m) => ({ m, details: messageDetails(m.type, m.payload, m.text) }))
  const byWamid = new Map<string, number | string>()
  const reactions = new Map<number | string, Map<ReactionSide, string>>()
  for (const { m, details } of detailed) {
    if (m.wamid) byWamid.set(m.wamid, m.id)
    if (details.reaction) reactions.set(m.id, new Map([['customer', details.reaction.emoji]]))
  }
  const out: FoldedItem[] = []
  const folded = new Set<number | string>()
  for (const { m, details } of detailed) {
    const content = details.content
    if (content.kind !== 'reaction') continue
    const target = content.target === null ? undefined : byWamid.get(content.target)
    if (target === undefined) continue
    const map = reactions.get(target) ?? new Map<ReactionSide, string>()
    map.set(side(m.direction), content.emoji)
    reactions.set(target, map)
    folded.add(m.id)
  }
  for (const { m, details } of detailed) {
    if (folded.has(m.id)) continue
    if (details.content.kind === 'reaction') {
      out.push({ kind: 'reaction', reaction: { id: m.id, from: side(m.direction), emoji: details.content.emoji, at: m.at } })
      continue
    }
    const map = reactions.get(m.id)
    out.push({ kind: 'message', message: { ...m, details, reactions: map ? badges(map) : [] } })
  }
  return out
}
