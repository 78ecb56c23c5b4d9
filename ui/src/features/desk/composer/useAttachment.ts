import { useEffect, useRef, useState } from 'react'
import { isApiError } from '@/lib/api'
import { getLocale, t, type MessageKey } from '@/lib/i18n'
import { uploadMedia, type UploadedMedia } from '../upload'
import { checkFile, formatBytes, MEDIA_LIMITS, type MediaType } from './attachment'

/** The file the composer will send: WhatsApp takes it, as ``type``. */
export interface Attachment {
  file: File
  type: MediaType
}

export interface AttachmentNotice {
  tone: 'error' | 'info'
  text: string
}

export function kindName(type: MediaType): string {
  return t(`desk.kind.${type}` as MessageKey)
}

function tooLarge(name: string, type: MediaType): string {
  return t('desk.attachTooLarge', { name, kind: kindName(type), limit: formatBytes(MEDIA_LIMITS[type], getLocale()) })
}

function unsupported(name: string, mime: string): string {
  return t('desk.attachUnsupported', { name, type: mime || '?' })
}

/**
 * The composer's attachment: one file, checked when chosen (type and size, as the server
 * does), uploaded when the message is sent. A new file replaces the one chosen; removing it
 * (or leaving the conversation) cancels an upload under way.
 */
export function useAttachment(conversationId: number | null) {
  const [attachment, setAttachment] = useState<Attachment | null>(null)
  const [notice, setNotice] = useState<AttachmentNotice | null>(null)
  const [uploading, setUploading] = useState(false)
  const running = useRef<AbortController | null>(null)

  useEffect(() => () => running.current?.abort(), [])

  const cancel = () => {
    running.current?.abort()
    running.current = null
    setUploading(false)
  }

  return {
    attachment,
    notice,
    uploading,
    /** Takes the first of ``files`` (pasted, dropped or chosen) if WhatsApp takes it. */
    choose: (files: readonly File[]) => {
      const [file] = files
      if (!file) return
      const check = checkFile(file)
      if (!check.ok) {
        setNotice({
          tone: 'error',
          text: check.reason === 'too_large' ? tooLarge(file.name, check.type) : unsupported(file.name, check.mime),
        })
        return
      }
      cancel()
      setAttachment({ file: check.file, type: check.type })
      setNotice(files.length > 1 ? { tone: 'info', text: t('desk.attachOne', { name: file.name }) } : null)
    },
    remove: () => {
      cancel()
      setAttachment(null)
      setNotice(null)
    },
    /** Uploads the file; its media id, or null (the reason shown as the notice). */
    upload: async (): Promise<UploadedMedia | null> => {
      if (!attachment || conversationId === null) return null
      cancel()
      const controller = new AbortController()
      running.current = controller
      setUploading(true)
      setNotice(null)
      try {
        return await uploadMedia(conversationId, attachment.file, controller.signal)
      } catch (error) {
        if (controller.signal.aborted) return null
        const { file, type } = attachment
        const text =
          isApiError(error) && error.status === 413
            ? tooLarge(file.name, type)
            : isApiError(error) && error.status === 400 && error.field === 'file'
              ? unsupported(file.name, file.type)
              : t('desk.attachFailed', { detail: error instanceof Error ? error.message : String(error) })
        setNotice({ tone: 'error', text })
        return null
      } finally {
        if (running.current === controller) {
          running.current = null
          setUploading(false)
        }
      }
    },
    /** Forgets the file once it was sent. */
    clear: () => {
      setAttachment(null)
      setNotice(null)
    },
  }
}
