import { t } from '@/lib/i18n'
import { isEmptyDiff, type FlowDiff } from './diff'

function show(value: unknown): string {
  if (value === undefined) return '—'
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A diff as lists: nodes added, removed and changed (field by field), edges. */
export function DiffView({ diff }: { diff: FlowDiff }) {
  if (isEmptyDiff(diff)) return <p className="text-sm text-slate-600">{t('flows.noDifferences')}</p>
  const edge = (e: { from: string; on?: string; to: string }) => `${e.from} —${e.on ?? 'next'}→ ${e.to}`
  return (
    <div aria-label={t('flows.diff')} role="region" className="flex flex-col gap-2 text-xs">
      {diff.document.length ? (
        <section>
          <h4 className="font-semibold">{t('flows.diffDocument')}</h4>
          <ul>
            {diff.document.map((c) => (
              <li key={c.path}>
                <span className="font-mono">{c.path}</span>: <del className="text-red-700">{show(c.before)}</del> → <ins className="text-emerald-800">{show(c.after)}</ins>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {diff.added.length ? (
        <section>
          <h4 className="font-semibold">{t('flows.diffAdded')}</h4>
          <ul>{diff.added.map((n) => <li key={n.id} className="font-mono text-emerald-800">+ {n.id} ({n.type})</li>)}</ul>
        </section>
      ) : null}
      {diff.removed.length ? (
        <section>
          <h4 className="font-semibold">{t('flows.diffRemoved')}</h4>
          <ul>{diff.removed.map((n) => <li key={n.id} className="font-mono text-red-700">− {n.id} ({n.type})</li>)}</ul>
        </section>
      ) : null}
      {diff.changed.length ? (
        <section>
          <h4 className="font-semibold">{t('flows.diffChanged')}</h4>
          <ul className="flex flex-col gap-1">
            {diff.changed.map((c) => (
              <li key={c.id}>
                <span className="font-mono font-semibold">{c.id}</span>
                <ul className="ml-3">
                  {c.fields.map((f) => (
                    <li key={f.path}>
                      <span className="font-mono">{f.path}</span>: <del className="text-red-700">{show(f.before)}</del> → <ins className="text-emerald-800">{show(f.after)}</ins>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {diff.edgesAdded.length || diff.edgesRemoved.length ? (
        <section>
          <h4 className="font-semibold">{t('flows.diffEdges')}</h4>
          <ul className="font-mono">
            {diff.edgesAdded.map((e, i) => <li key={`a${String(i)}`} className="text-emerald-800">+ {edge(e)}</li>)}
            {diff.edgesRemoved.map((e, i) => <li key={`r${String(i)}`} className="text-red-700">− {edge(e)}</li>)}
          </ul>
        </section>
      ) : null}
    </div>
  )
}
