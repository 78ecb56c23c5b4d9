import * as RadixDialog from '@radix-ui/react-dialog'
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { Button } from '@/components'
import { getLocale, t } from '@/lib/i18n'
import { formatBytes, type MessageContent } from './content'
import { isMissing, useMedia, useObjectUrl, useSeen } from './media'
import { mediaTypeName } from './summary'

type MediaContent = Extract<MessageContent, { kind: 'media' }>

interface MediaProps {
  conversationId: number
  messageId: number | string
  content: MediaContent
  direction: 'in' | 'out'
}

/** Only http(s) links become links (an agent's `link` is shown, never followed blindly). */
function httpUrl(link: string | null): string | null {
  return link !== null && /^https?:\/\//i.test(link) ? link : null
}

function Unavailable({ content }: { content: MediaContent }) {
  const link = httpUrl(content.link)
  return (
    <div className="rounded-md border border-dashed border-slate-300 bg-slate-50 px-3 py-2 text-xs text-slate-600">
      <p>
        <span aria-hidden="true">⊘ </span>
        {t('timeline.mediaUnavailable', { type: mediaTypeName(content.media) })}
        {content.filename ? ` (${content.filename})` : ''}
      </p>
      {link ? (
        <p className="mt-1 break-all">
          {t('timeline.sentByLink')}{' '}
          <a href={link} target="_blank" rel="noopener noreferrer" className="text-emerald-800 underline">
            {link}
          </a>
        </p>
      ) : null}
    </div>
  )
}

function Failed({ detail, retry }: { detail: string; retry: () => void }) {
  return (
    <div className="flex flex-wrap items-center gap-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-xs text-red-800">
      <span>{t('timeline.mediaFailed', { detail })}</span>
      <Button variant="secondary" size="sm" onClick={retry}>
        {t('timeline.retry')}
      </Button>
    </div>
  )
}

/** What a failed media query shows (the file missing, or a failure to retry); null otherwise. */
function mediaProblem(query: ReturnType<typeof useMedia>, content: MediaContent): ReactNode | null {
  if (!query.isError) return null
  return isMissing(query.error) ? (
    <Unavailable content={content} />
  ) : (
    <Failed detail={query.error.message} retry={() => void query.refetch()} />
  )
}

function Loading() {
  return (
    <p className="text-xs text-slate-500" aria-busy="true">
      {t('common.loading')}
    </p>
  )
}

function ImageMedia({ conversationId, messageId, content, direction }: MediaProps) {
  const ref = useRef<HTMLDivElement>(null)
  const seen = useSeen(ref)
  const query = useMedia(conversationId, messageId, seen)
  const url = useObjectUrl(query.data)
  const [open, setOpen] = useState(false)
  const sticker = content.media === 'sticker'
  const alt =
    content.caption ??
    (sticker ? t('timeline.type.sticker') : direction === 'in' ? t('timeline.imageFromCustomer') : t('timeline.imageToCustomer'))
  const problem = mediaProblem(query, content)
  return (
    // A thumbnail keeps one size whether loading or loaded, so the log does not jump.
    <div ref={ref}>
      {problem ??
        (url === null ? (
          <div
            className={`rounded-md bg-slate-200 ${sticker ? 'h-32 w-32' : 'h-48 w-64 max-w-full'}`}
            aria-busy={query.fetchStatus === 'fetching'}
          >
            <span className="sr-only">{t('common.loading')}</span>
          </div>
        ) : sticker ? (
          <img src={url} alt={alt} className="h-32 w-32 object-contain" />
        ) : (
          <>
            <button
              type="button"
              onClick={() => setOpen(true)}
              aria-label={t('timeline.openImage', { alt })}
              className="block rounded-md focus-visible:outline-2 focus-visible:outline-emerald-600"
            >
              <img src={url} alt={alt} className="h-48 w-auto max-w-full rounded-md object-contain" />
            </button>
            <RadixDialog.Root open={open} onOpenChange={setOpen}>
              <RadixDialog.Portal>
                <RadixDialog.Overlay className="fixed inset-0 z-50 bg-slate-900/70" />
                <RadixDialog.Content
                  aria-describedby={undefined}
                  className="fixed top-1/2 left-1/2 z-50 flex max-h-[95vh] w-[min(64rem,calc(100vw-2rem))] -translate-x-1/2 -translate-y-1/2 flex-col gap-3 rounded-xl bg-white p-4 shadow-xl focus:outline-none"
                >
                  <RadixDialog.Title className="truncate text-base font-semibold">{alt}</RadixDialog.Title>
                  <img src={url} alt={alt} className="min-h-0 flex-1 self-center object-contain" />
                  <div className="flex justify-end gap-2">
                    <a
                      href={url}
                      target="_blank"
                      rel="noopener noreferrer"
                      className="rounded-md px-4 py-2 text-sm font-medium text-emerald-800 underline hover:bg-slate-100"
                    >
                      {t('timeline.openInNewTab')}
                    </a>
                    <RadixDialog.Close className="rounded-md border border-slate-300 px-4 py-2 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600">
                      {t('common.close')}
                    </RadixDialog.Close>
                  </div>
                </RadixDialog.Content>
              </RadixDialog.Portal>
            </RadixDialog.Root>
          </>
        ))}
    </div>
  )
}

function AudioMedia({ conversationId, messageId, content }: MediaProps) {
  const ref = useRef<HTMLDivElement>(null)
  const seen = useSeen(ref)
  const query = useMedia(conversationId, messageId, seen)
  const url = useObjectUrl(query.data)
  return (
    <div ref={ref} className="min-w-56">
      {mediaProblem(query, content) ??
        (url ? <audio controls src={url} aria-label={mediaTypeName(content.media)} className="w-64 max-w-full" /> : <Loading />)}
    </div>
  )
}

/** Video and documents are big: fetched only when asked for. */
function OnDemand({
  conversationId,
  messageId,
  content,
  label,
  children,
}: MediaProps & { label: string; children: (url: string, blob: Blob, asked: boolean) => ReactNode }) {
  const [wanted, setWanted] = useState(false)
  const query = useMedia(conversationId, messageId, wanted)
  const url = useObjectUrl(query.data)
  const problem = mediaProblem(query, content)
  if (problem) return problem
  // `wanted`: asked for in this view just now (a file cached from an earlier visit is shown,
  // not played or saved again).
  if (url && query.data) return <>{children(url, query.data, wanted)}</>
  if (query.fetchStatus === 'fetching') return <Loading />
  return (
    <Button variant="secondary" size="sm" disabled={typeof messageId === 'string'} onClick={() => setWanted(true)}>
      {label}
    </Button>
  )
}

function DocumentLink({ url, blob, content, save }: { url: string; blob: Blob; content: MediaContent; save: boolean }) {
  const link = useRef<HTMLAnchorElement>(null)
  const saved = useRef(false)
  const name = content.filename ?? t('timeline.type.document')
  // The agent asked for the file: save it once it is here (the link stays for another copy).
  useEffect(() => {
    if (!save || saved.current) return
    saved.current = true
    link.current?.click()
  }, [save])
  return (
    <a
      ref={link}
      href={url}
      download={name}
      className="inline-flex items-center gap-1 text-sm font-medium text-emerald-800 underline"
    >
      <span aria-hidden="true">⤓</span>
      {t('timeline.download', { name })} <span className="text-xs text-slate-500">({formatBytes(content.size ?? blob.size, getLocale())})</span>
    </a>
  )
}

/** An image, sticker, audio, video or document of a message, its bytes fetched with the
 * session's token (images and audio once shown, video and documents when asked for). */
export function MediaAttachment(props: MediaProps) {
  const { content } = props
  switch (content.media) {
    case 'image':
    case 'sticker':
      return <ImageMedia {...props} />
    case 'audio':
    case 'voice':
      return <AudioMedia {...props} />
    case 'video':
      return (
        <OnDemand {...props} label={t('timeline.playVideo')}>
          {(url, _blob, asked) => (
            // WhatsApp's videos carry no captions track; the caption, if any, is shown below.
            <video controls autoPlay={asked} src={url} aria-label={content.caption ?? mediaTypeName('video')} className="max-h-72 max-w-full rounded-md" />
          )}
        </OnDemand>
      )
    case 'document': {
      const name = content.filename ?? t('timeline.type.document')
      const size = content.size === null ? '' : ` (${formatBytes(content.size, getLocale())})`
      return (
        <div className="flex items-center gap-2 rounded-md bg-white/60 p-2">
          <span aria-hidden="true" className="text-2xl">
            📄
          </span>
          <OnDemand {...props} label={`${t('timeline.download', { name })}${size}`}>
            {(url, blob, asked) => <DocumentLink url={url} blob={blob} content={content} save={asked} />}
          </OnDemand>
        </div>
      )
    }
  }
}
