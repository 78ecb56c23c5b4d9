/** What changed between two versions of a flow: nodes added, removed and changed (field by
 * field), edges added and removed, and the document's own fields. Positions (`ui`) are left
 * out: moving a node is not a change of behaviour. */

import type { FlowDocument, FlowEdge, FlowNode } from './types'

export interface FieldChange {
  /** A dotted path inside the node or document: `text`, `buttons.1.title`. */
  path: string
  before: unknown
  after: unknown
}

export interface NodeChange {
  id: string
  fields: FieldChange[]
}

export interface FlowDiff {
  document: FieldChange[]
  added: FlowNode[]
  removed: FlowNode[]
  changed: NodeChange[]
  edgesAdded: FlowEdge[]
  edgesRemoved: FlowEdge[]
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Every leaf that differs between `a` and `b`, by path. */
export function fieldChanges(a: unknown, b: unknown, path = ''): FieldChange[] {
  if (Object.is(a, b)) return []
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: FieldChange[] = []
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      const sub = path ? `${path}.${String(i)}` : String(i)
      if (i >= a.length) out.push({ path: sub, before: undefined, after: b[i] as unknown })
      else if (i >= b.length) out.push({ path: sub, before: a[i] as unknown, after: undefined })
      else out.push(...fieldChanges(a[i], b[i], sub))
    }
    return out
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    return keys.flatMap((k) => fieldChanges(a[k], b[k], path ? `${path}.${k}` : k))
  }
  return [{ path, before: a, after: b }]
}

function withoutUi<T extends Record<string, unknown>>(value: T): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...value }
  delete rest.ui
  return rest
}

function edgeKey(e: FlowEdge): string {
  return `${e.from}\u0000${e.on ?? 'next'}\u0000${e.to}`
}

export function diffFlows(a: FlowDocument, b: FlowDocument): FlowDiff {
  const before = new Map(a.nodes.map((n) => [n.id, n]))
  const after = new Map(b.nodes.map((n) => [n.id, n]))
  const changed: NodeChange[] = []
  for (const node of b.nodes) {
    const old = before.get(node.id)
    if (!old) continue
    const fields = fieldChanges(withoutUi(old), withoutUi(node))
    if (fields.length) changed.push({ id: node.id, fields })
  }
  const docA = withoutUi({ ...a, nodes: undefined, edges: undefined, version: undefined })
  const docB = withoutUi({ ...b, nodes: undefined, edges: undefined, version: undefined })
  const edgesA = new Set(a.edges.map(edgeKey))
  const edgesB = new Set(b.edges.map(edgeKey))
  return {
    document: fieldChanges(docA, docB),
    added: b.nodes.filter((n) => !before.has(n.id)),
    removed: a.nodes.filter((n) => !after.has(n.id)),
    changed,
    edgesAdded: b.edges.filter((e) => !edgesA.has(edgeKey(e))),
    edgesRemoved: a.edges.filter((e) => !edgesB.has(edgeKey(e))),
  }
}

export function isEmptyDiff(d: FlowDiff): boolean {
  return !d.document.length && !d.added.length && !d.removed.length && !d.changed.length && !d.edgesAdded.length && !d.edgesRemoved.length
}
