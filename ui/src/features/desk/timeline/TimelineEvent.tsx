import { formatTime, t, type MessageKey } from '@/lib/i18n'
import type { Directory } from './directory'
import type { EventView, NoteView } from './events'

const PRIORITY_NAMES: Record<number, MessageKey> = {
  [-10]: 'desk.priorityLow',
  0: 'desk.priorityNormal',
  10: 'desk.priorityHigh',
  50: 'desk.priorityUrgent',
}

function priorityName(priority: number): string {
  const key = PRIORITY_NAMES[priority]
  return key ? t(key) : String(priority)
}

const REQUEUE_REASONS: Record<string, MessageKey> = {
  agent_offline: 'timeline.event.requeuedOffline',
  agent_away: 'timeline.event.requeuedAway',
}

/** What happened, in one sentence. */
export function eventSentence(event: EventView, directory: Directory): string {
  switch (event.kind) {
    case 'handoff':
      return event.byBot
        ? t('timeline.event.handoffBot', { team: directory.team(event.team) })
        : t('timeline.event.handoff', { team: directory.team(event.team) })
    case 'accepted':
      return t('timeline.event.accepted', { agent: directory.agent(event.agent) })
    case 'assigned':
      return event.by === null
        ? t('timeline.event.assigned', { agent: directory.agent(event.agent) })
        : t('timeline.event.assignedBy', { agent: directory.agent(event.agent), by: directory.actor(event.by) })
    case 'transferred':
      if (event.agent === null) return t('timeline.event.transferredTeam', { team: directory.team(event.team) })
      return event.team === null
        ? t('timeline.event.transferredAgent', { agent: directory.agent(event.agent) })
        : t('timeline.event.transferredAgentTeam', { agent: directory.agent(event.agent), team: directory.team(event.team) })
    case 'requeued': {
      const key = event.reason === null ? undefined : REQUEUE_REASONS[event.reason]
      return t(key ?? 'timeline.event.requeued')
    }
    case 'returned_to_bot':
      return t('timeline.event.returnedToBot')
    case 'resolved':
      return event.by === null ? t('timeline.event.resolved') : t('timeline.event.resolvedBy', { who: directory.actor(event.by) })
    case 'reopened':
      return t('timeline.event.reopened')
    case 'note':
      return t('timeline.event.note', { who: directory.actor(event.note.by) })
    case 'labels': {
      const who = directory.actor(event.by)
      const parts: string[] = []
      if (event.added.length > 0) parts.push(t('timeline.event.labelsAdded', { who, labels: event.added.join(', ') }))
      if (event.removed.length > 0) parts.push(t('timeline.event.labelsRemoved', { who, labels: event.removed.join(', ') }))
      if (parts.length === 0) parts.push(t('timeline.event.labelsSet', { who, labels: event.labels.join(', ') || '—' }))
      return parts.join(' · ')
    }
    case 'priority':
      return t('timeline.event.priority', { who: directory.actor(event.by), priority: priorityName(event.priority) })
  }
}

/** A private note: agents see it, the customer never does. */
function Note({ note, directory, heading }: { note: NoteView; directory: Directory; heading: string }) {
  return (
    <div className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-950 shadow-sm">
      <p className="flex flex-wrap items-baseline gap-x-2 text-xs font-semibold text-amber-900">
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="2">
          <rect x="5" y="11" width="14" height="10" rx="2" />
          <path d="M8 11V8a4 4 0 0 1 8 0v3" />
        </svg>
        <span>{heading}</span>
        <span className="font-normal">{t('timeline.event.noteBy', { who: directory.actor(note.by) })}</span>
      </p>
      <p className="mt-1 break-words whitespace-pre-wrap">{note.text}</p>
      <p className="mt-1 text-[11px] text-amber-800">{t('timeline.event.noteHint')}</p>
    </div>
  )
}

function When({ at }: { at: number }) {
  if (!at) return null
  return (
    <time dateTime={new Date(at).toISOString()} className="text-slate-600">
      {formatTime(new Date(at))}
    </time>
  )
}

/** One entry of the conversation's log among the messages: a centred line, a note a card. */
export function TimelineEvent({ event, directory }: { event: EventView; directory: Directory }) {
  if (event.kind === 'note') {
    return (
      <div className="mx-auto w-full max-w-[85%]" data-event-seq={event.seq}>
        <Note note={event.note} directory={directory} heading={t('timeline.event.privateNote')} />
        <p className="mt-0.5 text-right text-[11px]">
          <When at={event.at} />
        </p>
      </div>
    )
  }
  const note = 'note' in event ? event.note : null
  return (
    <div className="flex flex-col items-center gap-1" data-event-seq={event.seq}>
      <p className="rounded-full bg-slate-200 px-3 py-0.5 text-center text-xs text-slate-700">
        {eventSentence(event, directory)} <When at={event.at} />
      </p>
      {note ? (
        <div className="w-full max-w-[85%]">
          <Note note={note} directory={directory} heading={t('timeline.event.handoverNote')} />
        </div>
      ) : null}
    </div>
  )
}
