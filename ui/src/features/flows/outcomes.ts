/** The outcomes a node can emit (docs/flows.md, "Outcomes and edges"): one source handle
 * each on the canvas. Pure, so that the canvas and its tests agree with the validator. */

import type { FlowDocument, FlowNode, ModuleCatalog } from './types'

function has(node: FlowNode, field: string): boolean {
  const value = node[field]
  return value !== undefined && value !== null && value !== ''
}

/** Outcomes a reply-waiting node adds: `invalid` with max_retries, `timeout` with
 * timeout_seconds (without them the node asks again, or waits, for ever). */
function replyOutcomes(node: FlowNode): string[] {
  const extra: string[] = []
  if (has(node, 'max_retries')) extra.push('invalid')
  if (has(node, 'timeout_seconds')) extra.push('timeout')
  return extra
}

function ids(items: unknown): string[] {
  if (!Array.isArray(items)) return []
  return items
    .map((item) => (typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === 'string' && id !== '')
}

function rowIds(sections: unknown): string[] {
  if (!Array.isArray(sections)) return []
  return sections.flatMap((s) => (typeof s === 'object' && s !== null ? ids((s as { rows?: unknown }).rows) : []))
}

/** What `node` can emit, in the order its handles are drawn. */
export function outcomesOf(node: FlowNode, modules: ModuleCatalog): string[] {
  switch (node.type) {
    case 'send_text':
    case 'send_media':
    case 'send_template':
    case 'set_variable':
    case 'wait':
      return ['next']
    case 'send_buttons':
      return [...ids(node.buttons), ...replyOutcomes(node)]
    case 'send_list':
      return [...rowIds(node.sections), ...replyOutcomes(node)]
    case 'ask':
      return ['next', ...replyOutcomes(node)]
    case 'condition':
      return ['true', 'false']
    case 'loop':
      return ['body', 'done', 'exceeded']
    case 'call_module': {
      const action = modules[`${String(node.module)}.${String(node.action)}`]
      return action ? action.outcomes : ['ok', 'error']
    }
    case 'http_request':
    case 'subflow':
      return ['next', 'error']
    case 'silence_timeout':
      return ['reply', 'timeout']
    case 'window_check':
    case 'team_open':
      return ['open', 'closed']
    case 'handoff':
    case 'return':
    case 'end':
      return []
    default: {
      const action = modules[node.type]
      return action ? action.outcomes : ['ok', 'error']
    }
  }
}

/** The node's handles: what it can emit, then any outcome an edge leaves on (`leaving`) that
 * it cannot, drawn apart so that the edge stays visible until the admin fixes it. */
export function handlesOf(node: FlowNode, leaving: readonly string[], modules: ModuleCatalog): { outcome: string; known: boolean }[] {
  const known = outcomesOf(node, modules)
  const result = known.map((outcome) => ({ outcome, known: true }))
  for (const on of leaving) {
    if (!known.includes(on) && !result.some((h) => h.outcome === on)) result.push({ outcome: on, known: false })
  }
  return result
}

/** Each node's outcomes that edges leave on, in one pass over the edges. */
export function leavingByNode(doc: FlowDocument): Map<string, string[]> {
  const result = new Map<string, string[]>()
  for (const edge of doc.edges) {
    const list = result.get(edge.from)
    const on = edge.on ?? 'next'
    if (list) list.push(on)
    else result.set(edge.from, [on])
  }
  return result
}
