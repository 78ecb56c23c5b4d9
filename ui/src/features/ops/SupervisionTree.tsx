import { useId, useState } from 'react'
import { t } from '@/lib/i18n'
import type { KindSummary, ServiceNode, Supervision } from './api'
import { sortKinds } from './model'
import { TD, TH } from './parts'

const stateLook: Record<string, string> = {
  running: 'bg-emerald-100 text-emerald-900',
  backoff: 'bg-amber-100 text-amber-900',
  restarting: 'bg-amber-100 text-amber-900',
  starting: 'bg-sky-100 text-sky-900',
}

function StateBadge({ state }: { state: string }) {
  return <span className={`rounded px-1.5 py-0.5 text-xs ${stateLook[state] ?? 'bg-slate-100 text-slate-800'}`}>{state}</span>
}

function Counters({ node, kind }: { node: ServiceNode; kind: KindSummary | undefined }) {
  // [label, value, whether a non-zero value is trouble]
  const items: [string, number, boolean][] = kind
    ? [
        [t('ops.live'), kind.live, false],
        [t('ops.queued'), kind.queued, false],
        [t('ops.crashes'), kind.crashes, true],
        [t('ops.restarts'), kind.restarts, true],
        [t('ops.deadLetters'), kind.dead_letters, true],
      ]
    : [
        [t('ops.restarts'), node.restarts, true],
        [t('ops.crashes'), node.crashes, true],
      ]
  return (
    <span className="flex flex-wrap gap-x-3 text-xs text-slate-700">
      {items.map(([label, value, trouble]) => (
        <span key={label} className={trouble && value > 0 ? 'font-semibold text-red-800' : ''}>
          {label}: <span className="tabular-nums">{value}</span>
        </span>
      ))}
    </span>
  )
}

function Node({ node, kinds }: { node: ServiceNode; kinds: Map<string, KindSummary> }) {
  const [open, setOpen] = useState(true)
  const groupId = useId()
  const kind = node.kind === 'actor-kind' ? kinds.get(node.id) : undefined
  const hasChildren = node.children.length > 0
  return (
    <li className="py-0.5" data-node={node.id} data-kind={node.kind}>
      <div className="flex flex-wrap items-center gap-2">
        {hasChildren ? (
          <button
            type="button"
            aria-expanded={open}
            aria-controls={groupId}
            onClick={() => setOpen((o) => !o)}
            className="rounded px-1 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600"
          >
            <span aria-hidden="true">{open ? '▾' : '▸'}</span> {node.id}
          </button>
        ) : (
          <span className="px-1 text-sm font-medium">{node.id}</span>
        )}
        <span className="text-xs text-slate-600">{node.kind}</span>
        <StateBadge state={node.state} />
        <Counters node={node} kind={kind} />
      </div>
      {kind && kind.hot.length > 0 ? (
        <p className="ml-6 text-xs text-slate-700">
          {t('ops.hotSpots')}: {kind.hot.map((h) => t('ops.hotSpot', { id: h.id, depth: h.depth })).join(', ')}
        </p>
      ) : null}
      {hasChildren ? (
        <ul id={groupId} hidden={!open} className="ml-4 border-l border-slate-200 pl-2">
          {node.children.map((child) => (
            <Node key={`${child.kind}:${child.id}`} node={child} kinds={kinds} />
          ))}
        </ul>
      ) : null}
    </li>
  )
}

/** The live supervision tree, Observer-like: supervisors, services, actor kinds with their
 * counters and mailbox hot spots; then a table of the kinds, the most troubled first. */
export function SupervisionTree({ supervision }: { supervision: Supervision | null }) {
  const kinds = new Map((supervision?.kinds ?? []).map((k) => [k.kind, k]))
  return (
    <section aria-labelledby="ops-tree-title" className="flex flex-col gap-2">
      <h2 id="ops-tree-title" className="text-lg font-semibold">
        {t('ops.tree')}
      </h2>
      <p className="text-xs text-slate-600">{t('ops.treeHint')}</p>
      {supervision ? (
        <>
          <ul aria-labelledby="ops-tree-title" className="rounded-lg bg-white p-3 shadow-sm">
            <Node node={supervision.tree} kinds={kinds} />
          </ul>
          <div className="overflow-x-auto rounded-lg bg-white shadow-sm">
            <table className="w-full text-sm">
              <caption className="px-2 pt-2 text-left text-sm font-semibold">{t('ops.kinds')}</caption>
              <thead>
                <tr>
                  <th scope="col" className={TH}>{t('ops.kind')}</th>
                  <th scope="col" className={TH}>{t('ops.state')}</th>
                  <th scope="col" className={TH}>{t('ops.live')}</th>
                  <th scope="col" className={TH}>{t('ops.queued')}</th>
                  <th scope="col" className={TH}>{t('ops.handled')}</th>
                  <th scope="col" className={TH}>{t('ops.crashes')}</th>
                  <th scope="col" className={TH}>{t('ops.restarts')}</th>
                  <th scope="col" className={TH}>{t('ops.deadLetters')}</th>
                  <th scope="col" className={TH}>{t('ops.hotSpots')}</th>
                </tr>
              </thead>
              <tbody>
                {sortKinds(supervision.kinds).map((k) => (
                  <tr key={k.kind} className="border-t border-slate-100" data-kind-row={k.kind}>
                    <th scope="row" className={`${TD} text-left font-medium`}>{k.kind}</th>
                    <td className={TD}><StateBadge state={k.state} /></td>
                    <td className={`${TD} tabular-nums`}>{k.live}</td>
                    <td className={`${TD} tabular-nums`}>{k.queued}</td>
                    <td className={`${TD} tabular-nums`}>{k.handled}</td>
                    <td className={`${TD} tabular-nums`} data-testid={`ops-crashes-${k.kind}`}>{k.crashes}</td>
                    <td className={`${TD} tabular-nums`} data-testid={`ops-restarts-${k.kind}`}>{k.restarts}</td>
                    <td className={`${TD} tabular-nums`}>{k.dead_letters}</td>
                    <td className={TD}>
                      {k.hot.length
                        ? k.hot.map((h) => t('ops.hotSpot', { id: h.id, depth: h.depth })).join(', ')
                        : t('ops.noHotSpots')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : (
        <p className="text-sm text-slate-600">{t('ops.waitingForTree')}</p>
      )}
    </section>
  )
}
