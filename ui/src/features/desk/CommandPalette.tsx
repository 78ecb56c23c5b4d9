import * as RadixDialog from '@radix-ui/react-dialog'
import { useId, useMemo, useState, type KeyboardEvent } from 'react'
import { t } from '@/lib/i18n'

/** One thing the palette can do. */
export interface PaletteCommand {
  id: string
  label: string
  /** Shown at the right: the shortcut doing the same, if any. */
  hint?: string
  run: () => void
}

interface PaletteProps {
  open: boolean
  onOpenChange: (open: boolean) => void
  commands: PaletteCommand[]
}

/** Words of ``query`` all found in ``label``, accents and case ignored ("resolv" finds
 * "Resolver", "jose" finds "José"). */
export function matches(label: string, query: string): boolean {
  const fold = (s: string) =>
    s
      .normalize('NFD')
      .replace(/\p{Diacritic}/gu, '')
      .toLowerCase()
  const text = fold(label)
  return fold(query)
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => text.includes(word))
}

/** Ctrl/Cmd+K: type to filter the desk's commands, arrows to choose, Enter to run. A combobox
 * over a listbox (ARIA 1.2), so a screen reader follows the active option. */
export function CommandPalette({ open, onOpenChange, commands }: PaletteProps) {
  const [query, setQuery] = useState('')
  const [active, setActive] = useState(0)
  const listId = useId()
  const shown = useMemo(() => commands.filter((c) => matches(c.label, query)), [commands, query])
  const current = shown[Math.min(active, shown.length - 1)]

  const close = (isOpen: boolean) => {
    if (!isOpen) {
      setQuery('')
      setActive(0)
    }
    onOpenChange(isOpen)
  }
  const run = (command: PaletteCommand | undefined) => {
    if (!command) return
    close(false)
    command.run()
  }
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault()
      const step = e.key === 'ArrowDown' ? 1 : -1
      setActive((i) => (shown.length === 0 ? 0 : (Math.min(i, shown.length - 1) + step + shown.length) % shown.length))
    } else if (e.key === 'Enter' && !e.nativeEvent.isComposing) {
      e.preventDefault()
      run(current)
    }
  }
  const optionId = (command: PaletteCommand) => `${listId}-${command.id}`

  return (
    <RadixDialog.Root open={open} onOpenChange={close}>
      <RadixDialog.Portal>
        <RadixDialog.Overlay className="fixed inset-0 z-50 bg-slate-900/40" />
        <RadixDialog.Content
          aria-describedby={undefined}
          className="fixed top-24 left-1/2 z-50 w-[min(32rem,calc(100vw-2rem))] -translate-x-1/2 rounded-xl bg-white shadow-xl focus:outline-none"
        >
          <RadixDialog.Title className="sr-only">{t('desk.palette')}</RadixDialog.Title>
          <input
            role="combobox"
            aria-label={t('desk.paletteSearch')}
            aria-expanded="true"
            aria-controls={listId}
            aria-activedescendant={current ? optionId(current) : undefined}
            autoComplete="off"
            value={query}
            placeholder={t('desk.palettePlaceholder')}
            onChange={(e) => {
              setQuery(e.target.value)
              setActive(0)
            }}
            onKeyDown={onKeyDown}
            className="w-full rounded-t-xl border-b border-slate-200 px-4 py-3 text-sm outline-none"
          />
          <ul id={listId} role="listbox" aria-label={t('desk.palette')} className="max-h-80 overflow-y-auto py-1">
            {shown.length === 0 ? <li className="px-4 py-2 text-sm text-slate-500">{t('desk.paletteNothing')}</li> : null}
            {shown.map((command) => (
              <li
                key={command.id}
                id={optionId(command)}
                role="option"
                aria-selected={command === current}
                // The input keeps the focus: a click must not take it away before running.
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => run(command)}
                className={`flex cursor-pointer justify-between px-4 py-2 text-sm ${command === current ? 'bg-emerald-100' : ''}`}
              >
                <span>{command.label}</span>
                {command.hint ? <kbd className="font-mono text-xs text-slate-600">{command.hint}</kbd> : null}
              </li>
            ))}
          </ul>
        </RadixDialog.Content>
      </RadixDialog.Portal>
    </RadixDialog.Root>
  )
}
