/** One line saying what a node does, for its card on the canvas. */

import type { FlowNode } from './types'

function str(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function num(value: unknown): string {
  return typeof value === 'number' ? String(value) : ''
}

export function summaryOf(node: FlowNode): string {
  switch (node.type) {
    case 'send_text':
    case 'send_buttons':
    case 'send_list':
    case 'ask':
      return str(node.text)
    case 'send_media':
      return `${str(node.media_type)} ${str(node.link) || str(node.media_id)}`.trim()
    case 'send_template':
      return `${str(node.name)} (${str(node.language)})`
    case 'condition':
      return JSON.stringify(node.when ?? {})
    case 'set_variable':
      return `vars.${str(node.variable)} = ${JSON.stringify(node.value ?? null)}`
    case 'loop':
      return node.for_each ? `for_each ${str(node.for_each)}` : `until … ≤ ${num(node.max_iterations)}`
    case 'call_module':
      return `${str(node.module)}.${str(node.action)}`
    case 'http_request':
      return `${str(node.method) || 'GET'} ${str(node.url)}`
    case 'subflow':
      return `→ ${str(node.flow)}${typeof node.version === 'number' ? ` v${String(node.version)}` : ''}`
    case 'handoff':
    case 'team_open':
      return str(node.team)
    case 'wait':
    case 'silence_timeout':
      return `${num(node.seconds)} s`
    case 'end':
      return node.resolved === false ? 'unresolved' : 'resolved'
    default:
      return ''
  }
}
