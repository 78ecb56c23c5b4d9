/** Where a validator problem belongs (its `path`, docs/flows.md "What the validator reports"):
 * a node, one of its fields, an edge, or the document itself. */

import type { FlowDocument, Problem } from './types'

export interface Located {
  problem: Problem
  /** The node the problem is about (an edge's problem is shown on the node it leaves). */
  nodeId: string | null
  /** The field inside the node, as a form path (`buttons.1.title`), or null. */
  field: string | null
  edgeIndex: number | null
}

const NODE = /^nodes\[(\d+)\](?:\.(.*))?$/
const EDGE = /^edges\[(\d+)\](?:\.(.*))?$/

/** `buttons[1].title` → `buttons.1.title`, the path React Hook Form names fields by. */
export function formPath(path: string): string {
  return path.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '')
}

export function locate(problem: Problem, doc: FlowDocument): Located {
  const node = NODE.exec(problem.path)
  if (node) {
    const id = doc.nodes[Number(node[1])]?.id ?? null
    return { problem, nodeId: id, field: node[2] ? formPath(node[2]) : null, edgeIndex: null }
  }
  const edge = EDGE.exec(problem.path)
  if (edge) {
    const index = Number(edge[1])
    return { problem, nodeId: doc.edges[index]?.from ?? null, field: null, edgeIndex: index }
  }
  return { problem, nodeId: null, field: null, edgeIndex: null }
}

export interface ProblemIndex {
  byNode: Map<string, Located[]>
  /** The document's own problems (start, name, format ...). */
  document: Located[]
  all: Located[]
}

export function indexProblems(problems: readonly Problem[], doc: FlowDocument): ProblemIndex {
  const byNode = new Map<string, Located[]>()
  const document: Located[] = []
  const all = problems.map((p) => locate(p, doc))
  for (const found of all) {
    if (found.nodeId === null) {
      document.push(found)
      continue
    }
    const list = byNode.get(found.nodeId)
    if (list) list.push(found)
    else byNode.set(found.nodeId, [found])
  }
  return { byNode, document, all }
}

/** A node's problems by field: the message each form field shows. */
export function fieldMessages(located: readonly Located[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of located) {
    if (l.field && !(l.field in out)) out[l.field] = l.problem.message
  }
  return out
}
