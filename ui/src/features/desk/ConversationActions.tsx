import { useQuery } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { Button, Dialog } from '@/components'
import { apiFetch, type MembersPage, type TeamsPage } from '@/lib/api'
import { t } from '@/lib/i18n'
import type { ActionDialog, InboxItem } from './store'
import { useCommands } from './useCommands'

const FIELD = 'rounded-md border border-slate-300 px-3 py-2 text-sm outline-none focus:ring-2 focus:ring-emerald-500'

/** The largest note the server takes (docs/agent-protocol.md, `note`). */
const MAX_NOTE = 4096

interface ActionsProps {
  item: InboxItem
  open: ActionDialog | null
  onOpenChange: (open: ActionDialog | null) => void
}

/** What an agent does to an assigned conversation besides replying: a private note, labels,
 * priority and a transfer. Each opens a dialog; the shortcuts N and T open the first and last. */
export function ConversationActions({ item, open, onOpenChange }: ActionsProps) {
  const close = (isOpen: boolean) => {
    if (!isOpen) onOpenChange(null)
  }
  return (
    <div role="toolbar" aria-label={t('desk.actions')} className="flex flex-wrap gap-1 border-b border-slate-200 bg-white px-4 py-1.5">
      <Button variant="ghost" size="sm" aria-keyshortcuts="N" onClick={() => onOpenChange('note')}>
        {t('desk.note')}
      </Button>
      <Button variant="ghost" size="sm" onClick={() => onOpenChange('labels')}>
        {t('desk.labels')}
      </Button>
      <Button variant="ghost" size="sm" onClick={() => onOpenChange('priority')}>
        {t('desk.priority')}
        {item.priority !== 0 ? <span className="rounded bg-amber-100 px-1 text-amber-900">{item.priority}</span> : null}
      </Button>
      <Button variant="ghost" size="sm" aria-keyshortcuts="T" onClick={() => onOpenChange('transfer')}>
        {t('desk.transfer')}
      </Button>
      <Dialog open={open === 'note'} onOpenChange={close} title={t('desk.addNote')} closeLabel={t('common.cancel')}>
        <NoteForm conversationId={item.id} done={() => onOpenChange(null)} />
      </Dialog>
      <Dialog open={open === 'labels'} onOpenChange={close} title={t('desk.labels')} closeLabel={t('common.close')}>
        <LabelsForm item={item} />
      </Dialog>
      <Dialog open={open === 'priority'} onOpenChange={close} title={t('desk.priority')} closeLabel={t('common.cancel')}>
        <PriorityForm item={item} done={() => onOpenChange(null)} />
      </Dialog>
      <Dialog open={open === 'transfer'} onOpenChange={close} title={t('desk.transfer')} closeLabel={t('common.cancel')}>
        <TransferForm conversationId={item.id} done={() => onOpenChange(null)} />
      </Dialog>
    </div>
  )
}

function NoteForm({ conversationId, done }: { conversationId: number; done: () => void }) {
  const commands = useCommands()
  const [text, setText] = useState('')
  const [busy, setBusy] = useState(false)
  const id = useId()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!text.trim()) return
    setBusy(true)
    const ack = await commands.note(conversationId, text.trim())
    setBusy(false)
    if (ack) done()
  }
  return (
    <form className="flex flex-col gap-3" onSubmit={(e) => void submit(e)}>
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {t('desk.noteText')}
      </label>
      <textarea
        id={id}
        rows={4}
        maxLength={MAX_NOTE}
        value={text}
        // The dialog opens for this one field: typing can start at once.
        autoFocus
        onChange={(e) => setText(e.target.value)}
        className={FIELD}
      />
      <p className="text-xs text-slate-500">{t('desk.noteHint')}</p>
      <Button type="submit" disabled={busy || !text.trim()}>
        {t('desk.saveNote')}
      </Button>
    </form>
  )
}

function LabelsForm({ item }: { item: InboxItem }) {
  const commands = useCommands()
  const [label, setLabel] = useState('')
  const id = useId()
  const add = async (e: FormEvent) => {
    e.preventDefault()
    const value = label.trim()
    if (!value) return
    if (await commands.labels(item.id, [value], [])) setLabel('')
  }
  return (
    <div className="flex flex-col gap-3">
      {item.labels.length === 0 ? (
        <p className="text-sm text-slate-500">{t('desk.noLabels')}</p>
      ) : (
        <ul aria-label={t('desk.labels')} className="flex flex-wrap gap-2">
          {item.labels.map((name) => (
            <li key={name} className="flex items-center gap-1 rounded bg-slate-200 py-0.5 pr-0.5 pl-2 text-sm">
              {name}
              <Button
                variant="ghost"
                size="sm"
                aria-label={t('desk.removeLabel', { label: name })}
                onClick={() => void commands.labels(item.id, [], [name])}
              >
                ×
              </Button>
            </li>
          ))}
        </ul>
      )}
      <form className="flex items-end gap-2" onSubmit={(e) => void add(e)}>
        <div className="flex min-w-0 flex-1 flex-col gap-1">
          <label htmlFor={id} className="text-sm font-medium text-slate-700">
            {t('desk.newLabel')}
          </label>
          <input id={id} value={label} maxLength={64} autoFocus onChange={(e) => setLabel(e.target.value)} className={FIELD} />
        </div>
        <Button type="submit" disabled={!label.trim()}>
          {t('desk.addLabel')}
        </Button>
      </form>
    </div>
  )
}

const PRIORITIES: [number, 'desk.priorityLow' | 'desk.priorityNormal' | 'desk.priorityHigh' | 'desk.priorityUrgent'][] = [
  [-10, 'desk.priorityLow'],
  [0, 'desk.priorityNormal'],
  [10, 'desk.priorityHigh'],
  [50, 'desk.priorityUrgent'],
]

function PriorityForm({ item, done }: { item: InboxItem; done: () => void }) {
  const commands = useCommands()
  const [value, setValue] = useState(item.priority)
  const id = useId()
  const known = PRIORITIES.some(([p]) => p === item.priority)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (await commands.priority(item.id, value)) done()
  }
  return (
    <form className="flex flex-col gap-3" onSubmit={(e) => void submit(e)}>
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {t('desk.priority')}
      </label>
      <select id={id} value={value} autoFocus onChange={(e) => setValue(Number(e.target.value))} className={FIELD}>
        {known ? null : <option value={item.priority}>{item.priority}</option>}
        {PRIORITIES.map(([p, key]) => (
          <option key={p} value={p}>
            {t(key)}
          </option>
        ))}
      </select>
      <p className="text-xs text-slate-500">{t('desk.priorityHint')}</p>
      <Button type="submit" disabled={value === item.priority}>
        {t('desk.save')}
      </Button>
    </form>
  )
}

function TransferForm({ conversationId, done }: { conversationId: number; done: () => void }) {
  const commands = useCommands()
  const [team, setTeam] = useState<number | null>(null)
  const [agent, setAgent] = useState<number | null>(null)
  const [note, setNote] = useState('')
  const [busy, setBusy] = useState(false)
  const teamId = useId()
  const agentId = useId()
  const noteId = useId()
  const teams = useQuery({
    queryKey: ['teams'],
    queryFn: () => apiFetch<TeamsPage>('/api/v1/teams?limit=500'),
    staleTime: 60_000,
  })
  const members = useQuery({
    queryKey: ['teams', team, 'members'],
    queryFn: () => apiFetch<MembersPage>(`/api/v1/teams/${String(team)}/members?limit=500`),
    enabled: team !== null,
    staleTime: 30_000,
  })
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (team === null) return
    setBusy(true)
    const ack = await commands.transfer(conversationId, team, agent, note)
    setBusy(false)
    if (ack) done()
  }
  return (
    <form className="flex flex-col gap-3" onSubmit={(e) => void submit(e)}>
      <label htmlFor={teamId} className="text-sm font-medium text-slate-700">
        {t('desk.transferTeam')}
      </label>
      <select
        id={teamId}
        value={team ?? ''}
        autoFocus
        required
        onChange={(e) => {
          setTeam(e.target.value ? Number(e.target.value) : null)
          setAgent(null)
        }}
        className={FIELD}
      >
        <option value="">{teams.isPending ? t('common.loading') : t('desk.chooseTeam')}</option>
        {(teams.data?.teams ?? []).map((tm) => (
          <option key={tm.id} value={tm.id}>
            {tm.name}
          </option>
        ))}
      </select>
      {teams.isError ? <p className="text-xs text-red-600">{t('common.error', { detail: teams.error.message })}</p> : null}
      <label htmlFor={agentId} className="text-sm font-medium text-slate-700">
        {t('desk.transferAgent')}
      </label>
      <select
        id={agentId}
        value={agent ?? ''}
        disabled={team === null}
        onChange={(e) => setAgent(e.target.value ? Number(e.target.value) : null)}
        className={FIELD}
      >
        <option value="">{t('desk.anyAgent')}</option>
        {(members.data?.members ?? [])
          .filter((m) => m.active)
          .map((m) => (
            <option key={m.user_id} value={m.user_id}>
              {m.name}
            </option>
          ))}
      </select>
      <label htmlFor={noteId} className="text-sm font-medium text-slate-700">
        {t('desk.transferNote')}
      </label>
      <textarea id={noteId} rows={3} maxLength={MAX_NOTE} value={note} onChange={(e) => setNote(e.target.value)} className={FIELD} />
      <Button type="submit" disabled={busy || team === null}>
        {t('desk.transfer')}
      </Button>
    </form>
  )
}
