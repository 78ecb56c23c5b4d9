import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { t } from '@/lib/i18n'
import { errorText, fetchDetail, fetchVersion, keys, publishFlow, rollbackFlow, useModuleCatalog } from './api'
import { placed } from './arrange'
import { diffFlows } from './diff'
import { DiffView } from './DiffView'
import { normalize } from './document'
import { INPUT } from './fields'
import { edit, useEditor } from './store'
import type { FlowDocument } from './types'

const BUTTON = 'rounded border border-slate-300 bg-white px-2 py-0.5 text-xs hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600 disabled:text-slate-400'
const EDITOR = 'editor'

/** A stored version's document, without the number the store stamps on it. */
function stored(document: FlowDocument): FlowDocument {
  const doc = normalize(document)
  delete doc.version
  return doc
}

function useVersionDoc(flow: string, choice: string): FlowDocument | null | undefined {
  const version = choice === EDITOR || choice === '' ? null : Number(choice)
  const query = useQuery({
    queryKey: keys.version(flow, version ?? 0),
    queryFn: ({ signal }) => fetchVersion(flow, version ?? 0, signal),
    enabled: version !== null,
    staleTime: Infinity,
  })
  const current = useEditor((s) => s.doc)
  if (choice === EDITOR) return current
  if (version === null) return null
  return query.data ? stored(query.data.document) : undefined
}

/** The flow's versions: load one into the editor, compare two, roll back, publish a
 * candidate for a share of new conversations. */
export function VersionsPanel({ flow }: { flow: string }) {
  const queryClient = useQueryClient()
  const modules = useModuleCatalog()
  const detail = useQuery({ queryKey: keys.detail(flow), queryFn: ({ signal }) => fetchDetail(flow, signal) })
  const [from, setFrom] = useState('')
  const [to, setTo] = useState(EDITOR)
  const [share, setShare] = useState('')
  const [notice, setNotice] = useState<string | null>(null)
  const before = useVersionDoc(flow, from)
  const after = useVersionDoc(flow, to)
  const fromId = useId()
  const toId = useId()
  const shareId = useId()
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.list })
  const rollback = useMutation({
    mutationFn: () => rollbackFlow(flow),
    onSuccess: (r) => {
      setNotice(t('flows.rolledBack', { version: r.version }))
      refresh()
    },
  })
  const candidate = useMutation({
    mutationFn: (version: number) => publishFlow(flow, { version, share: Number(share) }),
    onSuccess: (r) => {
      // A server that does not know `share` yet publishes the version for everyone: say so.
      setNotice(r.status === 'candidate' ? t('flows.candidatePublished', { version: r.version, share }) : t('flows.shareIgnored', { version: r.version }))
      refresh()
    },
  })
  const load = async (version: number) => {
    const answer = await queryClient.fetchQuery({ queryKey: keys.version(flow, version), queryFn: ({ signal }) => fetchVersion(flow, version, signal), staleTime: Infinity })
    edit(() => placed(stored(answer.document), modules))
    setNotice(t('flows.loadedVersion', { version }))
  }
  const versions = [...(detail.data?.versions ?? [])].reverse()
  const shareValue = Number(share)
  const shareOk = share !== '' && shareValue > 0 && shareValue < 1
  const latest = versions[0]?.version
  return (
    <div className="flex flex-col gap-3 p-3 text-sm">
      {detail.isError ? <p role="alert" className="text-red-800">{errorText(detail.error)}</p> : null}
      {notice ? <p role="status" className="text-emerald-800">{notice}</p> : null}
      <table className="w-full text-xs">
        <caption className="sr-only">{t('flows.versions')}</caption>
        <thead>
          <tr className="text-left text-slate-600">
            <th scope="col">{t('flows.version')}</th>
            <th scope="col">{t('flows.status')}</th>
            <th scope="col">
              <span className="sr-only">{t('flows.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} className="border-t border-slate-100">
              <td className="py-1">v{v.version}</td>
              <td>{v.status}</td>
              <td className="text-right">
                <button type="button" className={BUTTON} aria-label={t('flows.loadVersion', { version: v.version })} onClick={() => void load(v.version)}>
                  {t('flows.load')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className={BUTTON} disabled={rollback.isPending} onClick={() => rollback.mutate()}>
        {t('flows.rollback')}
      </button>
      {rollback.isError ? <p role="alert" className="text-xs text-red-800">{errorText(rollback.error)}</p> : null}

      <fieldset className="flex flex-col gap-2 rounded border border-slate-200 p-2">
        <legend className="px-1 text-xs font-medium">{t('flows.compare')}</legend>
        <div className="flex gap-2">
          <div className="flex flex-1 flex-col">
            <label htmlFor={fromId} className="text-xs">{t('flows.compareFrom')}</label>
            <select id={fromId} className={INPUT} value={from} onChange={(e) => setFrom(e.target.value)}>
              <option value="">—</option>
              {versions.map((v) => <option key={v.version} value={String(v.version)}>v{v.version} ({v.status})</option>)}
              <option value={EDITOR}>{t('flows.editorVersion')}</option>
            </select>
          </div>
          <div className="flex flex-1 flex-col">
            <label htmlFor={toId} className="text-xs">{t('flows.compareTo')}</label>
            <select id={toId} className={INPUT} value={to} onChange={(e) => setTo(e.target.value)}>
              <option value="">—</option>
              {versions.map((v) => <option key={v.version} value={String(v.version)}>v{v.version} ({v.status})</option>)}
              <option value={EDITOR}>{t('flows.editorVersion')}</option>
            </select>
          </div>
        </div>
        {before && after ? <DiffView diff={diffFlows(before, after)} /> : before === undefined || after === undefined ? <p className="text-xs">{t('common.loading')}</p> : null}
      </fieldset>

      <fieldset className="flex flex-col gap-2 rounded border border-slate-200 p-2">
        <legend className="px-1 text-xs font-medium">{t('flows.candidate')}</legend>
        <label htmlFor={shareId} className="text-xs">{t('flows.share')}</label>
        <input id={shareId} className={INPUT} inputMode="decimal" value={share} placeholder="0.2" onChange={(e) => setShare(e.target.value)} aria-describedby={`${shareId}-hint`} />
        <p id={`${shareId}-hint`} className="text-xs text-slate-600">{t('flows.shareHint')}</p>
        <button type="button" className={BUTTON} disabled={!shareOk || latest === undefined || candidate.isPending} onClick={() => latest !== undefined && candidate.mutate(latest)}>
          {t('flows.publishCandidate', { version: latest ?? '' })}
        </button>
        {candidate.isError ? <p role="alert" className="text-xs text-red-800">{errorText(candidate.error)}</p> : null}
      </fieldset>
    </div>
  )
}
