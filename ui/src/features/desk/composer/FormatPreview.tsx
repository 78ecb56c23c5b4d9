import { useId } from 'react'
import { t } from '@/lib/i18n'
import { formatWhatsApp } from '../whatsapp-format'

/** Whether WhatsApp would show ``text`` other than as typed (bold, italic, strike, monospace). */
export function hasFormatting(text: string): boolean {
  return formatWhatsApp(text).some((node) => typeof node !== 'string')
}

/** How the customer will read the message being typed, under the box; only when it holds
 * formatting, so plain messages are not shown twice. */
export function FormatPreview({ text }: { text: string }) {
  const captionId = useId()
  if (!hasFormatting(text)) return null
  return (
    <figure aria-labelledby={captionId} className="mt-1 max-h-32 overflow-y-auto rounded-md border border-dashed border-slate-300 bg-slate-50 px-3 py-1.5">
      <figcaption id={captionId} className="text-[11px] font-medium text-slate-500">{t('desk.preview')}</figcaption>
      <p className="text-sm break-words whitespace-pre-wrap text-slate-900">{formatWhatsApp(text)}</p>
    </figure>
  )
}
