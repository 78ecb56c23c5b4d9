import { useEffect } from 'react'
import type { CannedResponse } from '@/lib/api'
import { t } from '@/lib/i18n'
import type { useCannedSuggestions } from './canned'

export function cannedOptionId(listId: string, response: CannedResponse): string {
  return `${listId}-${String(response.id)}`
}

interface CannedSuggestionsProps {
  /** The listbox's id: the textarea's aria-controls. */
  listId: string
  suggestions: ReturnType<typeof useCannedSuggestions>
}

/** The canned responses a `/…` in the composer finds, above the box. The textarea keeps the
 * focus and points at the active option (aria-activedescendant). */
export function CannedSuggestions({ listId, suggestions }: CannedSuggestionsProps) {
  const { open, token, options, current, loading, error, pick, setIndex } = suggestions
  const activeId = current ? cannedOptionId(listId, current) : null

  useEffect(() => {
    if (!activeId) return
    const el = document.getElementById(activeId)
    // jsdom has no scrollIntoView
    if (el && typeof el.scrollIntoView === 'function') el.scrollIntoView({ block: 'nearest' })
  }, [activeId])

  if (!open || !token) return null
  return (
    <div className="absolute right-0 bottom-full left-0 z-20 mb-1 overflow-hidden rounded-md border border-slate-200 bg-white text-sm shadow-lg">
      {loading ? <p className="px-3 py-2 text-slate-500">{t('common.loading')}</p> : null}
      {error ? <p className="px-3 py-2 text-red-700">{t('common.error', { detail: error.message })}</p> : null}
      {!loading && !error && options.length === 0 ? (
        <p className="px-3 py-2 text-slate-500">{t('desk.cannedNone', { query: token.query })}</p>
      ) : null}
      {options.length > 0 ? (
        <>
          <ul id={listId} role="listbox" aria-label={t('desk.canned')} className="max-h-60 overflow-y-auto py-1">
            {options.map((response, i) => (
              <li
                key={response.id}
                id={cannedOptionId(listId, response)}
                role="option"
                aria-selected={response === current}
                // The textarea keeps the focus: a click must not take it away before inserting.
                onMouseDown={(e) => e.preventDefault()}
                onMouseMove={() => {
                  if (response !== current) setIndex(i)
                }}
                onClick={() => pick(response)}
                className={`cursor-pointer px-3 py-1.5 ${response === current ? 'bg-emerald-100' : ''}`}
              >
                <span className="font-mono text-xs text-emerald-800">/{response.shortcut}</span>{' '}
                <span className="font-medium text-slate-900">{response.title}</span>
                <span className="block truncate text-xs text-slate-600">{response.text}</span>
              </li>
            ))}
          </ul>
          <p aria-hidden="true" className="border-t border-slate-100 px-3 py-1 text-[11px] text-slate-500">
            {t('desk.cannedHint')}
          </p>
        </>
      ) : null}
    </div>
  )
}
