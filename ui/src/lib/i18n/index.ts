import { en, ptBR, type MessageKey } from './messages'

export type { MessageKey }
export type Locale = 'en' | 'pt-BR'

/** pt, pt-BR, pt-PT … → pt-BR; anything else → en. */
export function detectLocale(language: string | undefined | null): Locale {
  return language?.toLowerCase().startsWith('pt') ? 'pt-BR' : 'en'
}

const dictionaries: Record<Locale, Record<MessageKey, string>> = { en, 'pt-BR': ptBR }

let current: Locale = detectLocale(typeof navigator === 'undefined' ? 'en' : navigator.language)

export function getLocale(): Locale {
  return current
}

/** For tests and a future language picker. */
export function setLocale(locale: Locale): void {
  current = locale
  if (typeof document !== 'undefined') document.documentElement.lang = locale
}

/** Translates a key, filling `{name}` placeholders from `vars`. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  const template = dictionaries[current][key]
  if (!vars) return template
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  )
}

/** Formats a duration in seconds as "45s", "3m", "2h 5m", "1d 2h". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds))
  if (s < 60) return `${String(s)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${String(m)}m`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${String(h)}h ${String(m % 60)}m` : `${String(h)}h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${String(d)}d ${String(h % 24)}h` : `${String(d)}d`
}

export function formatTime(date: Date): string {
  return new Intl.DateTimeFormat(current, { hour: '2-digit', minute: '2-digit' }).format(date)
}

export function formatDate(date: Date): string {
  return new Intl.DateTimeFormat(current, { dateStyle: 'short', timeStyle: 'short' }).format(date)
}
