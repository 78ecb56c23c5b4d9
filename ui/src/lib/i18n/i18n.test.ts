import { afterEach, describe, expect, it } from 'vitest'
import { detectLocale, formatDuration, setLocale, t } from './index'
import { adminEn, adminPtBR } from './admin-messages'
import { flowsEn, flowsPtBR } from './flows-messages'
import { en, ptBR } from './messages'
import { opsEn, opsPtBR } from './ops-messages'

afterEach(() => setLocale('en'))

describe('i18n', () => {
  it('picks pt-BR for any Portuguese, English otherwise', () => {
    expect(detectLocale('pt-BR')).toBe('pt-BR')
    expect(detectLocale('pt')).toBe('pt-BR')
    expect(detectLocale('pt-PT')).toBe('pt-BR')
    expect(detectLocale('en-US')).toBe('en')
    expect(detectLocale('de-DE')).toBe('en')
    expect(detectLocale(undefined)).toBe('en')
  })

  it('translates and fills placeholders', () => {
    setLocale('en')
    expect(t('auth.submit')).toBe('Sign in')
    expect(t('desk.unread', { count: 3 })).toBe('3 unread')
    setLocale('pt-BR')
    expect(t('auth.submit')).toBe('Entrar')
  })

  it('has every key in both languages, in every part', () => {
    for (const [english, portuguese] of [[en, ptBR], [adminEn, adminPtBR], [flowsEn, flowsPtBR], [opsEn, opsPtBR]] as const) {
      expect(Object.keys(portuguese).sort()).toEqual(Object.keys(english).sort())
    }
  })

  it('keeps each part to its own keys', () => {
    const parts: Record<string, object> = { core: en, admin: adminEn, flows: flowsEn, ops: opsEn }
    const owners = new Map<string, string>()
    for (const [part, dictionary] of Object.entries(parts)) {
      for (const key of Object.keys(dictionary)) {
        expect(owners.get(key), `${key} is in ${part} and ${owners.get(key) ?? ''}`).toBeUndefined()
        owners.set(key, part)
      }
    }
  })

  it('formats durations', () => {
    expect(formatDuration(5)).toBe('5s')
    expect(formatDuration(125)).toBe('2m')
    expect(formatDuration(3600 + 300)).toBe('1h 5m')
    expect(formatDuration(86400 * 2)).toBe('2d')
  })
})
