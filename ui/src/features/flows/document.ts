/** Pure operations on a flow document. Each returns a new document and keeps every node it
 * does not change as the same object, so that the canvas redraws only what changed. */

import type { FlowDocument, FlowEdge, FlowNode, NodePosition } from './types'

export function emptyFlow(id: string, name: string): FlowDocument {
  return {
    format: 1,
    id,
    name,
    start: 'start',
    nodes: [{ id: 'start', type: 'send_text', text: 'Olá!', ui: { x: 0, y: 0 } }],
    edges: [],
  }
}

/** A document from any JSON: the missing lists filled so that the canvas can draw it. */
export function normalize(raw: unknown): FlowDocument {
  const doc = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<FlowDocument>
  const nodes = Array.isArray(doc.nodes) ? doc.nodes.filter((n): n is FlowNode => typeof n === 'object' && n !== null) : []
  const edges = Array.isArray(doc.edges) ? doc.edges.filter((e): e is FlowEdge => typeof e === 'object' && e !== null) : []
  return {
    ...doc,
    format: doc.format ?? 1,
    id: typeof doc.id === 'string' ? doc.id : '',
    name: typeof doc.name === 'string' ? doc.name : '',
    start: typeof doc.start === 'string' ? doc.start : (nodes[0]?.id ?? ''),
    nodes,
    edges,
  }
}

export function positionOf(node: FlowNode): NodePosition | null {
  const ui = node.ui
  if (!ui || typeof ui.x !== 'number' || typeof ui.y !== 'number') return null
  return { x: ui.x, y: ui.y }
}

export function withPosition(node: FlowNode, at: NodePosition): FlowNode {
  return { ...node, ui: { ...(node.ui ?? {}), x: Math.round(at.x), y: Math.round(at.y) } }
}

export function nodeIds(doc: FlowDocument): Set<string> {
  return new Set(doc.nodes.map((n) => n.id))
}

export function addNode(doc: FlowDocument, node: FlowNode): FlowDocument {
  const nodes = [...doc.nodes, node]
  // A flow needs a start: the first node of an empty one is it.
  const start = doc.nodes.some((n) => n.id === doc.start) ? doc.start : node.id
  return { ...doc, nodes, start }
}

/** Removes nodes and every edge touching them. */
export function removeNodes(doc: FlowDocument, ids: ReadonlySet<string>): FlowDocument {
  if (ids.size === 0) return doc
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !ids.has(n.id)),
    edges: doc.edges.filter((e) => !ids.has(e.from) && !ids.has(e.to)),
  }
}

export function edgeOutcome(edge: FlowEdge): string {
  return edge.on ?? 'next'
}

/** Removes the edges at `indexes` (positions in doc.edges). */
export function removeEdges(doc: FlowDocument, indexes: ReadonlySet<number>): FlowDocument {
  if (indexes.size === 0) return doc
  return { ...doc, edges: doc.edges.filter((_, i) => !indexes.has(i)) }
}

/** Leaves `from` on `on` for `to`. An outcome takes one edge, so it replaces the one there was. */
export function connect(doc: FlowDocument, from: string, on: string, to: string): FlowDocument {
  const edge: FlowEdge = on === 'next' ? { from, to } : { from, on, to }
  const at = doc.edges.findIndex((e) => e.from === from && edgeOutcome(e) === on)
  if (at === -1) return { ...doc, edges: [...doc.edges, edge] }
  const edges = [...doc.edges]
  edges[at] = { ...edge, ...(doc.edges[at]?.ui ? { ui: doc.edges[at].ui } : {}) }
  return { ...doc, edges }
}

export function replaceNode(doc: FlowDocument, id: string, node: FlowNode): FlowDocument {
  const at = doc.nodes.findIndex((n) => n.id === id)
  if (at === -1) return doc
  const nodes = [...doc.nodes]
  nodes[at] = node
  return { ...doc, nodes }
}

export function moveNodes(doc: FlowDocument, moves: ReadonlyMap<string, NodePosition>): FlowDocument {
  if (moves.size === 0) return doc
  return { ...doc, nodes: doc.nodes.map((n) => { const at = moves.get(n.id); return at ? withPosition(n, at) : n }) }
}

/** Renames a node and every reference to it (edges, start); refused (same doc) when taken. */
export function renameNode(doc: FlowDocument, from: string, to: string): FlowDocument {
  if (from === to || doc.nodes.some((n) => n.id === to)) return doc
  return {
    ...doc,
    start: doc.start === from ? to : doc.start,
    nodes: doc.nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
    edges: doc.edges.map((e) =>
      e.from === from || e.to === from ? { ...e, from: e.from === from ? to : e.from, to: e.to === from ? to : e.to } : e,
    ),
  }
}

export function setStart(doc: FlowDocument, id: string): FlowDocument {
  return doc.start === id ? doc : { ...doc, start: id }
}

/** Whether every node has a position (an imported flow usually has none). */
export function isPlaced(doc: FlowDocument): boolean {
  return doc.nodes.every((n) => positionOf(n) !== null)
}
