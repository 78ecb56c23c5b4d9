/**
 * What a stored message says, as plain data the timeline renders (pure; no React, no I/O).
 *
 * A row's `payload` comes in two shapes (pytake/messaging): an inbound row holds the webhook's
 * whole message object (`{"type": "image", "image": {...}, "context": ...}`), an outbound row
 * only the object it sent under its type (`{"id": ..., "caption": ...}` for an image). Every
 * reader below takes the object under the type when there is one, the payload itself otherwise.
 *
 * Reactions, edits and deletions are not rows of their own: the server folds them into the
 * message they concern (`payload.reaction`, `payload.edits[]`, or a payload replaced by
 * `{"revoked": true}`), see `messageDetails`.
 */

export type MediaKind = 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker'

export const MEDIA_KINDS: readonly MediaKind[] = ['image', 'video', 'audio', 'voice', 'document', 'sticker']

export interface SharedContact {
  name: string | null
  phones: { phone: string; type: string | null }[]
  emails: string[]
  organization: string | null
}

export interface ListSectionView {
  title: string | null
  rows: { title: string; description: string | null }[]
}

/** A template's parameters by name: positional templates use "1", "2", … */
export interface TemplateValues {
  header: Record<string, string>
  body: Record<string, string>
}

export type MessageContent =
  | { kind: 'text'; text: string }
  | {
      kind: 'media'
      media: MediaKind
      caption: string | null
      filename: string | null
      mimeType: string | null
      /** Bytes, when the payload says (the webhook usually does not). */
      size: number | null
      /** An outbound media sent by public link rather than uploaded. */
      link: string | null
    }
  | { kind: 'location'; latitude: number; longitude: number; name: string | null; address: string | null }
  | { kind: 'contacts'; contacts: SharedContact[] }
  | { kind: 'reply'; via: 'button' | 'list' | 'template_button' | 'flow'; title: string; description: string | null }
  | { kind: 'buttons'; header: string | null; body: string; footer: string | null; buttons: string[] }
  | { kind: 'list'; header: string | null; body: string; footer: string | null; button: string; sections: ListSectionView[] }
  | { kind: 'template'; name: string | null; language: string | null; values: TemplateValues; text: string | null }
  | { kind: 'reaction'; emoji: string; target: string | null }
  | { kind: 'order'; text: string | null; items: number }
  | { kind: 'system'; text: string }
  | { kind: 'welcome' }
  | { kind: 'deleted' }
  /** WhatsApp itself could not give the message (`unsupported`, legacy `unknown`). */
  | { kind: 'unsupported'; type: string | null; detail: string | null }
  /** A type this desk does not know; `text` is what the server extracted, if anything. */
  | { kind: 'unknown'; type: string; text: string }

export interface MessageDetails {
  content: MessageContent
  /** The customer edited it (the content is the latest version). */
  edited: boolean
  forwarded: boolean
  /** The wamid of the message this one answers (WhatsApp's reply context). */
  replyTo: string | null
  /** The reaction the other side put on this message, as the server folded it in. */
  reaction: { emoji: string; at: number | null } | null
}

type Json = Record<string, unknown>

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function record(value: unknown): Json {
  return isRecord(value) ? value : {}
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : null
  }
  return null
}

/** The object under the message's type, or the payload itself (see the module docstring). */
function inner(type: string, payload: Json): Json {
  const under = payload[type]
  return isRecord(under) ? under : payload
}

function isMedia(type: string): type is MediaKind {
  return (MEDIA_KINDS as readonly string[]).includes(type)
}

function media(type: MediaKind, body: Json): MessageContent {
  // WhatsApp sends voice notes as audio with `voice: true`.
  const kind: MediaKind = type === 'audio' && body.voice === true ? 'voice' : type
  return {
    kind: 'media',
    media: kind,
    caption: str(body.caption),
    filename: str(body.filename),
    mimeType: str(body.mime_type),
    size: num(body.file_size),
    link: str(body.link),
  }
}

function location(body: Json): MessageContent | null {
  const latitude = num(body.latitude)
  const longitude = num(body.longitude)
  if (latitude === null || longitude === null || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null
  return { kind: 'location', latitude, longitude, name: str(body.name), address: str(body.address) }
}

function contact(raw: Json): SharedContact {
  const name = record(raw.name)
  const full =
    str(name.formatted_name) ??
    ([str(name.first_name), str(name.middle_name), str(name.last_name)].filter(Boolean).join(' ') || null)
  const phones = (Array.isArray(raw.phones) ? raw.phones : [])
    .map(record)
    .map((p) => ({ phone: str(p.phone) ?? str(p.wa_id) ?? '', type: str(p.type) }))
    .filter((p) => p.phone !== '')
  const emails = (Array.isArray(raw.emails) ? raw.emails : []).map((e) => str(record(e).email)).filter((e): e is string => e !== null)
  return { name: full, phones, emails, organization: str(record(raw.org).company) }
}

function interactive(body: Json): MessageContent | null {
  const kind = str(body.type)
  if (kind === 'button_reply' || kind === 'list_reply') {
    const reply = record(body[kind])
    const title = str(reply.title) ?? str(reply.id)
    if (title === null) return null
    return { kind: 'reply', via: kind === 'button_reply' ? 'button' : 'list', title, description: str(reply.description) }
  }
  if (kind === 'nfm_reply') {
    const reply = record(body.nfm_reply)
    return { kind: 'reply', via: 'flow', title: str(reply.body) ?? str(reply.name) ?? '', description: null }
  }
  const header = str(record(body.header).text)
  const text = str(record(body.body).text) ?? ''
  const footer = str(record(body.footer).text)
  const action = record(body.action)
  if (kind === 'button') {
    const buttons = (Array.isArray(action.buttons) ? action.buttons : [])
      .map((b) => str(record(record(b).reply).title))
      .filter((b): b is string => b !== null)
    return { kind: 'buttons', header, body: text, footer, buttons }
  }
  if (kind === 'list') {
    const sections = (Array.isArray(action.sections) ? action.sections : []).map(record).map((s) => ({
      title: str(s.title),
      rows: (Array.isArray(s.rows) ? s.rows : [])
        .map(record)
        .map((r) => ({ title: str(r.title) ?? '', description: str(r.description) }))
        .filter((r) => r.title !== ''),
    }))
    return { kind: 'list', header, body: text, footer, button: str(action.button) ?? '', sections }
  }
  return null
}

function parameterText(p: Json): string | null {
  return (
    str(p.text) ??
    str(record(p.currency).fallback_value) ??
    str(record(p.date_time).fallback_value) ??
    null
  )
}

function templateValues(components: unknown): TemplateValues {
  const values: TemplateValues = { header: {}, body: {} }
  for (const c of Array.isArray(components) ? components.map(record) : []) {
    const where = c.type === 'header' ? values.header : c.type === 'body' ? values.body : null
    if (!where) continue
    const params = Array.isArray(c.parameters) ? c.parameters.map(record) : []
    params.forEach((p, i) => {
      const text = parameterText(p)
      if (text !== null) where[str(p.parameter_name) ?? String(i + 1)] = text
    })
  }
  return values
}

function template(body: Json): MessageContent {
  const language = record(body.language)
  return {
    kind: 'template',
    name: str(body.name),
    language: str(language.code) ?? str(body.language),
    values: templateValues(body.components),
    text: null,
  }
}

function unsupported(payload: Json, type: string): MessageContent {
  const errors = Array.isArray(payload.errors) ? payload.errors.map(record) : []
  const first = errors[0] ?? {}
  const detail = str(record(first.error_data).details) ?? str(first.message) ?? str(first.title)
  const named = str(record(payload.unsupported).type)
  return { kind: 'unsupported', type: named ?? (type === 'unsupported' ? null : type), detail }
}

/** The content of a stored message of `type` (pure; never throws, whatever the payload). */
export function readContent(type: string, payload: Json, fallbackText = ''): MessageContent {
  const body = inner(type, payload)
  if (type === 'text') return { kind: 'text', text: str(body.body) ?? fallbackText }
  if (isMedia(type)) return media(type, body)
  switch (type) {
    case 'location':
      return location(body) ?? unsupported(payload, type)
    case 'contacts': {
      const list = Array.isArray(payload.contacts) ? payload.contacts : []
      return { kind: 'contacts', contacts: list.map(record).map(contact) }
    }
    case 'interactive':
      return interactive(body) ?? { kind: 'unknown', type: `interactive.${str(body.type) ?? ''}`, text: fallbackText }
    case 'button': {
      const title = str(body.text) ?? str(body.payload)
      return title === null ? { kind: 'unknown', type, text: fallbackText } : { kind: 'reply', via: 'template_button', title, description: null }
    }
    case 'template':
      return template(body)
    case 'reaction':
      return { kind: 'reaction', emoji: str(body.emoji) ?? '', target: str(body.message_id) }
    case 'order': {
      const items = Array.isArray(body.product_items) ? body.product_items.length : 0
      return { kind: 'order', text: str(body.text), items }
    }
    case 'system':
      return { kind: 'system', text: str(body.body) ?? '' }
    case 'request_welcome':
      return { kind: 'welcome' }
    case 'unsupported':
    case 'unknown':
      return unsupported(payload, type)
    default:
      return { kind: 'unknown', type, text: fallbackText }
  }
}

/** The latest edit's message, if the customer edited this one: `edits[]` holds the webhook's
 * `edit` objects, `{"original_message_id", "message": {"type", <type>: ...}}`. */
function latestEdit(payload: Json): Json | null {
  const edits: unknown[] = Array.isArray(payload.edits) ? payload.edits : []
  const last = edits.at(-1)
  if (!isRecord(last)) return null
  const message = record(record(last.message).message)
  return str(message.type) ? message : null
}

/** A message as the timeline shows it: its (latest) content and what surrounds it. The
 * payload is absent on a message known only from the socket or this tab (`text` then). */
export function messageDetails(type: string, payload: Json | undefined, text: string): MessageDetails {
  if (payload === undefined) {
    const content: MessageContent =
      type === 'text'
        ? { kind: 'text', text }
        : type === 'template'
          ? { kind: 'template', name: null, language: null, values: { header: {}, body: {} }, text: text || null }
          : isMedia(type)
            ? { kind: 'media', media: type, caption: str(text), filename: null, mimeType: null, size: null, link: null }
            : { kind: 'unknown', type, text }
    return { content, edited: false, forwarded: false, replyTo: null, reaction: null }
  }
  if (payload.revoked === true) {
    return { content: { kind: 'deleted' }, edited: false, forwarded: false, replyTo: null, reaction: null }
  }
  const edit = latestEdit(payload)
  const content = edit ? readContent(str(edit.type) ?? type, edit, text) : readContent(type, payload, text)
  const context = record(payload.context)
  const reaction = type === 'reaction' ? null : record(payload.reaction)
  const emoji = reaction ? str(reaction.emoji) : null
  return {
    content,
    edited: edit !== null,
    forwarded: context.forwarded === true || context.frequently_forwarded === true,
    replyTo: str(context.id),
    reaction: emoji ? { emoji, at: num(reaction?.at) } : null,
  }
}

/** https://www.openstreetmap.org at the coordinates, with a marker (an ordinary link: no map
 * is loaded into the desk). */
export function mapLink(latitude: number, longitude: number): string {
  const lat = latitude.toFixed(6)
  const lon = longitude.toFixed(6)
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`
}

/** A size in bytes for people: 512 B, 12 KB, 3.4 MB. */
export function formatBytes(bytes: number, locale = 'en'): string {
  const units = ['B', 'KB', 'MB', 'GB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${units[unit] ?? ''}`
}
