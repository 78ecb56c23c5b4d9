import { useEffect, useId, useRef, useState } from 'react'
import { t } from '@/lib/i18n'
import { errorText, simulateFlow, type SimMessage, type Transcript } from './api'
import { Bubble, Templated } from './Preview'
import { useEditor } from './store'

const BUTTON = 'rounded border border-slate-300 bg-white px-2 py-1 text-xs hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600 disabled:text-slate-400'

function str(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : []
}

/** A bot message of the transcript; its buttons and rows answer when tapped (`onReply`),
 * while the conversation waits on them. */
function BotMessage({ message, onReply }: { message: Record<string, unknown>; onReply: ((id: string, title: string) => void) | null }) {
  const type = str(message.type)
  const choices =
    type === 'buttons'
      ? list(message.buttons)
      : type === 'list'
        ? list(message.sections).flatMap((s) => list(s.rows))
        : []
  const body = type === 'text' ? str(message.text) : type === 'buttons' || type === 'list' ? str(message.body) : `[${type}] ${str(message.caption) || str(message.text)}`
  return (
    <>
      <Bubble>
        {str(message.header) ? <p className="font-semibold">{str(message.header)}</p> : null}
        <Templated text={body} />
        {str(message.footer) ? <p className="mt-1 text-xs text-slate-600">{str(message.footer)}</p> : null}
      </Bubble>
      {choices.length ? (
        <div className="flex w-[85%] flex-col gap-1 self-start">
          {choices.map((c) => (
            <button
              key={str(c.id)}
              type="button"
              disabled={onReply === null}
              className="rounded-lg bg-white py-1 text-sm text-sky-800 shadow-sm hover:bg-sky-50 focus-visible:outline-2 focus-visible:outline-emerald-600 disabled:text-slate-500"
              onClick={() => onReply?.(str(c.id), str(c.title))}
            >
              {str(c.title)}
            </button>
          ))}
        </div>
      ) : null}
    </>
  )
}

function customerText(message: SimMessage): string {
  if (typeof message === 'string') return message
  if ('timer' in message) return t('flows.timerFired')
  return message.reply_id
}

/** Chats with the flow as it is in the editor: every message replays the whole conversation
 * through `POST /api/v1/flows/simulate`; the canvas marks where the flow waits. */
export function Simulator() {
  const [messages, setMessages] = useState<SimMessage[]>([])
  const [titles, setTitles] = useState<string[]>([])
  const [draft, setDraft] = useState('')
  const [transcript, setTranscript] = useState<Transcript | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const inputId = useId()
  const log = useRef<HTMLDivElement>(null)

  useEffect(() => () => useEditor.setState({ simulatorAt: null }), [])
  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight })
  }, [transcript])

  const play = async (next: SimMessage[], nextTitles: string[]) => {
    setBusy(true)
    setError(null)
    const doc = useEditor.getState().doc
    try {
      const answer = await simulateFlow(doc, next)
      setMessages(next)
      setTitles(nextTitles)
      setTranscript(answer)
      const r = answer.result
      useEditor.setState({ simulatorAt: r.status === 'waiting' && r.flow === doc.id ? (r.node ?? null) : null })
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  const send = (message: SimMessage, title: string) => void play([...messages, message], [...titles, title])
  const restart = () => {
    setMessages([])
    setTitles([])
    setTranscript(null)
    setError(null)
    useEditor.setState({ simulatorAt: null })
  }
  const result = transcript?.result
  const waiting = result?.status === 'waiting'
  const turns = transcript?.turns ?? []
  return (
    <div className="flex h-full flex-col gap-2 p-3">
      <div ref={log} role="log" aria-label={t('flows.simulatorLog')} className="flex min-h-48 flex-1 flex-col gap-1 overflow-y-auto rounded-lg bg-[#e5ddd5] p-2">
        {turns.length === 0 ? <p className="text-xs text-slate-700">{t('flows.simulatorHint')}</p> : null}
        {turns.map((turn, i) => (
          <div key={i} className="flex flex-col gap-1">
            <Bubble from="customer">{titles[i] ?? customerText(messages[i] ?? '')}</Bubble>
            {turn.sent.map((m, j) => (
              <BotMessage key={j} message={m} onReply={waiting && i === turns.length - 1 ? (id, title) => send({ reply_id: id }, title) : null} />
            ))}
          </div>
        ))}
      </div>
      {result ? (
        <p role="status" className="text-xs text-slate-700">
          {result.status === 'waiting'
            ? t('flows.simWaiting', { node: result.node ?? '' })
            : result.status === 'handoff'
              ? t('flows.simHandoff', { team: result.team ?? '' })
              : t('flows.simEnded', { resolved: result.resolved ? t('flows.resolvedYes') : t('flows.resolvedNo') })}
        </p>
      ) : null}
      {error ? <p role="alert" className="text-xs text-red-800">{error}</p> : null}
      <form
        className="flex gap-1"
        onSubmit={(e) => {
          e.preventDefault()
          if (!draft.trim()) return
          send(draft, draft)
          setDraft('')
        }}
      >
        <label htmlFor={inputId} className="sr-only">
          {t('flows.simMessage')}
        </label>
        <input id={inputId} className="min-w-0 flex-1 rounded border border-slate-300 px-2 py-1 text-sm" value={draft} disabled={busy || (transcript !== null && !waiting)} onChange={(e) => setDraft(e.target.value)} placeholder={t('flows.simPlaceholder')} />
        <button type="submit" className={BUTTON} disabled={busy}>
          {t('flows.simSend')}
        </button>
        <button type="button" className={BUTTON} disabled={busy || !waiting} onClick={() => send({ timer: true }, t('flows.timerFired'))}>
          {t('flows.simTimer')}
        </button>
        <button type="button" className={BUTTON} onClick={restart}>
          {t('flows.simRestart')}
        </button>
      </form>
    </div>
  )
}
