/** The flow document (docs/flows.md, format 1) as the builder handles it: plain JSON data.
 * Node fields vary by type, so a node is an open record with the fields every node has. */

export interface NodePosition {
  x: number
  y: number
}

export interface FlowNode {
  id: string
  type: string
  label?: string | null
  ui?: Record<string, unknown> | null
  [field: string]: unknown
}

export interface FlowEdge {
  from: string
  to: string
  on?: string
  ui?: Record<string, unknown> | null
}

export interface FlowDocument {
  $schema?: string
  format: number
  id: string
  name: string
  version?: number
  description?: string
  start: string
  variables?: Record<string, unknown>
  nodes: FlowNode[]
  edges: FlowEdge[]
  ui?: Record<string, unknown> | null
  [field: string]: unknown
}

/** One validator finding, as the server reports it. */
export interface Problem {
  path: string
  message: string
  code: string
}

/** An action's input, from a module's manifest. */
export interface ModuleParam {
  name: string
  type: string
  required: boolean
  default?: unknown
  description?: string
}

export interface ModuleAction {
  name: string
  description?: string
  inputs: ModuleParam[]
  outcomes: string[]
}

/** What the builder needs of the installed modules: their actions, keyed `module.action`. */
export type ModuleCatalog = Record<string, ModuleAction>
