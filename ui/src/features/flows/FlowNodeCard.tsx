import { Handle, Position, type Node, type NodeProps } from '@xyflow/react'
import { memo } from 'react'
import { t } from '@/lib/i18n'
import { categoryOf } from './catalog'
import type { NodeMetrics } from './api'
import type { FlowNode } from './types'

export interface CardData extends Record<string, unknown> {
  node: FlowNode
  handles: { outcome: string; known: boolean }[]
  summary: string
  isStart: boolean
  problems: number
  metric: NodeMetrics | null
  waiting: boolean
}

export type CanvasNode = Node<CardData, 'flow'>

const TONE: Record<string, string> = {
  send: 'border-sky-400 bg-sky-50',
  ask: 'border-amber-400 bg-amber-50',
  call: 'border-violet-400 bg-violet-50',
  end: 'border-slate-400 bg-white',
  module: 'border-teal-500 bg-teal-50',
}

/** A loop and a subflow change where the conversation goes next in ways a plain arrow does
 * not show: they get their own frame. */
function frameOf(type: string): string {
  if (type === 'loop') return 'border-dashed border-[3px] border-fuchsia-500 bg-fuchsia-50'
  if (type === 'subflow') return 'border-double border-4 border-indigo-500 bg-indigo-50'
  return `border-2 ${TONE[categoryOf(type)] ?? TONE.end}`
}

/** A node on the canvas: its type, id, what it does, and one source handle per outcome. */
function Card({ data, selected }: NodeProps<CanvasNode>) {
  const { node, handles, summary, isStart, problems, metric, waiting } = data
  return (
    <div
      className={`w-60 rounded-lg text-xs shadow-sm ${frameOf(node.type)} ${selected ? 'ring-2 ring-emerald-600' : ''} ${
        waiting ? 'outline-4 outline-offset-2 outline-emerald-500' : ''
      } ${problems ? 'border-red-500' : ''}`}
    >
      <Handle type="target" position={Position.Left} className="h-3! w-3! bg-slate-600!" />
      <div className="flex items-center gap-1 px-2 pt-1.5">
        <span className="font-mono text-[10px] text-slate-600 uppercase">{node.type}</span>
        {isStart ? <span className="rounded bg-emerald-700 px-1 text-[10px] font-semibold text-white">{t('flows.start')}</span> : null}
        {problems ? (
          <span className="ml-auto rounded-full bg-red-600 px-1.5 text-[10px] font-semibold text-white" title={t('flows.problemCount', { count: problems })}>
            {t('flows.problemBadge', { count: problems })}
          </span>
        ) : null}
      </div>
      <div className="truncate px-2 font-semibold text-slate-900">{node.label || node.id}</div>
      {summary ? <div className="line-clamp-2 px-2 text-slate-700">{summary}</div> : null}
      {metric ? (
        <div className="mx-2 mt-1 flex gap-2 rounded bg-slate-800 px-1.5 py-0.5 text-[10px] text-white">
          <span>{t('flows.metricSteps', { count: metric.steps })}</span>
          <span>{t('flows.metricDropped', { count: metric.dropped })}</span>
          {metric.in_progress ? <span>{t('flows.metricWaiting', { count: metric.in_progress })}</span> : null}
        </div>
      ) : null}
      <ul className="mt-1 pb-1.5">
        {handles.map((h) => (
          <li key={h.outcome} className="relative flex justify-end pr-3 pl-2 leading-5">
            <span className={`truncate font-mono ${h.known ? 'text-slate-700' : 'text-red-700 line-through'}`}>{h.outcome}</span>
            <Handle
              type="source"
              id={h.outcome}
              position={Position.Right}
              className={`h-3! w-3! ${h.known ? 'bg-emerald-700!' : 'bg-red-600!'}`}
            />
          </li>
        ))}
      </ul>
    </div>
  )
}

export const FlowNodeCard = memo(Card)
