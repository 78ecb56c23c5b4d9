/** WhatsApp's limits on node fields (docs/flows.md), read from the flow JSON Schema the server
 * ships (`GET /api/v1/flow-schema`) when it answers; these defaults mirror that schema. */

export interface FieldLimit {
  max?: number
  min?: number
  /** For lists: most items. */
  maxItems?: number
}

/** `type.field` → limit. */
export type Limits = Record<string, FieldLimit>

export const DEFAULT_LIMITS: Limits = {
  'send_text.text': { max: 4096, min: 1 },
  'send_media.caption': { max: 1024 },
  'send_buttons.text': { max: 1024, min: 1 },
  'send_buttons.header': { max: 60 },
  'send_buttons.footer': { max: 60 },
  'send_buttons.buttons': { maxItems: 3 },
  'button.id': { max: 256, min: 1 },
  'button.title': { max: 20, min: 1 },
  'send_list.text': { max: 4096, min: 1 },
  'send_list.header': { max: 60 },
  'send_list.footer': { max: 60 },
  'send_list.button': { max: 20, min: 1 },
  'send_list.sections': { maxItems: 10 },
  'section.title': { max: 24 },
  'section.rows': { maxItems: 10 },
  'row.id': { max: 200, min: 1 },
  'row.title': { max: 24, min: 1 },
  'row.description': { max: 72 },
  'ask.text': { max: 4096, min: 1 },
  'ask.retry_text': { max: 4096 },
  'silence_timeout.reminder': { max: 4096 },
  'flow.name': { max: 200, min: 1 },
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The limits the schema states, over the defaults (a field the schema leaves out keeps its
 * default, so an older server never loses a counter). */
export function limitsFromSchema(schema: unknown): Limits {
  const defs = isObject(schema) && isObject(schema.$defs) ? schema.$defs : null
  if (!defs) return DEFAULT_LIMITS
  const out: Limits = { ...DEFAULT_LIMITS }
  for (const key of Object.keys(DEFAULT_LIMITS)) {
    const [type, field] = key.split('.') as [string, string]
    const def = defs[type]
    const prop = isObject(def) && isObject(def.properties) ? def.properties[field] : undefined
    if (!isObject(prop)) continue
    const limit: FieldLimit = { ...out[key] }
    if (typeof prop.maxLength === 'number') limit.max = prop.maxLength
    if (typeof prop.minLength === 'number') limit.min = prop.minLength
    if (typeof prop.maxItems === 'number') limit.maxItems = prop.maxItems
    out[key] = limit
  }
  // The document's name lives at the top level.
  const name = isObject(schema) && isObject(schema.properties) ? schema.properties.name : undefined
  if (isObject(name) && typeof name.maxLength === 'number') out['flow.name'] = { ...out['flow.name'], max: name.maxLength }
  return out
}
