import { useQuery } from '@tanstack/react-query'
import { useState, type KeyboardEvent } from 'react'
import { apiFetch, type CannedResponse, type CannedResponsesPage } from '@/lib/api'

/** The `/…` being typed: where it starts and ends in the text, and what follows the slash up
 * to the caret (the filter). */
export interface SlashToken {
  start: number
  end: number
  query: string
}

const SPACE = /\s/

/**
 * The slash command at ``caret``, if any. A message starting with `/` is one as long as the
 * caret is on its first line (so "/segunda via" finds a response titled "Segunda via do
 * boleto"); elsewhere a word starting with `/` is, from the slash to the end of the word.
 */
export function slashTokenAt(text: string, caret: number): SlashToken | null {
  let end = caret
  while (end < text.length && !SPACE.test(text.charAt(end))) end += 1
  const line = text.slice(0, caret)
  if (text.startsWith('/') && caret > 0 && !line.includes('\n')) return { start: 0, end, query: line.slice(1) }
  let start = caret
  while (start > 0 && !SPACE.test(text.charAt(start - 1))) start -= 1
  if (text.charAt(start) !== '/' || start === caret) return null
  return { start, end, query: text.slice(start + 1, caret) }
}

function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
}

/** The responses ``query`` finds, best first: shortcuts starting with it, then shortcuts
 * containing it, then titles holding each of its words (case and accents ignored). */
export function filterCanned(responses: readonly CannedResponse[], query: string): CannedResponse[] {
  const q = fold(query.trim())
  const words = q.split(/\s+/).filter(Boolean)
  const ranked: [number, CannedResponse][] = []
  for (const r of responses) {
    const shortcut = fold(r.shortcut)
    const title = fold(r.title)
    const rank = shortcut.startsWith(q)
      ? 0
      : shortcut.includes(q)
        ? 1
        : words.length > 0 && words.every((w) => title.includes(w) || shortcut.includes(w))
          ? 2
          : -1
    if (rank >= 0) ranked.push([rank, r])
  }
  // Array.prototype.sort is stable: within a rank, the server's order (by shortcut) stays.
  return ranked.sort((a, b) => a[0] - b[0]).map(([, r]) => r)
}

const PAGE = 500
const MAX_PAGES = 10

async function fetchCanned(): Promise<CannedResponse[]> {
  const all: CannedResponse[] = []
  let cursor: string | null = null
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer: CannedResponsesPage = await apiFetch<CannedResponsesPage>('/api/v1/canned-responses', {
      query: { limit: PAGE, cursor },
    })
    all.push(...answer.canned_responses)
    cursor = answer.next_cursor
    if (!cursor) break
  }
  return all
}

/** The agent's canned responses (their teams'), read the first time a `/` is typed and kept
 * for five minutes. */
export function useCannedResponses(wanted: boolean) {
  return useQuery({
    queryKey: ['canned-responses'],
    queryFn: fetchCanned,
    enabled: wanted,
    staleTime: 5 * 60_000,
  })
}

/**
 * The suggestion list of the composer at ``caret`` (while the box has the focus): which
 * responses it offers, which one is active, and the key handling (arrows move, Enter or Tab
 * insert, Escape closes until the query changes).
 */
export function useCannedSuggestions(
  text: string,
  caret: number,
  focused: boolean,
  onInsert: (token: SlashToken, response: CannedResponse) => void,
) {
  const token = focused ? slashTokenAt(text, caret) : null
  const query = useCannedResponses(token !== null)
  const [dismissed, setDismissed] = useState<string | null>(null)
  // The active option belongs to one query: typing more starts again at the first.
  const [active, setActive] = useState<{ key: string; index: number }>({ key: '', index: 0 })

  const key = token ? `${String(token.start)}:${token.query}` : ''
  const open = token !== null && dismissed !== key
  const options = open && query.data ? filterCanned(query.data, token.query) : []
  const index = active.key === key ? Math.min(active.index, options.length - 1) : 0
  const current = options[index]

  const move = (step: number) => {
    if (options.length === 0) return
    setActive({ key, index: (index + step + options.length) % options.length })
  }

  /** Handles a key of the textarea; true when it was the list's. */
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): boolean => {
    if (!open || e.nativeEvent.isComposing) return false
    if (e.key === 'Escape') {
      setDismissed(key)
      return true
    }
    // Enter before the responses arrived would send the `/word` to the customer.
    if (e.key === 'Enter' && query.isPending) return true
    if (options.length === 0 || e.altKey || e.ctrlKey || e.metaKey) return false
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      move(e.key === 'ArrowDown' ? 1 : -1)
      return true
    }
    if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && token && current) {
      onInsert(token, current)
      return true
    }
    return false
  }

  return {
    open,
    token,
    options,
    current,
    loading: open && query.isPending,
    error: open && query.isError ? query.error : null,
    pick: (response: CannedResponse) => {
      if (token) onInsert(token, response)
    },
    setIndex: (i: number) => setActive({ key, index: i }),
    onKeyDown,
  }
}
