import { useMemo } from 'react'
import { formatTime, t } from '@/lib/i18n'
import type { ViewMessage } from '../messages'
import { useDirectory, type Directory } from './directory'
import { eventViews, mentionedTeams, type EventLog } from './events'
import { MessageBubble } from './MessageBubble'
import { foldReactions, type LooseReaction } from './reactions'
import { contentSummary } from './summary'
import { buildTimeline } from './timeline'
import { TimelineEvent } from './TimelineEvent'

function LooseReactionLine({ reaction }: { reaction: LooseReaction }) {
  const who = reaction.from === 'customer' ? t('desk.customer') : t('timeline.business')
  return (
    <p className={`text-xs text-slate-600 ${reaction.from === 'business' ? 'text-right' : ''}`}>
      {reaction.emoji ? t('timeline.reactedTo', { who, emoji: reaction.emoji }) : t('timeline.reactionRemoved', { who })}{' '}
      <time dateTime={new Date(reaction.at).toISOString()}>{formatTime(new Date(reaction.at))}</time>
    </p>
  )
}

interface TimelineProps {
  conversationId: number
  /** The conversation's messages in order (mergeMessages). */
  messages: ViewMessage[]
  /** Older messages are still to be loaded: events before the oldest shown wait for them. */
  olderToLoad: boolean
  /** The conversation's event log as read so far (useConversationEvents). */
  log: EventLog | undefined
}

/**
 * The conversation as it happened: every message (text, media, location, contacts, replies,
 * buttons, lists, templates; reactions on the message they react to; edits, deletions and
 * statuses) with the conversation's events (assignments, transfers, notes, labels,
 * priority, resolutions) between them, by time.
 */
export function Timeline({ conversationId, messages, olderToLoad, log }: TimelineProps) {
  const views = useMemo(() => eventViews(log?.events ?? []), [log])
  const teams = useMemo(() => mentionedTeams(log?.events ?? []), [log])
  const directory: Directory = useDirectory(teams)
  const folded = useMemo(() => foldReactions(messages), [messages])
  const entries = useMemo(() => {
    const oldest = messages.find((m) => typeof m.id === 'number')?.at ?? null
    return buildTimeline(folded, views, olderToLoad ? oldest : null)
  }, [folded, views, messages, olderToLoad])
  const byWamid = useMemo(() => {
    const map = new Map<string, string>()
    for (const item of folded) {
      if (item.kind === 'message' && item.message.wamid) map.set(item.message.wamid, contentSummary(item.message.details.content))
    }
    return map
  }, [folded])

  return (
    <>
      {entries.map((entry) => {
        if (entry.kind === 'event') return <TimelineEvent key={`e${String(entry.event.seq)}`} event={entry.event} directory={directory} />
        if (entry.kind === 'reaction') return <LooseReactionLine key={`r${String(entry.reaction.id)}`} reaction={entry.reaction} />
        const m = entry.message
        const quote = m.details.replyTo === null ? null : (byWamid.get(m.details.replyTo) ?? null)
        return <MessageBubble key={`m${String(m.id)}`} conversationId={conversationId} message={m} directory={directory} quote={quote} />
      })}
    </>
  )
}
