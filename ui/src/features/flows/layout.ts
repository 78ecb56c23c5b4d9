/** Automatic layout with dagre: ranks from the start node rightwards, for a flow whose nodes
 * have no positions (an imported one) and on demand ("Arrange"). */

import dagre from '@dagrejs/dagre'
import type { FlowDocument, FlowNode, NodePosition } from './types'

export const NODE_WIDTH = 240
export const NODE_HEIGHT = 110

export interface Size {
  width: number
  height: number
}

const FIXED: Size = { width: NODE_WIDTH, height: NODE_HEIGHT }

/** Each node's top-left corner; edges run left to right, as the outcome handles face. */
export function layoutPositions(doc: FlowDocument, sizeOf: (node: FlowNode) => Size = () => FIXED): Map<string, NodePosition> {
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'LR', nodesep: 30, ranksep: 90, marginx: 20, marginy: 20 })
  g.setDefaultEdgeLabel(() => ({}))
  const ids = new Set<string>()
  // The start node first, so that dagre puts it at the top when a cycle leaves a choice.
  const ordered = [...doc.nodes].sort((a, b) => Number(b.id === doc.start) - Number(a.id === doc.start))
  for (const node of ordered) {
    ids.add(node.id)
    // A fresh label each: dagre writes the position into it.
    g.setNode(node.id, { ...sizeOf(node) })
  }
  for (const edge of doc.edges) {
    if (ids.has(edge.from) && ids.has(edge.to) && edge.from !== edge.to) g.setEdge(edge.from, edge.to)
  }
  dagre.layout(g)
  const out = new Map<string, NodePosition>()
  for (const node of ordered) {
    const placed = g.node(node.id) as { x: number; y: number; width: number; height: number } | undefined
    if (placed) out.set(node.id, { x: Math.round(placed.x - placed.width / 2), y: Math.round(placed.y - placed.height / 2) })
  }
  return out
}
