import { t } from '@/lib/i18n'
import type { ProblemIndex } from './problems'

/** Every problem the validator found: the document's own, then each node's (a button selects
 * the node). */
export function ProblemsPanel({ index, validated, onShow }: { index: ProblemIndex; validated: boolean; onShow: (id: string) => void }) {
  if (!validated) return <p className="p-3 text-sm text-slate-600">{t('flows.validating')}</p>
  if (!index.all.length) return <p className="p-3 text-sm text-emerald-800">{t('flows.noProblems')}</p>
  return (
    <ul aria-label={t('flows.problemsList')} className="flex flex-col gap-1 p-3 text-sm">
      {index.all.map((l, i) => (
        <li key={i} className="rounded border border-red-200 bg-red-50 p-2">
          <div className="flex items-center gap-2">
            <span className="font-mono text-xs text-red-900">{l.problem.path || t('flows.documentPath')}</span>
            <span className="rounded bg-red-200 px-1 text-[10px] text-red-900">{l.problem.code}</span>
            {l.nodeId ? (
              <button
                type="button"
                className="ml-auto rounded border border-red-300 bg-white px-2 py-0.5 text-xs text-red-800 hover:bg-red-100 focus-visible:outline-2 focus-visible:outline-red-600"
                onClick={() => l.nodeId !== null && onShow(l.nodeId)}
              >
                {t('flows.showNode', { id: l.nodeId })}
              </button>
            ) : null}
          </div>
          <p className="text-red-900">{l.problem.message}</p>
        </li>
      ))}
    </ul>
  )
}
