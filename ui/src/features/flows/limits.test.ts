import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS, limitsFromSchema } from './limits'

describe('limitsFromSchema', () => {
  it('reads lengths and counts from the JSON Schema', () => {
    const schema = {
      properties: { name: { maxLength: 150 } },
      $defs: {
        button: { properties: { title: { minLength: 1, maxLength: 25 } } },
        send_buttons: { properties: { buttons: { maxItems: 4 } } },
      },
    }
    const limits = limitsFromSchema(schema)
    expect(limits['button.title']).toEqual({ min: 1, max: 25 })
    expect(limits['send_buttons.buttons']).toEqual({ maxItems: 4 })
    expect(limits['flow.name']?.max).toBe(150)
    expect(limits['row.title']).toEqual(DEFAULT_LIMITS['row.title'])
  })

  it('falls back to the defaults for anything that is not a schema', () => {
    expect(limitsFromSchema({ name: 'schema', versions: [] })).toBe(DEFAULT_LIMITS)
    expect(limitsFromSchema(null)).toBe(DEFAULT_LIMITS)
  })
})
