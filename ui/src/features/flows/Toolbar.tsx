import { t, type MessageKey } from '@/lib/i18n'
import { redoEdit, selectCanRedo, selectCanUndo, selectDirty, undoEdit, useEditor } from './store'

export type PanelName = 'node' | 'flow' | 'problems' | 'versions' | 'simulator'

const PANELS: { name: PanelName; label: MessageKey }[] = [
  { name: 'node', label: 'flows.panelNode' },
  { name: 'flow', label: 'flows.panelFlow' },
  { name: 'problems', label: 'flows.panelProblems' },
  { name: 'versions', label: 'flows.panelVersions' },
  { name: 'simulator', label: 'flows.panelSimulator' },
]

export function panelLabel(name: PanelName): MessageKey {
  return PANELS.find((p) => p.name === name)?.label ?? 'flows.panelNode'
}

export const TOOL = 'rounded-md border border-slate-300 bg-white px-2.5 py-1 text-xs font-medium text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-emerald-600 disabled:cursor-not-allowed disabled:text-slate-400'

interface ToolbarProps {
  onBack: () => void
  onArrange: () => void
  onExport: () => void
  onSave: () => void
  onPublish: () => void
  saving: boolean
  publishing: boolean
  problemCount: number
  validationFailure: string | null
  panel: PanelName | null
  onPanel: (panel: PanelName | null) => void
}

/** The builder's commands: history, layout, metrics, saving and publishing, and the panels. */
export function Toolbar(p: ToolbarProps) {
  const name = useEditor((s) => s.doc.name)
  const id = useEditor((s) => s.doc.id)
  const canUndo = useEditor(selectCanUndo)
  const canRedo = useEditor(selectCanRedo)
  const dirty = useEditor(selectDirty)
  const validated = useEditor((s) => s.validated)
  const metrics = useEditor((s) => s.showMetrics)
  const publishable = validated && p.problemCount === 0 && p.validationFailure === null
  let status: string
  if (p.validationFailure) status = p.validationFailure
  else if (!validated) status = t('flows.validating')
  else if (p.problemCount) status = t('flows.problemCount', { count: p.problemCount })
  else status = t('flows.valid')
  return (
    <div role="toolbar" aria-label={t('flows.toolbar')} className="flex flex-wrap items-center gap-1.5 border-b border-slate-200 bg-white px-3 py-2">
      <button type="button" className={TOOL} onClick={p.onBack}>
        ← {t('flows.allFlows')}
      </button>
      <h2 className="mx-2 truncate text-sm font-semibold">
        {name || id} <span className="font-mono text-xs font-normal text-slate-600">({id})</span>
      </h2>
      <button type="button" className={TOOL} disabled={!canUndo} onClick={undoEdit} aria-keyshortcuts="Control+Z">
        {t('flows.undo')}
      </button>
      <button type="button" className={TOOL} disabled={!canRedo} onClick={redoEdit} aria-keyshortcuts="Control+Shift+Z Control+Y">
        {t('flows.redo')}
      </button>
      <button type="button" className={TOOL} onClick={p.onArrange}>
        {t('flows.arrange')}
      </button>
      <button type="button" className={TOOL} aria-pressed={metrics} onClick={() => useEditor.setState({ showMetrics: !metrics })}>
        {t('flows.metrics')}
      </button>
      <button type="button" className={TOOL} onClick={p.onExport}>
        {t('flows.export')}
      </button>
      <span role="status" className={`mx-2 text-xs ${p.problemCount || p.validationFailure ? 'text-red-700' : 'text-slate-700'}`}>
        {dirty ? `${t('flows.unsaved')} · ` : ''}
        {status}
      </span>
      <div className="ml-auto flex flex-wrap gap-1.5">
        {PANELS.map(({ name: panel, label }) => (
          <button key={panel} type="button" className={TOOL} aria-pressed={p.panel === panel} onClick={() => p.onPanel(p.panel === panel ? null : panel)}>
            {t(label)}
            {panel === 'problems' && p.problemCount ? ` (${String(p.problemCount)})` : ''}
          </button>
        ))}
        <button type="button" className={TOOL} disabled={p.saving} onClick={p.onSave} aria-keyshortcuts="Control+S">
          {p.saving ? t('flows.saving') : t('flows.saveDraft')}
        </button>
        <button
          type="button"
          className="rounded-md bg-emerald-700 px-3 py-1 text-xs font-semibold text-white hover:bg-emerald-800 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-emerald-600 disabled:cursor-not-allowed disabled:bg-emerald-300 disabled:text-slate-800"
          disabled={!publishable || p.publishing}
          onClick={p.onPublish}
        >
          {p.publishing ? t('flows.publishing') : t('flows.publish')}
        </button>
      </div>
    </div>
  )
}
