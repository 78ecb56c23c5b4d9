import { describe, expect, it } from 'vitest'
import { canRedo, canUndo, HISTORY_LIMIT, record, redo, startHistory, undo } from './history'

describe('history', () => {
  it('undoes and redoes', () => {
    let h = record(record(startHistory(1), 2), 3)
    h = undo(h)
    expect(h.present).toBe(2)
    h = undo(h)
    expect(h.present).toBe(1)
    expect(canUndo(h)).toBe(false)
    h = redo(h)
    expect(h.present).toBe(2)
    expect(canRedo(h)).toBe(true)
    h = record(h, 9)
    expect(canRedo(h)).toBe(false)
  })

  it('merges edits with the same key in a row into one step', () => {
    let h = startHistory('')
    for (const text of ['O', 'Ol', 'Olá']) h = record(h, text, 'form:welcome')
    h = record(h, 'moved', null)
    expect(undo(h).present).toBe('Olá')
    expect(undo(undo(h)).present).toBe('')
    // After an undo the same key starts a new step.
    const again = record(undo(h), 'Olá!', 'form:welcome')
    expect(again.past).toHaveLength(2)
  })

  it('keeps at most HISTORY_LIMIT states', () => {
    let h = startHistory(0)
    for (let i = 1; i <= HISTORY_LIMIT + 10; i += 1) h = record(h, i)
    expect(h.past).toHaveLength(HISTORY_LIMIT)
  })
})
