/** The node types of format 1 (docs/flows.md), grouped as the palette shows them, and the
 * fields a new node starts with: enough for it to make sense on the canvas at once. */

import type { FlowNode, ModuleCatalog } from './types'

export const BUILTIN_TYPES = [
  'send_text',
  'send_media',
  'send_buttons',
  'send_list',
  'send_template',
  'ask',
  'condition',
  'set_variable',
  'loop',
  'call_module',
  'http_request',
  'subflow',
  'handoff',
  'wait',
  'silence_timeout',
  'window_check',
  'team_open',
  'return',
  'end',
] as const

export type BuiltinType = (typeof BUILTIN_TYPES)[number]

export type Category = 'send' | 'ask' | 'call' | 'end' | 'module'

export const CATEGORY: Record<BuiltinType, Category> = {
  send_text: 'send',
  send_media: 'send',
  send_buttons: 'send',
  send_list: 'send',
  send_template: 'send',
  ask: 'ask',
  condition: 'ask',
  set_variable: 'ask',
  loop: 'ask',
  call_module: 'call',
  http_request: 'call',
  subflow: 'call',
  handoff: 'end',
  wait: 'end',
  silence_timeout: 'end',
  window_check: 'end',
  team_open: 'end',
  return: 'end',
  end: 'end',
}

export function isBuiltin(type: string): type is BuiltinType {
  return (BUILTIN_TYPES as readonly string[]).includes(type)
}

export function categoryOf(type: string): Category {
  return isBuiltin(type) ? CATEGORY[type] : 'module'
}

/** Message nodes: the phone preview can draw them. */
export const MESSAGE_TYPES: ReadonlySet<string> = new Set(['send_text', 'send_media', 'send_buttons', 'send_list', 'send_template', 'ask'])

/** The fields a new node of `type` gets, besides its id. */
export function defaultFields(type: string, modules: ModuleCatalog): Record<string, unknown> {
  switch (type) {
    case 'send_text':
      return { text: 'Olá!' }
    case 'send_media':
      return { media_type: 'image', link: 'https://example.com/image.jpg' }
    case 'send_buttons':
      return { text: 'Escolha uma opção', buttons: [{ id: 'option_1', title: 'Opção 1' }] }
    case 'send_list':
      return { text: 'Escolha uma opção', button: 'Ver opções', sections: [{ title: 'Opções', rows: [{ id: 'row_1', title: 'Opção 1' }] }] }
    case 'send_template':
      return { name: 'hello_world', language: 'pt_BR' }
    case 'ask':
      return { text: 'Qual é o seu nome?', variable: 'name' }
    case 'condition':
      return { when: { var: 'vars.name', op: 'exists' } }
    case 'set_variable':
      return { variable: 'counter', value: 0 }
    case 'loop':
      return { max_iterations: 10, for_each: 'vars.items' }
    case 'call_module':
      return { module: 'module', action: 'action' }
    case 'http_request':
      return { url: 'https://example.com/api' }
    case 'subflow':
      return { flow: 'other_flow' }
    case 'handoff':
      return { team: 'atendimento' }
    case 'wait':
      return { seconds: 60 }
    case 'silence_timeout':
      return { seconds: 600 }
    case 'team_open':
      return { team: 'atendimento' }
    case 'window_check':
    case 'return':
    case 'end':
      return {}
    default: {
      const action = modules[type]
      const fields: Record<string, unknown> = {}
      for (const input of action?.inputs ?? []) {
        if (input.required) fields[input.name] = input.default ?? (input.type === 'string' || input.type === 'url' ? '' : null)
      }
      return fields
    }
  }
}

/** A node id not yet taken in `taken`, derived from `type` ("send_text_2"). */
export function freshId(type: string, taken: ReadonlySet<string>): string {
  const base = type.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 56)
  for (let n = 1; ; n += 1) {
    const id = `${base}_${String(n)}`
    if (!taken.has(id)) return id
  }
}

export function newNode(type: string, taken: ReadonlySet<string>, modules: ModuleCatalog): FlowNode {
  return { id: freshId(type, taken), type, ...defaultFields(type, modules) }
}

/** The manifests of `GET /api/v1/modules` as node types `<module>.<action>`. */
export function catalogFromModules(modules: readonly { name: string; manifest: unknown }[]): ModuleCatalog {
  const catalog: ModuleCatalog = {}
  for (const m of modules) {
    const manifest = m.manifest as { actions?: unknown } | null
    const actions = Array.isArray(manifest?.actions) ? (manifest.actions as unknown[]) : []
    for (const raw of actions) {
      if (typeof raw !== 'object' || raw === null) continue
      const a = raw as { name?: unknown; description?: unknown; inputs?: unknown; outcomes?: unknown }
      if (typeof a.name !== 'string') continue
      const inputs = Array.isArray(a.inputs) ? (a.inputs as Record<string, unknown>[]) : []
      const outcomes = Array.isArray(a.outcomes) ? a.outcomes.filter((o): o is string => typeof o === 'string') : ['ok']
      catalog[`${m.name}.${a.name}`] = {
        name: a.name,
        description: typeof a.description === 'string' ? a.description : '',
        inputs: inputs
          .filter((p) => typeof p.name === 'string')
          .map((p) => ({
            name: p.name as string,
            type: typeof p.type === 'string' ? p.type : 'string',
            required: p.required === true,
            default: p.default,
            description: typeof p.description === 'string' ? p.description : '',
          })),
        outcomes: outcomes.includes('error') ? outcomes : [...outcomes, 'error'],
      }
    }
  }
  return catalog
}
