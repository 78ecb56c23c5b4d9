import { useCallback } from 'react'
import { Button } from '@/components'
import { getLocale, t } from '@/lib/i18n'
import { formatBytes } from './attachment'
import { kindName, type Attachment } from './useAttachment'

const ICONS = { image: '🖼️', sticker: '🖼️', video: '🎬', audio: '🎵', document: '📄' } as const

interface AttachmentChipProps {
  attachment: Attachment
  uploading: boolean
  onRemove: () => void
}

/** The chosen file above the message box: a thumbnail for a picture, name, size and kind,
 * "Uploading…" while it goes, and a button to remove it. */
export function AttachmentChip({ attachment, uploading, onRemove }: AttachmentChipProps) {
  const { file, type } = attachment
  const picture = type === 'image' || type === 'sticker'
  // The thumbnail's object URL lives as long as its <img>: made when it mounts, revoked when
  // it goes (a ref with a cleanup, so no URL outlives the file shown).
  const thumbnail = useCallback(
    (img: HTMLImageElement | null) => {
      if (!img || typeof URL.createObjectURL !== 'function') return
      const url = URL.createObjectURL(file)
      img.src = url
      return () => URL.revokeObjectURL(url)
    },
    [file],
  )

  return (
    <div
      role="group"
      aria-label={t('desk.attachment')}
      aria-busy={uploading}
      className="mb-2 flex items-center gap-3 rounded-md border border-slate-200 bg-slate-50 p-2"
    >
      {picture ? (
        <img ref={thumbnail} alt={t('desk.thumbnail', { name: file.name })} className="h-12 w-12 shrink-0 rounded object-cover" />
      ) : (
        <span aria-hidden="true" className="flex h-12 w-12 shrink-0 items-center justify-center rounded bg-white text-2xl">
          {ICONS[type]}
        </span>
      )}
      <div className="min-w-0 flex-1 text-sm">
        <p className="truncate font-medium text-slate-900" title={file.name}>
          {file.name}
        </p>
        <p className="text-xs text-slate-600">
          {formatBytes(file.size, getLocale())} · {kindName(type)}
          {uploading ? (
            <span className="ml-2 inline-flex items-center gap-1 text-emerald-800">
              <span aria-hidden="true" className="h-3 w-3 animate-spin rounded-full border-2 border-emerald-700 border-t-transparent" />
              {t('desk.attachUploading')}
            </span>
          ) : null}
        </p>
      </div>
      <Button variant="ghost" size="sm" aria-label={t('desk.attachRemove', { name: file.name })} title={t('desk.attachRemove', { name: file.name })} onClick={onRemove}>
        <span aria-hidden="true">✕</span>
      </Button>
    </div>
  )
}
