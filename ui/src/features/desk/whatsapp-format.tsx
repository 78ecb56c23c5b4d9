import type { ReactNode } from 'react'

/**
 * WhatsApp text formatting as React elements (never HTML strings): *bold*, _italic_,
 * ~strikethrough~ and ```monospace```. Anything else, markup included, stays plain text.
 */
const MARKERS = { '*': 'strong', _: 'em', '~': 's' } as const
type Marker = keyof typeof MARKERS

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch)
}

function isSpace(ch: string | undefined): boolean {
  return ch === undefined || /\s/.test(ch)
}

/** Finds the closing marker of a span opened at `open`, or -1. */
function findClose(text: string, open: number, marker: Marker): number {
  for (let j = open + 2; j < text.length; j++) {
    const ch = text[j]
    if (ch === '\n') return -1
    if (ch === marker && !isSpace(text[j - 1]) && !isWordChar(text[j + 1])) return j
  }
  return -1
}

function parseInline(text: string, keyPrefix: string): ReactNode[] {
  const out: ReactNode[] = []
  let plainStart = 0
  let i = 0
  while (i < text.length) {
    const ch = text[i] as string
    if (ch in MARKERS && !isWordChar(text[i - 1]) && !isSpace(text[i + 1]) && text[i + 1] !== ch) {
      const marker = ch as Marker
      const close = findClose(text, i, marker)
      if (close > i) {
        if (plainStart < i) out.push(text.slice(plainStart, i))
        const key = `${keyPrefix}${String(i)}`
        const inner = parseInline(text.slice(i + 1, close), `${key}.`)
        const Tag = MARKERS[marker]
        out.push(<Tag key={key}>{inner}</Tag>)
        i = close + 1
        plainStart = i
        continue
      }
    }
    i += 1
  }
  if (plainStart < text.length) out.push(text.slice(plainStart))
  return out
}

export function formatWhatsApp(text: string): ReactNode[] {
  const out: ReactNode[] = []
  const mono = /```([\s\S]+?)```/g
  let last = 0
  let match: RegExpExecArray | null
  while ((match = mono.exec(text)) !== null) {
    if (match.index > last) out.push(...parseInline(text.slice(last, match.index), `t${String(last)}.`))
    out.push(
      <code key={`m${String(match.index)}`} className="rounded bg-slate-100 px-1 font-mono text-[0.9em]">
        {match[1]}
      </code>,
    )
    last = match.index + match[0].length
  }
  if (last < text.length) out.push(...parseInline(text.slice(last), `t${String(last)}.`))
  return out
}

export function WhatsAppText({ text }: { text: string }) {
  return <>{formatWhatsApp(text)}</>
}
