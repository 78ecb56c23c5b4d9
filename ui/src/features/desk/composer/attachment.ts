/**
 * What WhatsApp takes as an attachment, checked before uploading (the server checks the same:
 * `pytake.messaging.UPLOAD_TYPES` and `MEDIA_LIMITS`): the MIME types it accepts, the message
 * type each goes out as, and the largest file of each type.
 */
export type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker'

const MB = 1024 * 1024

export const MEDIA_LIMITS: Record<MediaType, number> = {
  image: 5 * MB,
  video: 16 * MB,
  audio: 16 * MB,
  document: 100 * MB,
  sticker: 500 * 1024,
}

/** MIME type → message type, and the extension a browser may leave the type of a file blank for. */
const TYPES: Record<string, readonly [MediaType, string]> = {
  'image/jpeg': ['image', '.jpg .jpeg'],
  'image/png': ['image', '.png'],
  'image/webp': ['sticker', '.webp'],
  'video/mp4': ['video', '.mp4'],
  'video/3gpp': ['video', '.3gp'],
  'audio/aac': ['audio', '.aac'],
  'audio/amr': ['audio', '.amr'],
  'audio/mpeg': ['audio', '.mp3'],
  'audio/mp4': ['audio', '.m4a'],
  'audio/ogg': ['audio', '.ogg .opus'],
  'text/plain': ['document', '.txt'],
  'application/pdf': ['document', '.pdf'],
  'application/msword': ['document', '.doc'],
  'application/vnd.ms-excel': ['document', '.xls'],
  'application/vnd.ms-powerpoint': ['document', '.ppt'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['document', '.docx'],
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': ['document', '.xlsx'],
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': ['document', '.pptx'],
}

/** The file input's `accept`: the MIME types and their extensions. */
export const ACCEPT = Object.entries(TYPES)
  .flatMap(([mime, [, extensions]]) => [mime, ...extensions.split(' ')])
  .join(',')

/** Types that carry a caption (WhatsApp refuses one on audio and stickers). */
export function takesCaption(type: MediaType): boolean {
  return type === 'image' || type === 'video' || type === 'document'
}

/** WhatsApp's longest caption. */
export const MAX_CAPTION = 1024

function mimeOf(file: File): string {
  const declared = file.type.split(';', 1)[0]?.trim().toLowerCase() ?? ''
  if (declared && declared !== 'application/octet-stream') return declared
  // Some systems give no type for .amr, .3gp or Office files: go by the extension.
  const dot = file.name.lastIndexOf('.')
  const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : ''
  const found = Object.entries(TYPES).find(([, [, extensions]]) => extension && extensions.split(' ').includes(extension))
  return found ? found[0] : declared
}

export type FileCheck =
  | { ok: true; type: MediaType; mime: string; file: File }
  | { ok: false; reason: 'unsupported'; mime: string }
  | { ok: false; reason: 'too_large'; type: MediaType; limit: number }

/** Whether WhatsApp takes ``file``, as which message type. The file returned carries the MIME
 * type found (from its extension when the browser gave none), which the upload sends. */
export function checkFile(file: File): FileCheck {
  const mime = mimeOf(file)
  const entry = TYPES[mime]
  if (!entry) return { ok: false, reason: 'unsupported', mime: mime || file.name }
  const [type] = entry
  if (file.size > MEDIA_LIMITS[type]) return { ok: false, reason: 'too_large', type, limit: MEDIA_LIMITS[type] }
  const typed = file.type === mime ? file : new File([file], file.name, { type: mime, lastModified: file.lastModified })
  return { ok: true, type, mime, file: typed }
}

/** ``bytes`` for people: "820 KB", "4.5 MB" ("4,5 MB" in pt-BR); binary units, as the limits. */
export function formatBytes(bytes: number, locale: string): string {
  const [value, unit] = bytes >= MB ? [bytes / MB, 'MB'] : bytes >= 1024 ? [bytes / 1024, 'KB'] : [bytes, 'B']
  const digits = value < 10 && unit !== 'B' ? 1 : 0
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${unit}`
}
