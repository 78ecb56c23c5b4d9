/** The open flow: its document with undo history, what is selected, and what the server said
 * about it. One flow is open at a time, so the store is a module singleton that `open` resets.
 * Components subscribe to the slices they draw, so that a drag does not redraw the panels. */

import { create } from 'zustand'
import { canRedo, canUndo, record, redo, startHistory, undo, type History } from './history'
import type { FlowDocument, Problem } from './types'

export interface EditorState {
  history: History<FlowDocument>
  doc: FlowDocument
  /** Changed when the document changes other than through the node form (undo, load ...),
   * so that the form starts again from the document. */
  revision: number
  selected: string | null
  /** The document as last saved (JSON), to tell unsaved changes. */
  savedJson: string
  problems: Problem[]
  /** The validator's answer is for the document as it is now. */
  validated: boolean
  showMetrics: boolean
  /** Where the simulator's conversation waits, highlighted on the canvas. */
  simulatorAt: string | null
}

const blank: FlowDocument = { format: 1, id: '', name: '', start: '', nodes: [], edges: [] }

export const useEditor = create<EditorState>(() => ({
  history: startHistory(blank),
  doc: blank,
  revision: 0,
  selected: null,
  savedJson: JSON.stringify(blank),
  problems: [],
  validated: false,
  showMetrics: false,
  simulatorAt: null,
}))

/** Opens `doc` as last saved (or, with `saved: false`, as not saved yet). */
export function openDocument(doc: FlowDocument, { saved = true } = {}): void {
  useEditor.setState((s) => ({
    history: startHistory(doc),
    doc,
    revision: s.revision + 1,
    selected: null,
    savedJson: saved ? JSON.stringify(doc) : '',
    problems: [],
    validated: false,
    simulatorAt: null,
  }))
}

/** An edit. Edits with the same `key` in a row are one undo step (typing in a field);
 * `external` tells the node form to start again from the document. */
export function edit(change: (doc: FlowDocument) => FlowDocument, key: string | null = null, external = true): void {
  useEditor.setState((s) => {
    const next = change(s.doc)
    if (next === s.doc) return s
    const history = record(s.history, next, key)
    const selected = s.selected !== null && next.nodes.some((n) => n.id === s.selected) ? s.selected : null
    return { history, doc: next, validated: false, selected, revision: external ? s.revision + 1 : s.revision }
  })
}

function travel(step: (h: History<FlowDocument>) => History<FlowDocument>): void {
  useEditor.setState((s) => {
    const history = step(s.history)
    if (history === s.history) return s
    const doc = history.present
    const selected = s.selected !== null && doc.nodes.some((n) => n.id === s.selected) ? s.selected : null
    return { history, doc, selected, validated: false, revision: s.revision + 1 }
  })
}

export const undoEdit = (): void => travel(undo)
export const redoEdit = (): void => travel(redo)

export function select(id: string | null): void {
  if (useEditor.getState().selected !== id) useEditor.setState({ selected: id })
}

export function markSaved(doc: FlowDocument): void {
  useEditor.setState({ savedJson: JSON.stringify(doc) })
}

export function setProblems(problems: Problem[], forDoc: FlowDocument): void {
  useEditor.setState((s) => (s.doc === forDoc ? { problems, validated: true } : s))
}

export const selectCanUndo = (s: EditorState): boolean => canUndo(s.history)
export const selectCanRedo = (s: EditorState): boolean => canRedo(s.history)
export const selectDirty = (s: EditorState): boolean => JSON.stringify(s.doc) !== s.savedJson
