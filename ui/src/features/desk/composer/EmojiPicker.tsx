import * as Popover from '@radix-ui/react-popover'
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react'
import { Button } from '@/components'
import { getLocale, t } from '@/lib/i18n'
import { matches } from '../CommandPalette'
import { EMOJI, type Emoji } from './emoji-data'

/** Emoji per row of the grid (the arrow keys move by one, or by a row). */
export const COLUMNS = 8

/** The emoji ``query`` finds by any of its words, in English or Portuguese. */
export function searchEmoji(query: string): readonly Emoji[] {
  if (!query.trim()) return EMOJI
  return EMOJI.filter((e) => matches(`${e.en} ${e.pt} ${e.keywords}`, query))
}

function nameOf(emoji: Emoji): string {
  return getLocale() === 'pt-BR' ? emoji.pt : emoji.en
}

interface EmojiPickerProps {
  disabled?: boolean
  /** Inserts ``emoji`` at the composer's caret. */
  onPick: (emoji: string) => void
  /** Where the focus goes when the picker closes (the composer's box). */
  onClosed: () => void
}

/**
 * The composer's emoji button and its popover: a search field over a grid of emoji. The
 * search field keeps the focus (a combobox over a grid, ARIA 1.2): typing filters, Down enters
 * the grid, then the arrows move, Enter inserts (the first found when none is chosen), Escape
 * closes and the focus returns to the message box.
 */
export function EmojiPicker({ disabled, onPick, onClosed }: EmojiPickerProps) {
  const [open, setOpen] = useState(false)
  const [query, setQuery] = useState('')
  const [active, setActive] = useState<number | null>(null)
  const gridId = useId()
  // Closed by a click elsewhere: the focus stays where that click put it.
  const leftByClick = useRef(false)
  const shown = useMemo(() => searchEmoji(query), [query])
  const rows = useMemo(() => {
    const out: Emoji[][] = []
    for (let i = 0; i < shown.length; i += COLUMNS) out.push(shown.slice(i, i + COLUMNS))
    return out
  }, [shown])
  const current = active === null ? undefined : shown[active]
  const cellId = (index: number) => `${gridId}-${String(index)}`

  useEffect(() => {
    if (active === null) return
    const el = document.getElementById(`${gridId}-${String(active)}`)
    // jsdom has no scrollIntoView
    if (el && typeof el.scrollIntoView === 'function') el.scrollIntoView({ block: 'nearest' })
  }, [active, gridId])

  const changeOpen = (next: boolean) => {
    setOpen(next)
    if (!next) {
      setQuery('')
      setActive(null)
    }
  }
  const pick = (emoji: Emoji | undefined) => {
    if (!emoji) return
    onPick(emoji.char)
    changeOpen(false)
  }

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.nativeEvent.isComposing) return
    const last = shown.length - 1
    let next: number | null | undefined
    if (e.key === 'ArrowDown') next = active === null ? 0 : active + COLUMNS <= last ? active + COLUMNS : active
    else if (e.key === 'ArrowUp') next = active === null ? null : active >= COLUMNS ? active - COLUMNS : null
    else if (e.key === 'ArrowRight' && active !== null) next = Math.min(active + 1, last)
    else if (e.key === 'ArrowLeft' && active !== null) next = Math.max(active - 1, 0)
    else if (e.key === 'Home' && active !== null) next = active - (active % COLUMNS)
    else if (e.key === 'End' && active !== null) next = Math.min(active - (active % COLUMNS) + COLUMNS - 1, last)
    else if (e.key === 'Enter') {
      e.preventDefault()
      pick(current ?? (query.trim() ? shown[0] : undefined))
      return
    }
    if (next === undefined) return
    e.preventDefault()
    setActive(shown.length === 0 ? null : next)
  }

  return (
    <Popover.Root open={open} onOpenChange={changeOpen}>
      <Popover.Trigger asChild>
        <Button variant="ghost" className="px-2" disabled={disabled} aria-label={t('desk.emoji')} title={t('desk.emoji')}>
          <svg aria-hidden="true" viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="1.8">
            <circle cx="12" cy="12" r="9" />
            <path d="M8.5 14.5c.9 1.2 2.1 1.8 3.5 1.8s2.6-.6 3.5-1.8" strokeLinecap="round" />
            <circle cx="9" cy="10" r="0.9" fill="currentColor" stroke="none" />
            <circle cx="15" cy="10" r="0.9" fill="currentColor" stroke="none" />
          </svg>
        </Button>
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content
          side="top"
          align="end"
          sideOffset={6}
          collisionPadding={8}
          onInteractOutside={() => {
            leftByClick.current = true
          }}
          onCloseAutoFocus={(e) => {
            // Back to the message box, not to the button: the agent goes on typing.
            e.preventDefault()
            if (!leftByClick.current) onClosed()
            leftByClick.current = false
          }}
          className="z-50 w-[19.5rem] rounded-lg border border-slate-200 bg-white p-2 shadow-xl focus:outline-none"
        >
          <Popover.Title className="sr-only">{t('desk.emojiList')}</Popover.Title>
          <input
            type="text"
            role="combobox"
            aria-label={t('desk.emojiSearch')}
            aria-expanded="true"
            aria-haspopup="grid"
            aria-controls={gridId}
            aria-autocomplete="list"
            aria-activedescendant={active === null ? undefined : cellId(active)}
            autoComplete="off"
            value={query}
            placeholder={t('desk.emojiPlaceholder')}
            onChange={(e) => {
              setQuery(e.target.value)
              setActive(null)
            }}
            onKeyDown={onKeyDown}
            className="mb-2 w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm outline-none focus:ring-2 focus:ring-emerald-500"
          />
          {shown.length === 0 ? <p className="px-1 py-4 text-center text-sm text-slate-500">{t('desk.emojiNone')}</p> : null}
          <div id={gridId} role="grid" aria-label={t('desk.emojiList')} className="max-h-56 overflow-y-auto">
            {rows.map((row, r) => (
              <div key={row[0]?.char ?? r} role="row" className="grid grid-cols-8">
                {row.map((emoji, c) => {
                  const index = r * COLUMNS + c
                  return (
                    <div
                      key={emoji.char}
                      id={cellId(index)}
                      role="gridcell"
                      aria-label={nameOf(emoji)}
                      aria-selected={index === active}
                      title={nameOf(emoji)}
                      // The search field keeps the focus.
                      onMouseDown={(e) => e.preventDefault()}
                      onClick={() => pick(emoji)}
                      className={`flex h-9 cursor-pointer items-center justify-center rounded text-xl hover:bg-slate-100 ${
                        index === active ? 'bg-emerald-100 ring-1 ring-emerald-600' : ''
                      }`}
                    >
                      {emoji.char}
                    </div>
                  )
                })}
              </div>
            ))}
          </div>
          <p aria-hidden="true" className="mt-1 h-4 truncate px-1 text-[11px] text-slate-500">
            {current ? `${current.char} ${nameOf(current)}` : t('desk.emojiHint')}
          </p>
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  )
}
