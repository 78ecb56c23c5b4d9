import { memo } from 'react'
import { t, type MessageKey } from '@/lib/i18n'
import { BUILTIN_TYPES, categoryOf, type Category } from './catalog'
import type { ModuleCatalog } from './types'

/** The drag data type a palette item carries: the node type to add. */
export const PALETTE_MIME = 'application/x-pytake-node'

const GROUPS: { category: Category; title: MessageKey }[] = [
  { category: 'send', title: 'flows.groupSend' },
  { category: 'ask', title: 'flows.groupLogic' },
  { category: 'call', title: 'flows.groupCall' },
  { category: 'end', title: 'flows.groupEnd' },
  { category: 'module', title: 'flows.groupModules' },
]

interface PaletteProps {
  modules: ModuleCatalog
  /** Adds a node of `type` where the canvas is looking (the keyboard's way to add). */
  onAdd: (type: string) => void
}

/** Every node type: drag one onto the canvas, or press its "Add" button. */
export const Palette = memo(function Palette({ modules, onAdd }: PaletteProps) {
  const types = [...BUILTIN_TYPES, ...Object.keys(modules).sort()]
  return (
    <nav aria-label={t('flows.palette')} className="flex w-52 shrink-0 flex-col gap-3 overflow-y-auto border-r border-slate-200 bg-white p-2">
      {GROUPS.map(({ category, title }) => {
        const items = types.filter((type) => categoryOf(type) === category)
        if (!items.length) return null
        return (
          <div key={category}>
            <h3 className="mb-1 text-xs font-semibold text-slate-600 uppercase">{t(title)}</h3>
            <ul className="flex flex-col gap-1">
              {items.map((type) => (
                <li
                  key={type}
                  draggable
                  data-node-type={type}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(PALETTE_MIME, type)
                    e.dataTransfer.effectAllowed = 'copy'
                  }}
                  className="flex cursor-grab items-center justify-between gap-1 rounded border border-slate-200 bg-slate-50 px-2 py-1 text-xs hover:bg-slate-100"
                >
                  <span className="truncate font-mono" title={modules[type]?.description ?? type}>
                    {type}
                  </span>
                  <button
                    type="button"
                    aria-label={t('flows.addNode', { type })}
                    onClick={() => onAdd(type)}
                    className="rounded px-1.5 text-emerald-800 hover:bg-emerald-100 focus-visible:outline-2 focus-visible:outline-emerald-600"
                  >
                    +
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )
      })}
    </nav>
  )
})
