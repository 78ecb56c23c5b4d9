/** Undo and redo as a history of document states (the document is plain data). Edits that
 * carry the same `key` one after the other (typing in one field) make one step. */

export interface History<T> {
  past: T[]
  present: T
  future: T[]
  /** The key of the last edit, null after undo/redo or an edit without a key. */
  lastKey: string | null
}

/** How many states undo can go back. */
export const HISTORY_LIMIT = 200

export function startHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null }
}

export function record<T>(h: History<T>, next: T, key: string | null = null): History<T> {
  if (next === h.present) return h
  if (key !== null && key === h.lastKey) return { ...h, present: next, future: [] }
  const past = [...h.past, h.present]
  if (past.length > HISTORY_LIMIT) past.shift()
  return { past, present: next, future: [], lastKey: key }
}

export function undo<T>(h: History<T>): History<T> {
  const previous = h.past[h.past.length - 1]
  if (previous === undefined) return h
  return { past: h.past.slice(0, -1), present: previous, future: [h.present, ...h.future], lastKey: null }
}

export function redo<T>(h: History<T>): History<T> {
  const [next, ...rest] = h.future
  if (next === undefined) return h
  return { past: [...h.past, h.present], present: next, future: rest, lastKey: null }
}

export function canUndo<T>(h: History<T>): boolean {
  return h.past.length > 0
}

export function canRedo<T>(h: History<T>): boolean {
  return h.future.length > 0
}
