import { apiFetch } from '@/lib/api'
import { takesCaption, type MediaType } from './composer/attachment'

/** What `POST /api/v1/conversations/<id>/media` answers (201): the WhatsApp media id to send. */
export interface UploadedMedia {
  id: string
  type: MediaType
  mime_type: string
  size: number
  filename: string
}

/**
 * Uploads ``file`` to the Cloud API from the conversation's business number (multipart field
 * ``file``, with the session's bearer token, refreshed once if it expired, as every API call).
 * Fails with an ApiError: 400 for a type WhatsApp refuses, 413 for a file over its limit.
 */
export function uploadMedia(conversationId: number, file: File, signal?: AbortSignal): Promise<UploadedMedia> {
  const form = new FormData()
  form.append('file', file, file.name)
  return apiFetch<UploadedMedia>(`/api/v1/conversations/${String(conversationId)}/media`, {
    method: 'POST',
    body: form,
    signal,
  })
}

/** The ``send`` content for an uploaded file (docs/agent-protocol.md, "Reply content"). */
export function mediaContent(media: UploadedMedia, caption: string): { type: MediaType } & Record<string, unknown> {
  const content: { type: MediaType } & Record<string, unknown> = { type: media.type, id: media.id }
  if (caption && takesCaption(media.type)) content.caption = caption
  if (media.type === 'document' && media.filename) content.filename = media.filename
  return content
}
