/** The canvas's nodes and edges from the document. A node whose inputs did not change keeps
 * its object (and React Flow's measurements), so that after an edit only the nodes that
 * changed are drawn again. */

import type { Edge } from '@xyflow/react'
import { positionOf } from './document'
import type { NodeMetrics } from './api'
import type { CanvasNode } from './FlowNodeCard'
import { handlesOf, leavingByNode } from './outcomes'
import { summaryOf } from './summary'
import type { FlowDocument, ModuleCatalog } from './types'

export interface CanvasExtras {
  modules: ModuleCatalog
  problemCounts: ReadonlyMap<string, number>
  metrics: ReadonlyMap<string, NodeMetrics> | null
  selected: string | null
  waiting: string | null
}

/** A node no run has reached yet, while metrics are shown: one object, so that nodes keep
 * their identity from one sync to the next. */
const UNREACHED: NodeMetrics = { node: '', type: null, steps: 0, outcomes: {}, average_seconds: null, dropped: 0, in_progress: 0 }

function sameHandles(a: CanvasNode['data']['handles'], b: CanvasNode['data']['handles']): boolean {
  return a.length === b.length && a.every((h, i) => h.outcome === b[i]?.outcome && h.known === b[i]?.known)
}

export function syncNodes(previous: readonly CanvasNode[], doc: FlowDocument, extras: CanvasExtras): CanvasNode[] {
  const before = new Map(previous.map((n) => [n.id, n]))
  const leaving = leavingByNode(doc)
  return doc.nodes.map((node, i) => {
    const old = before.get(node.id)
    const handles = handlesOf(node, leaving.get(node.id) ?? [], extras.modules)
    const isStart = doc.start === node.id
    const problems = extras.problemCounts.get(node.id) ?? 0
    const metric = extras.metrics ? (extras.metrics.get(node.id) ?? UNREACHED) : null
    const waiting = extras.waiting === node.id
    const selected = extras.selected === node.id
    if (
      old &&
      old.data.node === node &&
      old.data.isStart === isStart &&
      old.data.problems === problems &&
      old.data.metric === metric &&
      old.data.waiting === waiting &&
      (old.selected ?? false) === selected &&
      sameHandles(old.data.handles, handles)
    ) {
      return old
    }
    // Without a position yet (a node the layout has not seen): in a column, out of the way.
    const position = positionOf(node) ?? { x: -320, y: i * 140 }
    const keepMeasure = old && sameHandles(old.data.handles, handles)
    const fresh: CanvasNode = {
      id: node.id,
      type: 'flow',
      position: old?.dragging ? old.position : position,
      data: { node, handles, summary: summaryOf(node), isStart, problems, metric, waiting },
      selected,
      ariaLabel: `${node.type} ${node.label || node.id}`,
      ...(keepMeasure && old.measured ? { measured: old.measured } : {}),
    }
    return fresh
  })
}

export interface EdgeData extends Record<string, unknown> {
  index: number
}

export function canvasEdges(doc: FlowDocument, selected: ReadonlySet<string>): Edge<EdgeData>[] {
  const types = new Map(doc.nodes.map((n) => [n.id, n.type]))
  return doc.edges.map((edge, index) => {
    const on = edge.on ?? 'next'
    const id = `e${String(index)}`
    const loopBody = types.get(edge.from) === 'loop' && on === 'body'
    return {
      id,
      source: edge.from,
      sourceHandle: on,
      target: edge.to,
      label: on,
      selected: selected.has(id),
      data: { index },
      ariaLabel: `${edge.from} ${on} → ${edge.to}`,
      animated: loopBody,
      className: loopBody ? 'flows-loop-edge' : undefined,
    }
  })
}
