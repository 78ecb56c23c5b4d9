import {
  useCallback,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type ClipboardEvent,
  type DragEvent,
  type KeyboardEvent,
  type Ref,
} from 'react'
import { Button } from '@/components'
import type { CannedResponse } from '@/lib/api'
import { t } from '@/lib/i18n'
import { AttachmentButton } from './composer/AttachmentButton'
import { AttachmentChip } from './composer/AttachmentChip'
import { MAX_CAPTION, takesCaption } from './composer/attachment'
import { useCannedSuggestions, type SlashToken } from './composer/canned'
import { CannedSuggestions, cannedOptionId } from './composer/CannedSuggestions'
import { EmojiPicker } from './composer/EmojiPicker'
import { FormatPreview } from './composer/FormatPreview'
import { kindName, useAttachment } from './composer/useAttachment'
import { useDeskStore } from './store'
import { mediaContent, type UploadedMedia } from './upload'
import { useCommands } from './useCommands'

interface ComposerProps {
  ref?: Ref<HTMLTextAreaElement>
  disabled: boolean
  /** A line under the box (how long the 24-hour window stays open). */
  note?: string | undefined
  onSend: (text: string) => void
  /** The conversation replied to: attachments are uploaded to it and sent there. The desk's
   * selected conversation when not given (the one ConversationView shows). */
  conversationId?: number | undefined
}

function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer.types).includes('Files')
}

/** How the desk lists a sent file until the server's copy arrives, as it lists a stored one. */
function shownMedia(media: UploadedMedia, caption: string): string {
  const label = t('desk.media', { type: media.type })
  return caption ? `${label} ${caption}` : label
}

/**
 * The reply box: Enter sends, Shift+Enter adds a line. Around it: a preview of WhatsApp's
 * formatting, an emoji picker, canned responses by typing `/`, and one attachment (chosen,
 * pasted or dropped; the text becomes its caption).
 */
export function Composer({ ref, disabled, note, onSend, conversationId }: ComposerProps) {
  const selectedId = useDeskStore((s) => s.selectedId)
  const target = conversationId ?? selectedId
  const commands = useCommands()
  const [text, setText] = useState('')
  const [caret, setCaret] = useState(0)
  const [dragging, setDragging] = useState(false)
  const [focused, setFocused] = useState(false)
  const box = useRef<HTMLTextAreaElement | null>(null)
  // Where the caret goes once React has written a text changed by an insertion.
  const pendingCaret = useRef<number | null>(null)
  const listId = useId()
  const hintId = useId()
  const files = useAttachment(target)

  const setBox = useCallback(
    (el: HTMLTextAreaElement | null) => {
      box.current = el
      if (typeof ref === 'function') ref(el)
      else if (ref) ref.current = el
    },
    [ref],
  )

  useLayoutEffect(() => {
    const at = pendingCaret.current
    const el = box.current
    if (at === null || !el) return
    pendingCaret.current = null
    el.focus()
    el.setSelectionRange(at, at)
  })

  /** Replaces text[start:end] by ``insert``, the caret after it. */
  const replace = (start: number, end: number, insert: string) => {
    setText(text.slice(0, start) + insert + text.slice(end))
    const at = start + insert.length
    setCaret(at)
    pendingCaret.current = at
  }

  const canned = useCannedSuggestions(text, caret, focused, (token: SlashToken, response: CannedResponse) =>
    replace(token.start, token.end, response.text),
  )

  const insertEmoji = (emoji: string) => {
    const el = box.current
    // The box keeps its selection while the picker has the focus.
    const start = el?.selectionStart ?? text.length
    const end = el?.selectionEnd ?? start
    replace(start, end, emoji)
  }

  const attachment = files.attachment
  const value = text.trim()
  const caption = attachment !== null && takesCaption(attachment.type)
  const captionTooLong = caption && value.length > MAX_CAPTION
  const canSend = !disabled && !files.uploading && !captionTooLong && (value !== '' || attachment !== null)

  const clearText = () => {
    setText('')
    setCaret(0)
  }

  const submit = async () => {
    if (!canSend) return
    if (!attachment) {
      onSend(value)
      clearText()
      return
    }
    if (target === null) return
    const media = await files.upload()
    if (!media) return
    const withCaption = takesCaption(media.type) ? value : ''
    void commands.sendMedia(target, mediaContent(media, withCaption), shownMedia(media, withCaption))
    // Audio and stickers take no caption: the text goes as a message of its own, after the file.
    if (value && !withCaption) onSend(value)
    files.clear()
    clearText()
  }

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (canned.onKeyDown(e)) {
      e.preventDefault()
      e.stopPropagation()
      return
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault()
      void submit()
    }
  }

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const pasted = Array.from(e.clipboardData.files)
    if (pasted.length === 0 || disabled) return
    e.preventDefault()
    files.choose(pasted)
  }

  const onDragOver = (e: DragEvent<HTMLFormElement>) => {
    if (disabled || !hasFiles(e)) return
    e.preventDefault()
    e.dataTransfer.dropEffect = 'copy'
    setDragging(true)
  }

  const notices: { id: string; tone: 'error' | 'info'; text: string }[] = []
  if (files.notice) notices.push({ id: 'file', ...files.notice })
  if (captionTooLong) {
    notices.push({ id: 'caption', tone: 'error', text: t('desk.captionTooLong', { max: MAX_CAPTION, count: value.length }) })
  }
  if (attachment && !caption && value) {
    notices.push({ id: 'nocaption', tone: 'info', text: t('desk.attachNoCaption', { kind: kindName(attachment.type) }) })
  }

  return (
    <form
      className={`relative border-t border-slate-200 bg-white p-3 ${dragging ? 'bg-emerald-50 ring-2 ring-emerald-500 ring-inset' : ''}`}
      onSubmit={(e) => {
        e.preventDefault()
        void submit()
      }}
      onDragEnter={onDragOver}
      onDragOver={onDragOver}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false)
      }}
      onDrop={(e) => {
        if (disabled || !hasFiles(e)) return
        e.preventDefault()
        setDragging(false)
        files.choose(Array.from(e.dataTransfer.files))
      }}
    >
      {attachment ? <AttachmentChip attachment={attachment} uploading={files.uploading} onRemove={files.remove} /> : null}
      {/* On a phone the box takes the whole width and its buttons go under it. */}
      <div className="flex flex-wrap items-end gap-2">
        <div className="relative flex min-w-0 flex-1 basis-full flex-col sm:basis-0">
          <label htmlFor="composer" className="sr-only">
            {t('desk.message')}
          </label>
          <CannedSuggestions listId={listId} suggestions={canned} />
          <textarea
            ref={setBox}
            id="composer"
            rows={2}
            value={text}
            disabled={disabled}
            readOnly={files.uploading}
            placeholder={
              disabled ? t('desk.acceptToReply') : caption ? t('desk.captionPlaceholder') : t('desk.messagePlaceholder')
            }
            aria-autocomplete="list"
            aria-controls={canned.options.length > 0 ? listId : undefined}
            aria-activedescendant={canned.current ? cannedOptionId(listId, canned.current) : undefined}
            aria-describedby={notices.length > 0 ? hintId : undefined}
            aria-invalid={captionTooLong || undefined}
            onChange={(e) => {
              setText(e.target.value)
              setCaret(e.target.selectionStart)
            }}
            onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
            onFocus={() => setFocused(true)}
            onBlur={() => setFocused(false)}
            onKeyDown={onKeyDown}
            onPaste={onPaste}
            className="max-h-40 min-h-[2.75rem] resize-y rounded-md border border-slate-300 px-3 py-2 text-sm outline-none focus:ring-2 focus:ring-emerald-500 disabled:bg-slate-100"
          />
          {/* Says how many canned responses a `/` found, for screen readers. */}
          <p aria-live="polite" className="sr-only">
            {canned.options.length > 0 ? t('desk.cannedCount', { count: canned.options.length }) : ''}
          </p>
          <FormatPreview text={text} />
          <div id={hintId}>
            {notices.map((n) => (
              <p
                key={n.id}
                role={n.tone === 'error' ? 'alert' : undefined}
                className={`mt-1 text-xs ${n.tone === 'error' ? 'text-red-700' : 'text-slate-600'}`}
              >
                {n.text}
              </p>
            ))}
          </div>
          {note ? <p className="mt-1 text-xs text-slate-600">{note}</p> : null}
        </div>
        <div className="ml-auto flex items-end gap-2">
          <EmojiPicker disabled={disabled} onPick={insertEmoji} onClosed={() => box.current?.focus()} />
          <AttachmentButton disabled={disabled || files.uploading} onFiles={files.choose} />
          <Button type="submit" disabled={!canSend}>
            {t('desk.send')}
          </Button>
        </div>
      </div>
      {dragging ? (
        <p aria-hidden="true" className="pointer-events-none absolute inset-0 flex items-center justify-center bg-emerald-50/90 text-sm font-medium text-emerald-800">
          {t('desk.dropHere')}
        </p>
      ) : null}
    </form>
  )
}
