import { useQuery, useQueryClient } from '@tanstack/react-query'
import { ReactFlowProvider, useReactFlow } from '@xyflow/react'
import { useCallback, useEffect, useMemo, useState } from 'react'
import { isApiError } from '@/lib/api'
import { t } from '@/lib/i18n'
import { errorText, fetchDetail, fetchMetrics, fetchModuleCatalog, fetchVersion, keys, publishFlow, saveDraft, useLimits, useModuleCatalog, type NodeMetrics } from './api'
import { arrange, placed } from './arrange'
import { addNodeAt, Canvas } from './Canvas'
import { normalize } from './document'
import { downloadFlow } from './download'
import { FlowSettings } from './FlowSettings'
import { NodePanel } from './NodePanel'
import { Palette } from './Palette'
import { indexProblems } from './problems'
import { ProblemsPanel } from './ProblemsPanel'
import { Simulator } from './Simulator'
import { edit, markSaved, openDocument, redoEdit, select, setProblems, undoEdit, useEditor } from './store'
import { panelLabel, Toolbar, type PanelName } from './Toolbar'
import type { FlowDocument, Problem } from './types'
import { useValidation } from './useValidation'
import { VersionsPanel } from './VersionsPanel'

/** The version the builder opens: the latest draft, else the published one, else the newest. */
async function openingDocument(flow: string, signal: AbortSignal): Promise<FlowDocument> {
  const detail = await fetchDetail(flow, signal)
  const versions = detail.versions
  const pick =
    [...versions].reverse().find((v) => v.status === 'draft') ??
    versions.find((v) => v.status === 'published') ??
    versions[versions.length - 1]
  if (!pick) throw new Error(t('flows.noVersions'))
  const answer = await fetchVersion(flow, pick.version, signal)
  const doc = normalize(answer.document)
  delete doc.version
  return doc
}

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
}

/** One flow open in the builder. */
export function FlowEditor({ flow, onClose }: { flow: string; onClose: () => void }) {
  const queryClient = useQueryClient()
  // Not under keys.detail(flow): saving refreshes those, and must not open the flow again.
  const opening = useQuery({
    queryKey: ['flows-open', flow],
    queryFn: async ({ signal }) => {
      const stored = await openingDocument(flow, signal)
      const modules = await queryClient.fetchQuery({ queryKey: keys.modules, queryFn: fetchModuleCatalog, staleTime: 5 * 60_000 }).catch(() => ({}))
      const doc = placed(stored, modules)
      openDocument(doc)
      // A flow that had to be laid out has positions the server has not stored yet.
      if (doc !== stored) markSaved(stored)
      return doc
    },
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
    retry: false,
  })
  if (opening.isError) {
    return (
      <div className="p-4">
        <p role="alert" className="text-sm text-red-800">{errorText(opening.error)}</p>
        <button type="button" className="mt-2 text-sm underline" onClick={onClose}>{t('flows.allFlows')}</button>
      </div>
    )
  }
  if (!opening.data) return <p className="p-4 text-sm text-slate-600">{t('common.loading')}</p>
  return (
    <ReactFlowProvider>
      <Workspace flow={flow} onClose={onClose} />
    </ReactFlowProvider>
  )
}

function Workspace({ flow, onClose }: { flow: string; onClose: () => void }) {
  const queryClient = useQueryClient()
  const modules = useModuleCatalog()
  const limits = useLimits()
  const doc = useEditor((s) => s.doc)
  const problems = useEditor((s) => s.problems)
  const validated = useEditor((s) => s.validated)
  const selected = useEditor((s) => s.selected)
  const showMetrics = useEditor((s) => s.showMetrics)
  const validationFailure = useValidation()
  const { screenToFlowPosition, fitView } = useReactFlow()
  const [panel, setPanel] = useState<PanelName | null>('flow')
  const [saving, setSaving] = useState(false)
  const [publishing, setPublishing] = useState(false)
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null)

  const index = useMemo(() => indexProblems(problems, doc), [problems, doc])
  const problemCounts = useMemo(() => new Map([...index.byNode].map(([id, list]) => [id, list.length])), [index])
  const metricsQuery = useQuery({
    queryKey: keys.metrics(flow),
    queryFn: ({ signal }) => fetchMetrics(flow, signal),
    enabled: showMetrics,
  })
  const metrics = useMemo<ReadonlyMap<string, NodeMetrics> | null>(
    () => (showMetrics && metricsQuery.data ? new Map(metricsQuery.data.nodes.map((m) => [m.node, m])) : null),
    [showMetrics, metricsQuery.data],
  )

  // A node just selected opens its panel, unless the admin is reading another one.
  const [seenSelected, setSeenSelected] = useState(selected)
  if (seenSelected !== selected) {
    setSeenSelected(selected)
    if (selected !== null && (panel === null || panel === 'flow' || panel === 'problems')) setPanel('node')
  }

  const showNode = useCallback((id: string) => {
    select(id)
    setPanel((p) => (p === null || p === 'flow' || p === 'problems' ? 'node' : p))
  }, [])

  const save = useCallback(async (): Promise<boolean> => {
    const current = useEditor.getState().doc
    setSaving(true)
    setMessage(null)
    try {
      const draft = await saveDraft(current)
      markSaved(current)
      setProblems(draft.problems, current)
      setMessage({ ok: true, text: t('flows.saved', { version: draft.version }) })
      void queryClient.invalidateQueries({ queryKey: keys.detail(flow) })
      return true
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) })
      return false
    } finally {
      setSaving(false)
    }
  }, [flow, queryClient])

  const publish = useCallback(async () => {
    if (!(await save())) return
    setPublishing(true)
    try {
      const answer = await publishFlow(flow)
      setMessage({ ok: true, text: t('flows.published', { version: answer.version }) })
      void queryClient.invalidateQueries({ queryKey: keys.list })
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) })
      // Publishing checks more than a draft's validation (teams must exist): its problems
      // go on the nodes like any other.
      const refused = isApiError(error, 'invalid_flow') ? error.body.problems : undefined
      if (Array.isArray(refused)) {
        setProblems(refused as Problem[], useEditor.getState().doc)
        setPanel('problems')
      }
    } finally {
      setPublishing(false)
    }
  }, [flow, queryClient, save])

  const addFromPalette = useCallback(
    (type: string) => {
      const canvas = document.querySelector('.react-flow')?.getBoundingClientRect()
      const center = canvas ? { x: canvas.left + canvas.width / 2, y: canvas.top + canvas.height / 2 } : { x: 400, y: 300 }
      addNodeAt(type, screenToFlowPosition(center), modules)
    },
    [modules, screenToFlowPosition],
  )

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey
      if (e.key === 'Escape') {
        if (useEditor.getState().selected !== null) select(null)
        else setPanel(null)
        return
      }
      if (mod && e.key.toLowerCase() === 's') {
        e.preventDefault()
        void save()
        return
      }
      if (!mod || isTyping(e.target)) return
      const key = e.key.toLowerCase()
      if ((key === 'z' && e.shiftKey) || key === 'y') {
        e.preventDefault()
        redoEdit()
      } else if (key === 'z') {
        e.preventDefault()
        undoEdit()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [save])

  return (
    <div className="flex h-full min-h-0 flex-col">
      <Toolbar
        onBack={onClose}
        onArrange={() => {
          edit((d) => arrange(d, modules))
          window.setTimeout(() => void fitView(), 50)
        }}
        onExport={() => downloadFlow(useEditor.getState().doc)}
        onSave={() => void save()}
        onPublish={() => void publish()}
        saving={saving}
        publishing={publishing}
        problemCount={problems.length}
        validationFailure={validationFailure}
        panel={panel}
        onPanel={setPanel}
      />
      {message ? (
        <p role={message.ok ? 'status' : 'alert'} className={`px-3 py-1 text-sm ${message.ok ? 'bg-emerald-50 text-emerald-900' : 'bg-red-50 text-red-800'}`}>
          {message.text}
        </p>
      ) : null}
      {showMetrics && metricsQuery.data ? (
        <p className="bg-slate-800 px-3 py-1 text-xs text-white">
          {t('flows.metricsSummary', {
            started: metricsQuery.data.runs.started ?? 0,
            resolution: metricsQuery.data.resolution_rate === null ? '—' : `${String(Math.round(metricsQuery.data.resolution_rate * 100))}%`,
            dropoff: metricsQuery.data.drop_off_rate === null ? '—' : `${String(Math.round(metricsQuery.data.drop_off_rate * 100))}%`,
          })}
        </p>
      ) : null}
      {showMetrics && metricsQuery.isError ? <p role="alert" className="px-3 text-xs text-red-800">{errorText(metricsQuery.error)}</p> : null}
      <div className="flex min-h-0 flex-1">
        <Palette modules={modules} onAdd={addFromPalette} />
        <Canvas modules={modules} problemCounts={problemCounts} metrics={metrics} onNodeClick={showNode} />
        {panel ? (
          <aside aria-label={t(panelLabel(panel))} className="w-96 shrink-0 overflow-y-auto border-l border-slate-200 bg-white">
            <div className="flex items-center border-b border-slate-200 px-3 py-1.5">
              <h2 className="text-sm font-semibold">{t(panelLabel(panel))}</h2>
              <button type="button" className="ml-auto rounded px-2 text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600" aria-label={t('flows.closePanel')} onClick={() => setPanel(null)}>
                ×
              </button>
            </div>
            {panel === 'node' ? <NodePanel modules={modules} limits={limits} located={selected ? (index.byNode.get(selected) ?? []) : []} /> : null}
            {panel === 'flow' ? <FlowSettings limits={limits} located={index.document} /> : null}
            {panel === 'problems' ? <ProblemsPanel index={index} validated={validated} onShow={showNode} /> : null}
            {panel === 'versions' ? <VersionsPanel flow={flow} /> : null}
            {panel === 'simulator' ? <Simulator /> : null}
          </aside>
        ) : null}
      </div>
    </div>
  )
}
