import { t, type MessageKey } from '@/lib/i18n'
import type { MediaKind, MessageContent } from './content'

const MEDIA_NAMES: Record<MediaKind, MessageKey> = {
  image: 'timeline.type.image',
  video: 'timeline.type.video',
  audio: 'timeline.type.audio',
  voice: 'timeline.type.voice',
  document: 'timeline.type.document',
  sticker: 'timeline.type.sticker',
}

export function mediaTypeName(kind: MediaKind): string {
  return t(MEDIA_NAMES[kind])
}

function clip(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** One short line saying what a message is, in the current language (for the quote of the
 * message a reply answers). */
export function contentSummary(content: MessageContent): string {
  switch (content.kind) {
    case 'text':
      return clip(content.text)
    case 'media':
      return clip(content.caption ?? content.filename ?? mediaTypeName(content.media))
    case 'location':
      return clip(content.name ?? content.address ?? t('timeline.location'))
    case 'contacts':
      return clip(`${t('timeline.contacts')}: ${content.contacts.map((c) => c.name ?? c.phones[0]?.phone ?? '').join(', ')}`)
    case 'reply':
      return clip(content.title)
    case 'buttons':
    case 'list':
      return clip(content.body)
    case 'template':
      return clip(content.text ?? t('timeline.template', { name: content.name ?? '' }))
    case 'reaction':
      return content.emoji
    case 'order':
      return t('timeline.order', { count: content.items })
    case 'system':
      return clip(content.text)
    case 'welcome':
      return t('timeline.welcome')
    case 'deleted':
      return t('timeline.deleted')
    case 'unsupported':
      return t('timeline.unsupported')
    case 'unknown':
      return clip(content.text || t('desk.media', { type: content.type }))
  }
}
