import { useQuery } from '@tanstack/react-query'
import { apiFetch, type TemplatesList } from '@/lib/api'
import { t } from '@/lib/i18n'
import { fillTemplate } from '../TemplateComposer'
import { WhatsAppText } from '../whatsapp-format'
import { mapLink, type MessageContent } from './content'
import { MediaAttachment } from './MediaAttachment'

/** Everything a customer wrote is rendered as text (React escapes it): captions, names,
 * addresses and titles included; WhatsApp's own markers become elements, nothing else does. */
function Formatted({ text, className = '' }: { text: string; className?: string }) {
  return (
    <p className={`break-words whitespace-pre-wrap ${className}`}>
      <WhatsAppText text={text} />
    </p>
  )
}

function Label({ children }: { children: string }) {
  return <p className="text-[11px] font-medium tracking-wide text-slate-500 uppercase">{children}</p>
}

type TemplateContent = Extract<MessageContent, { kind: 'template' }>

/** A template as the customer read it: the approved text (from the desk's template list, the
 * composer's query) with the values sent; the values alone when the template is unknown. */
function TemplateBody({ content }: { content: TemplateContent }) {
  const list = useQuery({
    queryKey: ['templates'],
    queryFn: () => apiFetch<TemplatesList>('/api/v1/templates'),
    staleTime: 60_000,
    enabled: content.text === null && content.name !== null,
  })
  const found = (list.data?.templates ?? []).find(
    (tm) => tm.name === content.name && (content.language === null || tm.language === content.language),
  )
  const text =
    content.text ??
    (found
      ? [found.header ? fillTemplate(found.header, content.values.header) : null, fillTemplate(found.body, content.values.body)]
          .filter((x): x is string => Boolean(x))
          .join('\n')
      : null)
  const values = Object.entries(content.values.body)
  return (
    <div className="flex flex-col gap-1">
      <Label>
        {content.name ? t('timeline.template', { name: content.language ? `${content.name} (${content.language})` : content.name }) : t('desk.template')}
      </Label>
      {text ? (
        <Formatted text={text} />
      ) : values.length > 0 ? (
        <dl className="grid grid-cols-[auto_1fr] gap-x-2 text-xs">
          {values.map(([name, value]) => (
            <div key={name} className="contents">
              <dt className="font-mono text-slate-500">{`{{${name}}}`}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {found?.footer ? <p className="text-xs text-slate-500">{found.footer}</p> : null}
    </div>
  )
}

interface MessageBodyProps {
  conversationId: number
  messageId: number | string
  direction: 'in' | 'out'
  content: MessageContent
}

/** The inside of a message bubble, by what the message is. */
export function MessageBody({ conversationId, messageId, direction, content }: MessageBodyProps) {
  switch (content.kind) {
    case 'text':
      return <Formatted text={content.text} />
    case 'media':
      return (
        <div className="flex flex-col gap-1">
          <MediaAttachment conversationId={conversationId} messageId={messageId} content={content} direction={direction} />
          {content.caption ? <Formatted text={content.caption} /> : null}
        </div>
      )
    case 'location':
      return (
        <div className="flex flex-col gap-0.5">
          <Label>{t('timeline.location')}</Label>
          {content.name ? <p className="font-medium break-words">{content.name}</p> : null}
          {content.address ? <p className="break-words">{content.address}</p> : null}
          <p className="font-mono text-xs text-slate-600">
            {content.latitude.toFixed(6)}, {content.longitude.toFixed(6)}
          </p>
          <a
            href={mapLink(content.latitude, content.longitude)}
            target="_blank"
            rel="noopener noreferrer"
            className="text-sm font-medium text-emerald-800 underline"
          >
            {t('timeline.openMap')}
          </a>
        </div>
      )
    case 'contacts':
      return (
        <div className="flex flex-col gap-1">
          <Label>{t('timeline.contacts')}</Label>
          <ul className="flex flex-col gap-1">
            {content.contacts.map((c, i) => (
              <li key={i} className="rounded bg-white/60 px-2 py-1">
                <p className="font-medium break-words">{c.name ?? t('timeline.contactNoName')}</p>
                {c.organization ? <p className="text-xs text-slate-600">{c.organization}</p> : null}
                {c.phones.map((p, j) => (
                  <p key={j} className="font-mono text-xs">
                    {p.phone}
                    {p.type ? <span className="font-sans text-slate-500"> ({p.type})</span> : null}
                  </p>
                ))}
                {c.emails.map((e, j) => (
                  <p key={`e${String(j)}`} className="text-xs break-all">
                    {e}
                  </p>
                ))}
              </li>
            ))}
          </ul>
        </div>
      )
    case 'reply': {
      const how = {
        button: 'timeline.buttonReply',
        list: 'timeline.listReply',
        template_button: 'timeline.templateButton',
        flow: 'timeline.flowReply',
      } as const
      return (
        <div className="flex flex-col gap-0.5">
          <Label>{t(how[content.via])}</Label>
          <p className="font-medium break-words">{content.title}</p>
          {content.description ? <p className="text-xs break-words text-slate-600">{content.description}</p> : null}
        </div>
      )
    }
    case 'buttons':
    case 'list':
      return (
        <div className="flex flex-col gap-1">
          {content.header ? <p className="font-semibold break-words">{content.header}</p> : null}
          <Formatted text={content.body} />
          {content.footer ? <p className="text-xs text-slate-500">{content.footer}</p> : null}
          {content.kind === 'buttons' ? (
            <ul aria-label={t('timeline.buttons')} className="mt-1 flex flex-wrap gap-1">
              {content.buttons.map((b, i) => (
                <li key={i} className="rounded-full border border-emerald-300 bg-white px-3 py-0.5 text-xs text-emerald-900">
                  {b}
                </li>
              ))}
            </ul>
          ) : (
            <div className="mt-1 rounded border border-emerald-300 bg-white px-2 py-1 text-xs">
              <p className="font-medium text-emerald-900">{t('timeline.listButton', { button: content.button })}</p>
              {content.sections.map((s, i) => (
                <div key={i} className="mt-1">
                  {s.title ? <p className="font-semibold text-slate-600">{s.title}</p> : null}
                  <ul className="list-disc pl-4">
                    {s.rows.map((r, j) => (
                      <li key={j}>
                        {r.title}
                        {r.description ? <span className="text-slate-500"> — {r.description}</span> : null}
                      </li>
                    ))}
                  </ul>
                </div>
              ))}
            </div>
          )}
        </div>
      )
    case 'template':
      return <TemplateBody content={content} />
    case 'reaction':
      // Reactions are folded onto their message or shown as a line (Timeline); never a bubble.
      return <p>{content.emoji}</p>
    case 'order':
      return (
        <div className="flex flex-col gap-0.5">
          <Label>{t('timeline.order', { count: content.items })}</Label>
          {content.text ? <Formatted text={content.text} /> : null}
        </div>
      )
    case 'system':
      return <p className="text-slate-600 italic">{t('timeline.system', { text: content.text })}</p>
    case 'welcome':
      return <p className="text-slate-600 italic">{t('timeline.welcome')}</p>
    case 'deleted':
      return (
        <p className="text-slate-500 italic">
          <span aria-hidden="true">⊘ </span>
          {t('timeline.deleted')}
        </p>
      )
    case 'unsupported':
      return (
        <div className="rounded-md border border-dashed border-amber-300 bg-amber-50 px-2 py-1 text-amber-900">
          <p>
            <span aria-hidden="true">⚠ </span>
            {t('timeline.unsupported')}
            {content.type ? ` (${content.type})` : ''}
          </p>
          {content.detail ? <p className="text-xs">{content.detail}</p> : null}
        </div>
      )
    case 'unknown':
      return (
        <div>
          <Label>{t('timeline.unknownType', { type: content.type })}</Label>
          {content.text ? <Formatted text={content.text} /> : null}
        </div>
      )
  }
}
