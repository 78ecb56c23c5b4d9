import { useRef } from 'react'
import { Button } from '@/components'
import { t } from '@/lib/i18n'
import { ACCEPT } from './attachment'

interface AttachmentButtonProps {
  disabled?: boolean
  onFiles: (files: File[]) => void
}

/** The composer's paper clip: opens the system's file chooser, offering what WhatsApp takes. */
export function AttachmentButton({ disabled, onFiles }: AttachmentButtonProps) {
  const input = useRef<HTMLInputElement>(null)
  return (
    <>
      <Button
        variant="ghost"
        className="px-2"
        disabled={disabled}
        aria-label={t('desk.attach')}
        title={t('desk.attach')}
        onClick={() => input.current?.click()}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
          <path d="M20 11.5 12.3 19.2a5 5 0 0 1-7.1-7.1l8.1-8.1a3.3 3.3 0 0 1 4.7 4.7l-8.1 8.1a1.7 1.7 0 0 1-2.4-2.4l7.4-7.4" />
        </svg>
      </Button>
      {/* Reached through the button; hidden from the keyboard and from screen readers. */}
      <input
        ref={input}
        type="file"
        accept={ACCEPT}
        hidden
        tabIndex={-1}
        aria-label={t('desk.attach')}
        disabled={disabled}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? [])
          // The same file chosen again must fire a change again.
          e.target.value = ''
          if (files.length > 0) onFiles(files)
        }}
      />
    </>
  )
}
