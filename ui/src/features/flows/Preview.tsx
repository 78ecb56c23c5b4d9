import { Fragment } from 'react'
import { t } from '@/lib/i18n'
import type { FlowNode } from './types'

const PLACEHOLDER = /(\{\{[^}]*\}\})/g

/** A text with its `{{...}}` placeholders marked, as the customer would see it before they
 * are filled in. */
export function Templated({ text }: { text: string }) {
  return (
    <>
      {text.split(PLACEHOLDER).map((part, i) =>
        i % 2 === 1 ? (
          <mark key={i} className="rounded bg-amber-200 px-0.5 font-mono text-[0.85em] text-slate-900">
            {part}
          </mark>
        ) : (
          <Fragment key={i}>{part}</Fragment>
        ),
      )}
    </>
  )
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function list(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : []
}

/** A chat bubble as WhatsApp draws the bot's messages. */
export function Bubble({ children, from = 'bot' }: { children: React.ReactNode; from?: 'bot' | 'customer' }) {
  return (
    <div className={`max-w-[85%] rounded-lg px-2.5 py-1.5 text-sm whitespace-pre-wrap shadow-sm ${from === 'bot' ? 'self-start bg-white text-slate-900' : 'self-end bg-emerald-100 text-slate-900'}`}>
      {children}
    </div>
  )
}

/** What a message node sends, drawn on a phone: text, header and footer, buttons or list. */
export function MessagePreview({ node }: { node: FlowNode }) {
  const header = str(node.header)
  const footer = str(node.footer)
  let body: string
  if (node.type === 'send_media') body = `[${str(node.media_type)}] ${str(node.caption)}`
  else if (node.type === 'send_template') body = t('flows.templatePreview', { name: str(node.name), language: str(node.language) })
  else body = str(node.text)
  const buttons = list(node.buttons)
  const rows = list(node.sections).flatMap((s) => list(s.rows))
  return (
    <figure aria-label={t('flows.preview')} className="mx-auto w-64 rounded-[1.5rem] border-4 border-slate-800 bg-[#e5ddd5] p-2">
      <figcaption className="mb-2 rounded-t-lg bg-emerald-800 px-2 py-1 text-xs text-white">{t('flows.preview')}</figcaption>
      <div className="flex flex-col gap-1">
        <Bubble>
          {header ? <p className="font-semibold">{header}</p> : null}
          <Templated text={body} />
          {footer ? <p className="mt-1 text-xs text-slate-600">{footer}</p> : null}
        </Bubble>
        {buttons.map((b, i) => (
          <div key={i} className="self-start w-[85%] rounded-lg bg-white py-1 text-center text-sm text-sky-800 shadow-sm">
            {str(b.title)}
          </div>
        ))}
        {node.type === 'send_list' ? (
          <>
            <div className="self-start w-[85%] rounded-lg bg-white py-1 text-center text-sm text-sky-800 shadow-sm">☰ {str(node.button)}</div>
            <ul className="self-start w-[85%] rounded-lg bg-white text-xs shadow-sm">
              {rows.map((r, i) => (
                <li key={i} className="border-b border-slate-100 px-2 py-1 last:border-0">
                  <span className="font-medium">{str(r.title)}</span>
                  {str(r.description) ? <span className="block text-slate-600">{str(r.description)}</span> : null}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
    </figure>
  )
}
