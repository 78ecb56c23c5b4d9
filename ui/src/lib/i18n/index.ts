import { en, ptBR, type MessageKey } from './messages'

export type { MessageKey }
export type Locale = 'en' | 'pt-BR'

/** pt, pt-BR, pt-PT … → pt-BR; anything else → en. */
export function detectLocale(language: string | undefined | null): Locale {
  return language?.toLowerCase().startsWith('pt') ? 'pt-BR' : 'en'
}

// Partial until every lazily loaded part has registered its strings (registerMessages).
const dictionaries: Record<Locale, Partial<Record<MessageKey, string>>> = { en: { ...en }, 'pt-BR': { ...ptBR } }

/** Adds a part's strings (the admin panel's, the flow builder's …): each part registers its
 * own when its code loads, so that the desk's first load carries only the desk's strings. */
export function registerMessages<K extends MessageKey>(english: Record<K, string>, portuguese: Record<K, string>): void {
  Object.assign(dictionaries.en, english)
  Object.assign(dictionaries['pt-BR'], portuguese)
}

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
  // A key of a part not loaded yet shows as itself: visible, never a crash.
  const template = dictionaries[current][key] ?? dictionaries.en[key] ?? key
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
