import { useState, type KeyboardEvent, type Ref } from 'react'
import { Button } from '@/components'
import { t } from '@/lib/i18n'

interface ComposerProps {
  ref?: Ref<HTMLTextAreaElement>
  disabled: boolean
  /** A line under the box (how long the 24-hour window stays open). */
  note?: string | undefined
  onSend: (text: string) => void
}

/** The reply box: Enter sends, Shift+Enter adds a line. */
export function Composer({ ref, disabled, note, onSend }: ComposerProps) {
  const [text, setText] = useState('')

  const submit = () => {
    const value = text.trim()
    if (!value || disabled) return
    onSend(value)
    setText('')
  }

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      submit()
    }
  }

  return (
    <form
      className="flex items-end gap-2 border-t border-slate-200 bg-white p-3"
      onSubmit={(e) => {
        e.preventDefault()
        submit()
      }}
    >
      <div className="flex min-w-0 flex-1 flex-col">
        <label htmlFor="composer" className="sr-only">
          {t('desk.message')}
        </label>
        <textarea
          ref={ref}
          id="composer"
          rows={2}
          value={text}
          disabled={disabled}
          placeholder={disabled ? t('desk.acceptToReply') : t('desk.messagePlaceholder')}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          className="max-h-40 min-h-[2.75rem] resize-y rounded-md border border-slate-300 px-3 py-2 text-sm outline-none focus:ring-2 focus:ring-emerald-500 disabled:bg-slate-100"
        />
        {note ? <p className="mt-1 text-xs text-slate-600">{note}</p> : null}
      </div>
      <Button type="submit" disabled={disabled || text.trim() === ''}>
        {t('desk.send')}
      </Button>
    </form>
  )
}
