import { useId, useState } from 'react'
import { t } from '@/lib/i18n'
import { setStart } from './document'
import { INPUT } from './fields'
import type { Limits } from './limits'
import type { Located } from './problems'
import { edit, useEditor } from './store'
import type { FlowDocument } from './types'

/** The flow's initial variables as JSON: written to the document while they parse as an
 * object, the error shown otherwise. */
function VariablesField({ located }: { located: readonly Located[] }) {
  const id = useId()
  const initial = useEditor((s) => s.doc.variables)
  const [text, setText] = useState(() => (initial ? JSON.stringify(initial, null, 2) : ''))
  const [error, setError] = useState<string | null>(null)
  const problem = located.find((l) => l.problem.path.startsWith('variables'))?.problem.message
  const shown = error ?? problem
  return (
    <div className="flex flex-col gap-0.5">
      <label htmlFor={id} className="text-xs font-medium">{t('flows.variables')}</label>
      <textarea
        id={id}
        rows={3}
        className={`${INPUT} font-mono`}
        value={text}
        aria-invalid={shown ? true : undefined}
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          const value = e.target.value
          setText(value)
          if (!value.trim()) {
            setError(null)
            edit((d) => {
              const next: FlowDocument = { ...d }
              delete next.variables
              return next
            }, 'flow:variables', false)
            return
          }
          try {
            const parsed = JSON.parse(value) as unknown
            if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
            setError(null)
            edit((d) => ({ ...d, variables: parsed as Record<string, unknown> }), 'flow:variables', false)
          } catch {
            setError(t('flows.variablesBad'))
          }
        }}
      />
      <p id={`${id}-hint`} className="text-xs text-slate-600">{t('flows.variablesHint')}</p>
      {shown ? <p className="text-xs text-red-700">{shown}</p> : null}
    </div>
  )
}

/** The document's own fields: name, description, start node and initial variables, with
 * their problems. */
export function FlowSettings({ limits, located }: { limits: Limits; located: readonly Located[] }) {
  const doc = useEditor((s) => s.doc)
  // Undo and loading a version start the JSON text again from the document.
  const revision = useEditor((s) => s.revision)
  const nameId = useId()
  const descriptionId = useId()
  const startId = useId()
  const max = limits['flow.name']?.max ?? 200
  const problemAt = (path: string) => located.find((l) => l.problem.path === path)?.problem.message
  const nameProblem = problemAt('name')
  const startProblem = problemAt('start')
  return (
    <div className="flex flex-col gap-3 p-3 text-sm">
      <p className="font-mono text-xs text-slate-600">{t('flows.flowId', { id: doc.id })}</p>
      <div className="flex flex-col gap-0.5">
        <div className="flex justify-between">
          <label htmlFor={nameId} className="text-xs font-medium">{t('flows.flowName')}</label>
          <span className="text-xs text-slate-600">{t('flows.counter', { length: doc.name.length, max })}</span>
        </div>
        <input id={nameId} className={INPUT} value={doc.name} aria-invalid={nameProblem ? true : undefined} onChange={(e) => { const name = e.target.value; edit((d) => ({ ...d, name }), 'flow:name', false) }} />
        {nameProblem ? <p className="text-xs text-red-700">{nameProblem}</p> : null}
      </div>
      <div className="flex flex-col gap-0.5">
        <label htmlFor={descriptionId} className="text-xs font-medium">{t('flows.description')}</label>
        <textarea id={descriptionId} rows={3} className={INPUT} value={doc.description ?? ''} onChange={(e) => {
          const description = e.target.value
          edit((d) => {
            const next: FlowDocument = { ...d, description }
            if (!description) delete next.description
            return next
          }, 'flow:description', false)
        }} />
      </div>
      <div className="flex flex-col gap-0.5">
        <label htmlFor={startId} className="text-xs font-medium">{t('flows.startNode')}</label>
        <select id={startId} className={INPUT} value={doc.start} aria-invalid={startProblem ? true : undefined} onChange={(e) => { const id = e.target.value; edit((d) => setStart(d, id)) }}>
          {doc.nodes.some((n) => n.id === doc.start) ? null : <option value={doc.start}>{doc.start || '—'}</option>}
          {doc.nodes.map((n) => <option key={n.id} value={n.id}>{n.id}</option>)}
        </select>
        {startProblem ? <p className="text-xs text-red-700">{startProblem}</p> : null}
      </div>
      <VariablesField key={revision} located={located} />
    </div>
  )
}
