import { useState } from 'react'
import { t } from '@/lib/i18n'
import { MESSAGE_TYPES } from './catalog'
import { connect, removeNodes, renameNode, setStart } from './document'
import type { Limits } from './limits'
import { NodeForm, useSelectedNode } from './NodeForm'
import { outcomesOf } from './outcomes'
import { MessagePreview } from './Preview'
import { fieldMessages, type Located } from './problems'
import { edit, select, useEditor } from './store'
import type { FlowNode, ModuleCatalog } from './types'
import { INPUT } from './fields'

const ID = /^[A-Za-z0-9_-]{1,64}$/

/** The node's id: renaming it renames every edge and the start that name it. */
function IdField({ node }: { node: FlowNode }) {
  const [value, setValue] = useState(node.id)
  const [error, setError] = useState<string | null>(null)
  const apply = () => {
    if (value === node.id) return setError(null)
    if (!ID.test(value)) return setError(t('flows.badId'))
    if (useEditor.getState().doc.nodes.some((n) => n.id === value)) return setError(t('flows.idTaken'))
    setError(null)
    edit((d) => renameNode(d, node.id, value))
    select(value)
  }
  return (
    <div className="flex flex-col gap-0.5">
      <label htmlFor="flows-node-id" className="text-xs font-medium text-slate-700">
        {t('flows.nodeId')}
      </label>
      <input
        id="flows-node-id"
        className={`${INPUT} font-mono`}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? 'flows-node-id-error' : undefined}
        onChange={(e) => setValue(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === 'Enter') apply()
        }}
      />
      {error ? (
        <p id="flows-node-id-error" className="text-xs text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  )
}

/** Where each outcome leads, as selects: the keyboard's way to draw edges. */
function Connections({ node, modules }: { node: FlowNode; modules: ModuleCatalog }) {
  const doc = useEditor((s) => s.doc)
  const outcomes = outcomesOf(node, modules)
  if (!outcomes.length) return <p className="text-xs text-slate-600">{t('flows.noOutcomes')}</p>
  return (
    <fieldset className="flex flex-col gap-1 rounded border border-slate-200 p-2">
      <legend className="px-1 text-xs font-medium text-slate-700">{t('flows.connections')}</legend>
      {outcomes.map((on) => {
        const current = doc.edges.find((e) => e.from === node.id && (e.on ?? 'next') === on)
        const id = `flows-edge-${node.id}-${on}`
        return (
          <div key={on} className="flex items-center gap-2">
            <label htmlFor={id} className="w-24 shrink-0 truncate font-mono text-xs text-slate-700">
              {on}
            </label>
            <select
              id={id}
              className={INPUT}
              value={current?.to ?? ''}
              onChange={(e) => {
                const to = e.target.value
                if (to) edit((d) => connect(d, node.id, on, to))
                else edit((d) => ({ ...d, edges: d.edges.filter((x) => !(x.from === node.id && (x.on ?? 'next') === on)) }))
              }}
            >
              <option value="">{t('flows.noEdge')}</option>
              {doc.nodes.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.id}
                </option>
              ))}
            </select>
          </div>
        )
      })}
    </fieldset>
  )
}

interface NodePanelProps {
  modules: ModuleCatalog
  limits: Limits
  located: readonly Located[]
}

/** The selected node: its id, the form for its fields, where its outcomes lead, its
 * problems and, for a message, a preview. */
export function NodePanel({ modules, limits, located }: NodePanelProps) {
  const node = useSelectedNode()
  const revision = useEditor((s) => s.revision)
  const isStart = useEditor((s) => node !== null && s.doc.start === node.id)
  if (!node) return <p className="p-3 text-sm text-slate-600">{t('flows.selectHint')}</p>
  return (
    <div className="flex flex-col gap-3 p-3">
      <div className="flex items-center gap-2">
        <h3 className="font-mono text-sm font-semibold">{node.type}</h3>
        {isStart ? (
          <span className="rounded bg-emerald-700 px-1.5 text-xs text-white">{t('flows.start')}</span>
        ) : (
          <button type="button" className="rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600" onClick={() => edit((d) => setStart(d, node.id))}>
            {t('flows.makeStart')}
          </button>
        )}
        <button
          type="button"
          className="ml-auto rounded border border-red-300 px-2 py-0.5 text-xs text-red-700 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-red-600"
          onClick={() => edit((d) => removeNodes(d, new Set([node.id])))}
        >
          {t('flows.deleteNode')}
        </button>
      </div>
      {located.length ? (
        <ul aria-label={t('flows.nodeProblems')} className="flex flex-col gap-1 rounded bg-red-50 p-2 text-xs text-red-800">
          {located.map((l, i) => (
            <li key={i}>
              <span className="font-mono">{l.problem.path}</span>: {l.problem.message}
            </li>
          ))}
        </ul>
      ) : null}
      <IdField key={`id:${node.id}:${String(revision)}`} node={node} />
      <NodeForm key={`form:${node.id}:${String(revision)}`} node={node} modules={modules} limits={limits} serverErrors={fieldMessages(located)} />
      <Connections node={node} modules={modules} />
      {MESSAGE_TYPES.has(node.type) ? <MessagePreview node={node} /> : null}
    </div>
  )
}
