import { formatTime, t, type MessageKey } from '@/lib/i18n'
import type { MessageStatus } from '../store'
import type { Directory } from './directory'
import { MessageBody } from './MessageBody'
import type { ReactionBadge, TimelineMessage } from './reactions'

const MARKS: Record<MessageStatus, { mark: string; className: string }> = {
  pending: { mark: '◷', className: 'text-slate-600' },
  sent: { mark: '✓', className: 'text-slate-500' },
  delivered: { mark: '✓✓', className: 'text-slate-500' },
  read: { mark: '✓✓', className: 'text-sky-600' },
  played: { mark: '✓✓', className: 'text-sky-600' },
  failed: { mark: '!', className: 'font-bold text-red-700' },
  received: { mark: '', className: '' },
}

/** ✓ sent, ✓✓ delivered, blue ✓✓ read (or played); the word itself for screen readers. */
export function StatusMark({ status }: { status: MessageStatus }) {
  const label = t(`desk.status.${status}` as MessageKey)
  const { mark, className } = MARKS[status]
  return (
    <span title={label} className={`tracking-tighter ${className}`}>
      <span aria-hidden="true">{mark}</span>
      <span className="sr-only">{label}</span>
    </span>
  )
}

function whoReacted(from: ReactionBadge['from']): string {
  return from === 'customer' ? t('desk.customer') : t('timeline.business')
}

function Reactions({ reactions, outgoing }: { reactions: ReactionBadge[]; outgoing: boolean }) {
  if (reactions.length === 0) return null
  return (
    <ul className={`-mt-2 flex gap-1 ${outgoing ? 'justify-end pr-2' : 'pl-2'}`} aria-label={t('timeline.reactions')}>
      {reactions.map((r) => (
        <li key={r.from} title={t('timeline.reactionBy', { who: whoReacted(r.from), emoji: r.emoji })} className="rounded-full border border-slate-200 bg-white px-1.5 text-sm shadow-sm">
          <span aria-hidden="true">{r.emoji}</span>
          <span className="sr-only">{t('timeline.reactionBy', { who: whoReacted(r.from), emoji: r.emoji })}</span>
        </li>
      ))}
    </ul>
  )
}

function sender(message: TimelineMessage, directory: Directory): string {
  if (message.direction === 'in') return t('desk.customer')
  // Stored rows say who sent them (none: the bot); this tab's own sends are the agent's.
  if (message.sentBy === undefined) return t('desk.you')
  if (message.sentBy === null) return t('timeline.bot')
  return directory.agent(String(message.sentBy))
}

interface MessageBubbleProps {
  conversationId: number
  message: TimelineMessage
  directory: Directory
  /** The message this one answers, in one line, when it is in the timeline. */
  quote: string | null
}

export function MessageBubble({ conversationId, message, directory, quote }: MessageBubbleProps) {
  const outgoing = message.direction === 'out'
  const { details } = message
  const failed = message.status === 'failed'
  const who = sender(message, directory)
  return (
    <div className={`flex flex-col ${outgoing ? 'items-end' : 'items-start'}`} data-message-id={String(message.id)}>
      <div
        className={`max-w-[75%] rounded-lg px-3 py-2 text-sm shadow-sm ${
          outgoing ? 'bg-emerald-100 text-slate-900' : 'bg-white text-slate-900'
        } ${failed ? 'ring-1 ring-red-400' : ''}`}
      >
        {outgoing ? (
          <p className="mb-0.5 text-[11px] font-medium text-emerald-900">
            {who}
            <span className="sr-only">:</span>
          </p>
        ) : (
          <span className="sr-only">{who}: </span>
        )}
        {details.forwarded ? <p className="text-[11px] text-slate-500 italic">{t('timeline.forwarded')}</p> : null}
        {quote !== null ? (
          <p className="mb-1 border-l-2 border-emerald-600 pl-2 text-xs text-slate-600">
            <span className="sr-only">{t('timeline.inReplyTo')} </span>
            {quote}
          </p>
        ) : null}
        <MessageBody conversationId={conversationId} messageId={message.id} direction={message.direction} content={details.content} />
        {failed ? (
          <p className="mt-1 text-xs text-red-700">
            {message.error ? t('timeline.failed', { reason: message.error }) : t('timeline.failedUnknown')}
            {message.errorCode !== undefined && message.errorCode !== null ? ` ${t('timeline.failedCode', { code: String(message.errorCode) })}` : ''}
          </p>
        ) : null}
        <p className="mt-1 flex items-center justify-end gap-2 text-[11px] text-slate-600">
          {details.edited ? <span>{t('timeline.edited')}</span> : null}
          <time dateTime={new Date(message.at).toISOString()}>{formatTime(new Date(message.at))}</time>
          {outgoing ? <StatusMark status={message.status} /> : null}
        </p>
      </div>
      <Reactions reactions={message.reactions} outgoing={outgoing} />
    </div>
  )
}
