/** A module's configuration form, generated from its manifest (pytake/modules/_contract.py):
 * which input each field gets, what the form starts with, how it is checked and what is sent.
 * Pure: no React, no fetch; the Modules page renders what this decides.
 *
 * Secrets are write-only. The server reads a set secret back as "***" and keeps the stored
 * value when "***" comes back in a PUT, so the form never holds a secret it did not have typed
 * into it: a secret field starts empty, and unless something is typed (or the admin asks to
 * remove it) the body carries "***" for a secret that is set. */

import { z } from 'zod'

/** The server's stand-in for a stored secret, in listings and in a PUT that keeps it. */
export const MASK = '***'

export type ValueType = 'string' | 'url' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'any'
const VALUE_TYPES: readonly ValueType[] = ['string', 'url', 'integer', 'number', 'boolean', 'object', 'array', 'any']

/** One configuration field as the manifest declares it. */
export interface ConfigField {
  name: string
  type: ValueType
  required: boolean
  secret: boolean
  default: unknown
  description: string
  choices: string[]
}

export interface ModuleAction {
  name: string
  description: string
}

export interface ModuleManifest {
  description: string
  config: ConfigField[]
  actions: ModuleAction[]
  permissions: string[]
}

/** Which control a field is edited with. */
export type InputKind = 'text' | 'multiline' | 'url' | 'integer' | 'number' | 'boolean' | 'choice' | 'json' | 'secret' | 'secret-json'

/** The form's state: every field as the text (or select value) in its control, and for each
 * secret whether the admin asked to remove the stored one. */
export interface ConfigFormValues {
  v: Record<string, string>
  clear: Record<string, boolean>
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const str = (x: unknown): string => (typeof x === 'string' ? x : '')

/** The manifest from `GET /api/v1/modules` (typed as any object by the OpenAPI document),
 * read defensively: what is not understood is left out rather than trusted. */
export function readManifest(raw: unknown): ModuleManifest {
  const doc = isRecord(raw) ? raw : {}
  const config = (Array.isArray(doc.config) ? doc.config : []).filter(isRecord).flatMap((f): ConfigField[] => {
    const name = str(f.name)
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) return []
    const type = VALUE_TYPES.find((v) => v === f.type) ?? 'string'
    return [
      {
        name,
        type,
        required: f.required === true,
        secret: f.secret === true,
        default: f.default ?? null,
        description: str(f.description),
        choices: Array.isArray(f.choices) ? f.choices.filter((c): c is string => typeof c === 'string') : [],
      },
    ]
  })
  const actions = (Array.isArray(doc.actions) ? doc.actions : []).filter(isRecord).map((a) => ({ name: str(a.name), description: str(a.description) }))
  const permissions = (Array.isArray(doc.permissions) ? doc.permissions : []).filter((p): p is string => typeof p === 'string')
  return { description: str(doc.description), config, actions, permissions }
}

export function inputKind(field: ConfigField): InputKind {
  if (field.secret) return field.type === 'object' ? 'secret-json' : 'secret'
  if (field.choices.length > 0) return 'choice'
  switch (field.type) {
    case 'url':
      return 'url'
    case 'integer':
      return 'integer'
    case 'number':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'object':
    case 'array':
    case 'any':
      return 'json'
    default:
      // A template with line breaks (a message to send) needs a box that keeps them.
      return typeof field.default === 'string' && field.default.includes('\n') ? 'multiline' : 'text'
  }
}

/** A value as the text its control shows: JSON for structured values. */
function asText(field: ConfigField, value: unknown): string {
  if (value === null || value === undefined) return ''
  if (field.type === 'boolean') return value === true ? 'true' : value === false ? 'false' : ''
  if (typeof value === 'string' && (field.type === 'string' || field.type === 'url')) return value
  if (typeof value === 'number' && (field.type === 'integer' || field.type === 'number')) return String(value)
  if (typeof value === 'string' && field.choices.length > 0) return value
  return JSON.stringify(value, null, 2)
}

/** The default, as shown next to an empty field ("default: GET"). */
export function defaultText(field: ConfigField): string | null {
  if (field.default === null || field.default === undefined) return null
  return field.type === 'boolean' || typeof field.default !== 'string' ? JSON.stringify(field.default) : field.default
}

/** What the form starts with: the stored fields (an unset one stays empty, so that the
 * manifest's default applies), never a secret. */
export function initialValues(fields: readonly ConfigField[], stored: Record<string, unknown> | null): ConfigFormValues {
  const v: Record<string, string> = {}
  const clear: Record<string, boolean> = {}
  for (const field of fields) {
    v[field.name] = field.secret ? '' : asText(field, stored?.[field.name])
    if (field.secret) clear[field.name] = false
  }
  return { v, clear }
}

/** Why a field's text cannot be sent, as a message key's suffix; null if it can. */
export type FieldProblem = 'required' | 'url' | 'integer' | 'number' | 'json' | 'jsonObject' | 'jsonArray' | 'choice'

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

/** The value a field's text stands for; `undefined` leaves the field unset. */
function parsed(field: ConfigField, text: string): { value: unknown } | { problem: FieldProblem } {
  const trimmed = field.type === 'string' ? text : text.trim()
  if (trimmed === '') return { value: undefined }
  switch (inputKind(field)) {
    case 'url':
      return /^https?:\/\//.test(trimmed) ? { value: trimmed } : { problem: 'url' }
    case 'integer':
      return /^-?\d+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed)) ? { value: Number(trimmed) } : { problem: 'integer' }
    case 'number': {
      const n = Number(trimmed)
      return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed) && Number.isFinite(n) ? { value: n } : { problem: 'number' }
    }
    case 'boolean':
      return { value: trimmed === 'true' }
    case 'choice':
      return field.choices.includes(trimmed) ? { value: trimmed } : { problem: 'choice' }
    case 'json':
    case 'secret-json': {
      const json = parseJson(trimmed)
      if (!json.ok) return { problem: 'json' }
      if (field.type === 'object' && !isRecord(json.value)) return { problem: 'jsonObject' }
      if (field.type === 'array' && !Array.isArray(json.value)) return { problem: 'jsonArray' }
      return { value: json.value }
    }
    default:
      return { value: text }
  }
}

/** Each field's problem, or none. ``secretsSet`` names the secrets stored already: a required
 * secret that is set may be left empty (it is kept). */
export function fieldProblems(fields: readonly ConfigField[], values: ConfigFormValues, secretsSet: readonly string[]): Record<string, FieldProblem> {
  const problems: Record<string, FieldProblem> = {}
  for (const field of fields) {
    const text = values.v[field.name] ?? ''
    const result = parsed(field, text)
    if ('problem' in result) problems[field.name] = result.problem
    else if (result.value === undefined && field.required) {
      const kept = field.secret && secretsSet.includes(field.name) && !values.clear[field.name]
      if (!kept) problems[field.name] = 'required'
    }
  }
  return problems
}

/** The PUT body: every field given a value; a secret typed now is sent, one left empty that
 * is set is kept ("***") unless its removal was asked for. Call after `fieldProblems` found
 * nothing (a field that does not parse is left out). */
export function configBody(fields: readonly ConfigField[], values: ConfigFormValues, secretsSet: readonly string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  for (const field of fields) {
    const result = parsed(field, values.v[field.name] ?? '')
    if ('problem' in result) continue
    if (result.value !== undefined) body[field.name] = result.value
    else if (field.secret && secretsSet.includes(field.name) && !values.clear[field.name]) body[field.name] = MASK
  }
  return body
}

/** A Zod schema for the form that checks with `fieldProblems`, each problem on its field
 * (`v.<name>`) with the message ``message(problem, field)`` gives. */
export function configSchema(
  fields: readonly ConfigField[],
  secretsSet: readonly string[],
  message: (problem: FieldProblem, field: ConfigField) => string,
) {
  return z
    .object({ v: z.record(z.string(), z.string()), clear: z.record(z.string(), z.boolean()) })
    .superRefine((values, ctx) => {
      const problems = fieldProblems(fields, values, secretsSet)
      for (const field of fields) {
        const problem = problems[field.name]
        if (problem) ctx.addIssue({ code: 'custom', path: ['v', field.name], message: message(problem, field) })
      }
    })
}
