/** The side panel's form for one node: which fields each node type has (docs/flows.md), how a
 * node becomes form values and back, and the checks the form makes before the server's
 * validator does. Pure, so that it is tested without a browser. */

import { t } from '@/lib/i18n'
import type { Limits } from './limits'
import type { FlowNode, ModuleCatalog } from './types'

export interface ButtonValues {
  id: string
  title: string
}

export interface RowValues {
  id: string
  title: string
  description: string
}

export interface SectionValues {
  title: string
  rows: RowValues[]
}

/** Every field of every node type; a type's form shows only its own (FIELDS). Numbers and
 * JSON are edited as text and converted when the node is written back. */
export interface NodeFormValues {
  label: string
  text: string
  preview_url: boolean
  media_type: string
  media_id: string
  link: string
  caption: string
  filename: string
  header: string
  footer: string
  buttons: ButtonValues[]
  button: string
  sections: SectionValues[]
  retry_text: string
  max_retries: string
  timeout_seconds: string
  name: string
  language: string
  components: string
  variable: string
  validator: string
  when: string
  value: string
  max_iterations: string
  for_each: string
  item: string
  until: string
  module: string
  action: string
  inputs: string
  output: string
  url: string
  method: string
  headers: string
  body: string
  flow: string
  version: string
  team: string
  note: string
  priority: string
  skills: string
  include_variables: boolean
  seconds: string
  reminder: string
  reminders: string
  resolved: boolean
  /** A module node's inputs (`<module>.<action>`), each as text (JSON for non-strings). */
  fields: Record<string, string>
}

export type FieldName = Exclude<keyof NodeFormValues, 'fields' | 'label'>

export type FieldKind = 'text' | 'area' | 'int' | 'number' | 'bool' | 'select' | 'json' | 'list' | 'buttons' | 'sections'

export interface FieldSpec {
  name: FieldName
  kind: FieldKind
  required?: boolean
  options?: readonly string[]
  /** Inclusive bounds of a number. */
  range?: readonly [number, number]
  /** A boolean's default: written only when it differs. */
  fallback?: boolean
}

const REPLY: FieldSpec[] = [
  { name: 'retry_text', kind: 'area' },
  { name: 'max_retries', kind: 'int', range: [0, 10] },
  { name: 'timeout_seconds', kind: 'int', range: [1, 604800] },
]

export const FIELDS: Record<string, FieldSpec[]> = {
  send_text: [{ name: 'text', kind: 'area', required: true }, { name: 'preview_url', kind: 'bool', fallback: false }],
  send_media: [
    { name: 'media_type', kind: 'select', required: true, options: ['image', 'video', 'audio', 'document', 'sticker'] },
    { name: 'link', kind: 'text' },
    { name: 'media_id', kind: 'text' },
    { name: 'caption', kind: 'area' },
    { name: 'filename', kind: 'text' },
  ],
  send_buttons: [
    { name: 'text', kind: 'area', required: true },
    { name: 'buttons', kind: 'buttons', required: true },
    { name: 'header', kind: 'text' },
    { name: 'footer', kind: 'text' },
    ...REPLY,
  ],
  send_list: [
    { name: 'text', kind: 'area', required: true },
    { name: 'button', kind: 'text', required: true },
    { name: 'sections', kind: 'sections', required: true },
    { name: 'header', kind: 'text' },
    { name: 'footer', kind: 'text' },
    ...REPLY,
  ],
  send_template: [
    { name: 'name', kind: 'text', required: true },
    { name: 'language', kind: 'text', required: true },
    { name: 'components', kind: 'json' },
  ],
  ask: [
    { name: 'text', kind: 'area', required: true },
    { name: 'variable', kind: 'text', required: true },
    { name: 'validator', kind: 'json' },
    ...REPLY,
  ],
  condition: [{ name: 'when', kind: 'json', required: true }],
  set_variable: [
    { name: 'variable', kind: 'text', required: true },
    { name: 'value', kind: 'json', required: true },
  ],
  loop: [
    { name: 'max_iterations', kind: 'int', required: true, range: [1, 1000] },
    { name: 'for_each', kind: 'text' },
    { name: 'item', kind: 'text' },
    { name: 'until', kind: 'json' },
  ],
  call_module: [
    { name: 'module', kind: 'text', required: true },
    { name: 'action', kind: 'text', required: true },
    { name: 'inputs', kind: 'json' },
    { name: 'output', kind: 'text' },
    { name: 'timeout_seconds', kind: 'number', range: [0, 300] },
  ],
  http_request: [
    { name: 'url', kind: 'text', required: true },
    { name: 'method', kind: 'select', options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    { name: 'headers', kind: 'json' },
    { name: 'body', kind: 'json' },
    { name: 'output', kind: 'text' },
    { name: 'timeout_seconds', kind: 'number', range: [0, 30] },
  ],
  subflow: [
    { name: 'flow', kind: 'text', required: true },
    { name: 'version', kind: 'int', range: [1, Number.MAX_SAFE_INTEGER] },
  ],
  handoff: [
    { name: 'team', kind: 'text', required: true },
    { name: 'note', kind: 'area' },
    { name: 'priority', kind: 'int', range: [-1_000_000, 1_000_000] },
    { name: 'skills', kind: 'list' },
    { name: 'include_variables', kind: 'bool', fallback: true },
  ],
  wait: [{ name: 'seconds', kind: 'int', required: true, range: [1, 604800] }],
  silence_timeout: [
    { name: 'seconds', kind: 'int', required: true, range: [1, 604800] },
    { name: 'reminder', kind: 'area' },
    { name: 'reminders', kind: 'int', range: [0, 5] },
    { name: 'variable', kind: 'text' },
  ],
  window_check: [],
  team_open: [{ name: 'team', kind: 'text', required: true }],
  return: [],
  end: [{ name: 'resolved', kind: 'bool', fallback: true }],
}

export function fieldsOf(type: string): FieldSpec[] {
  return FIELDS[type] ?? []
}

/** The `Limits` key of a node field (`send_buttons.text`). */
export function limitKey(type: string, field: string): string {
  return `${type}.${field}`
}

const EMPTY: NodeFormValues = {
  label: '', text: '', preview_url: false, media_type: 'image', media_id: '', link: '', caption: '', filename: '',
  header: '', footer: '', buttons: [], button: '', sections: [], retry_text: '', max_retries: '', timeout_seconds: '',
  name: '', language: '', components: '', variable: '', validator: '', when: '', value: '', max_iterations: '',
  for_each: '', item: '', until: '', module: '', action: '', inputs: '', output: '', url: '', method: 'GET',
  headers: '', body: '', flow: '', version: '', team: '', note: '', priority: '', skills: '',
  include_variables: true, seconds: '', reminder: '', reminders: '', resolved: true, fields: {},
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function num(value: unknown): string {
  return typeof value === 'number' ? String(value) : ''
}

function json(value: unknown): string {
  return value === undefined || value === null ? '' : JSON.stringify(value, null, 2)
}

function toButtons(value: unknown): ButtonValues[] {
  if (!Array.isArray(value)) return []
  return value.map((b: Record<string, unknown>) => ({ id: str(b.id), title: str(b.title) }))
}

function toSections(value: unknown): SectionValues[] {
  if (!Array.isArray(value)) return []
  return value.map((s: Record<string, unknown>) => ({
    title: str(s.title),
    rows: Array.isArray(s.rows)
      ? s.rows.map((r: Record<string, unknown>) => ({ id: str(r.id), title: str(r.title), description: str(r.description) }))
      : [],
  }))
}

function isStringInput(kind: string): boolean {
  return kind === 'string' || kind === 'url'
}

function put(values: NodeFormValues, name: FieldName, value: unknown): void {
  const record = values as unknown as Record<string, unknown>
  record[name] = value
}

export function toForm(node: FlowNode, modules: ModuleCatalog): NodeFormValues {
  const values: NodeFormValues = { ...EMPTY, label: str(node.label), fields: {} }
  for (const spec of fieldsOf(node.type)) {
    const raw = node[spec.name]
    switch (spec.kind) {
      case 'text':
      case 'area':
      case 'select':
        put(values, spec.name, str(raw) || (spec.kind === 'select' ? EMPTY[spec.name] : ''))
        break
      case 'int':
      case 'number':
        put(values, spec.name, num(raw))
        break
      case 'bool':
        put(values, spec.name, typeof raw === 'boolean' ? raw : (spec.fallback ?? false))
        break
      case 'json':
        put(values, spec.name, json(raw))
        break
      case 'list':
        put(values, spec.name, Array.isArray(raw) ? raw.filter((s) => typeof s === 'string').join(', ') : '')
        break
      case 'buttons':
        values.buttons = toButtons(raw)
        break
      case 'sections':
        values.sections = toSections(raw)
        break
    }
  }
  for (const input of modules[node.type]?.inputs ?? []) {
    const raw = node[input.name]
    values.fields[input.name] = isStringInput(input.type) ? str(raw) : json(raw)
  }
  return values
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

/** The node with the form's values written back. Fields the form does not show (`ui`, and
 * anything unknown) are kept; an empty optional field is left out; JSON that does not parse
 * keeps the value the node had (the form shows why). */
export function fromForm(node: FlowNode, values: NodeFormValues, modules: ModuleCatalog): FlowNode {
  const out: FlowNode = { ...node }
  if (values.label.trim()) out.label = values.label
  else delete out.label
  for (const spec of fieldsOf(node.type)) {
    const raw = values[spec.name]
    delete out[spec.name]
    switch (spec.kind) {
      case 'text':
      case 'area':
      case 'select':
        if (typeof raw === 'string' && raw !== '') out[spec.name] = raw
        break
      case 'int':
      case 'number': {
        const text = typeof raw === 'string' ? raw.trim() : ''
        if (text === '') break
        const n = Number(text)
        out[spec.name] = Number.isFinite(n) ? n : node[spec.name]
        break
      }
      case 'bool':
        if (raw !== spec.fallback) out[spec.name] = raw
        break
      case 'json': {
        const text = typeof raw === 'string' ? raw.trim() : ''
        if (text === '') break
        const parsed = parseJson(text)
        out[spec.name] = parsed.ok ? parsed.value : node[spec.name]
        break
      }
      case 'list': {
        const items = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []
        if (items.length) out[spec.name] = items
        break
      }
      case 'buttons':
        out.buttons = values.buttons.map((b) => ({ id: b.id, title: b.title }))
        break
      case 'sections':
        out.sections = values.sections.map((s) => ({
          ...(s.title ? { title: s.title } : {}),
          rows: s.rows.map((r) => ({ id: r.id, title: r.title, ...(r.description ? { description: r.description } : {}) })),
        }))
        break
    }
  }
  for (const input of modules[node.type]?.inputs ?? []) {
    const text = values.fields[input.name] ?? ''
    delete out[input.name]
    if (text.trim() === '') continue
    if (isStringInput(input.type)) out[input.name] = text
    else {
      const parsed = parseJson(text)
      out[input.name] = parsed.ok ? parsed.value : text
    }
  }
  return out
}

export interface FormIssue {
  path: string
  message: string
}

function tooLong(text: string, max: number | undefined): boolean {
  return max !== undefined && [...text].length > max
}

/** What the form can tell at once: required fields, lengths and counts (WhatsApp's limits),
 * numbers in range, JSON that parses. */
export function checkValues(type: string, values: NodeFormValues, limits: Limits, modules: ModuleCatalog): FormIssue[] {
  const issues: FormIssue[] = []
  const lim = (key: string) => limits[key]
  for (const spec of fieldsOf(type)) {
    const raw = values[spec.name]
    const path = spec.name
    if (typeof raw === 'string') {
      const text = raw.trim()
      if (spec.required && text === '') {
        issues.push({ path, message: t('flows.required') })
        continue
      }
      const max = lim(limitKey(type, spec.name))?.max
      if (tooLong(raw, max)) issues.push({ path, message: t('flows.tooLong', { max: max ?? 0 }) })
      if ((spec.kind === 'int' || spec.kind === 'number') && text !== '') {
        const n = Number(text)
        const [lo, hi] = spec.range ?? [-Infinity, Infinity]
        if (!Number.isFinite(n) || (spec.kind === 'int' && !Number.isInteger(n)) || n < lo || n > hi) {
          issues.push({ path, message: t('flows.numberRange', { min: lo, max: hi }) })
        }
      }
      if (spec.kind === 'json' && text !== '' && !parseJson(text).ok) issues.push({ path, message: t('flows.badJson') })
    }
  }
  if (type === 'send_buttons') {
    const most = lim('send_buttons.buttons')?.maxItems ?? 3
    if (values.buttons.length === 0) issues.push({ path: 'buttons', message: t('flows.needButton') })
    if (values.buttons.length > most) issues.push({ path: 'buttons', message: t('flows.tooManyButtons', { max: most }) })
    values.buttons.forEach((b, i) => {
      if (!b.id.trim()) issues.push({ path: `buttons.${String(i)}.id`, message: t('flows.required') })
      if (!b.title.trim()) issues.push({ path: `buttons.${String(i)}.title`, message: t('flows.required') })
      const max = lim('button.title')?.max
      if (tooLong(b.title, max)) issues.push({ path: `buttons.${String(i)}.title`, message: t('flows.tooLong', { max: max ?? 0 }) })
    })
  }
  if (type === 'send_list') {
    const rows = values.sections.reduce((n, s) => n + s.rows.length, 0)
    const most = lim('section.rows')?.maxItems ?? 10
    if (rows === 0) issues.push({ path: 'sections', message: t('flows.needRow') })
    if (rows > most) issues.push({ path: 'sections', message: t('flows.tooManyRows', { max: most }) })
    values.sections.forEach((s, i) => {
      const sMax = lim('section.title')?.max
      if (tooLong(s.title, sMax)) issues.push({ path: `sections.${String(i)}.title`, message: t('flows.tooLong', { max: sMax ?? 0 }) })
      s.rows.forEach((r, j) => {
        const at = `sections.${String(i)}.rows.${String(j)}`
        if (!r.id.trim()) issues.push({ path: `${at}.id`, message: t('flows.required') })
        if (!r.title.trim()) issues.push({ path: `${at}.title`, message: t('flows.required') })
        const tMax = lim('row.title')?.max
        const dMax = lim('row.description')?.max
        if (tooLong(r.title, tMax)) issues.push({ path: `${at}.title`, message: t('flows.tooLong', { max: tMax ?? 0 }) })
        if (tooLong(r.description, dMax)) issues.push({ path: `${at}.description`, message: t('flows.tooLong', { max: dMax ?? 0 }) })
      })
    })
  }
  for (const input of modules[type]?.inputs ?? []) {
    const text = (values.fields[input.name] ?? '').trim()
    const path = `fields.${input.name}`
    if (input.required && text === '') issues.push({ path, message: t('flows.required') })
    else if (text !== '' && !isStringInput(input.type) && !parseJson(text).ok) issues.push({ path, message: t('flows.badJson') })
  }
  return issues
}
