import { describe, expect, it } from 'vitest'
import { MASK, configBody, configSchema, defaultText, fieldProblems, initialValues, inputKind, readManifest } from './module-form'

/** The boleto module's manifest as `GET /api/v1/modules` gives it (pytake/modules/builtin/boleto.py). */
const boleto = readManifest({
  description: 'Second copy of bank slips',
  config: [
    { name: 'base_url', type: 'url', required: true, secret: false, default: null, description: 'billing API', choices: [] },
    { name: 'path', type: 'string', required: false, secret: false, default: '/boletos', description: '', choices: [] },
    { name: 'method', type: 'string', required: false, secret: false, default: 'GET', description: '', choices: ['GET', 'POST'] },
    { name: 'api_token', type: 'string', required: false, secret: true, default: null, description: 'sent as Bearer token', choices: [] },
    { name: 'max_slips', type: 'integer', required: false, secret: false, default: 3, description: '', choices: [] },
    { name: 'send_pdf', type: 'boolean', required: false, secret: false, default: true, description: '', choices: [] },
    { name: 'message', type: 'string', required: false, secret: false, default: 'Line 1\nLine 2', description: '', choices: [] },
    { name: 'timeout', type: 'number', required: false, secret: false, default: 10.0, description: 'seconds', choices: [] },
    { name: 'headers', type: 'object', required: false, secret: false, default: null, description: '', choices: [] },
    { name: 'Bad Name', type: 'string' },
  ],
  actions: [{ name: 'second_copy', description: 'sends the slips', inputs: [] }],
  permissions: ['network:outbound', 'messages:send'],
})
const fields = boleto.config
const field = (name: string) => fields.find((f) => f.name === name)!

describe('readManifest', () => {
  it('keeps the fields it understands and drops a malformed one', () => {
    expect(fields.map((f) => f.name)).toEqual(['base_url', 'path', 'method', 'api_token', 'max_slips', 'send_pdf', 'message', 'timeout', 'headers'])
    expect(boleto.actions).toEqual([{ name: 'second_copy', description: 'sends the slips' }])
    expect(boleto.permissions).toEqual(['network:outbound', 'messages:send'])
  })

  it('survives a manifest that is not one', () => {
    expect(readManifest(null)).toEqual({ description: '', config: [], actions: [], permissions: [] })
    expect(readManifest({ config: 'x', actions: [1] }).config).toEqual([])
  })
})

describe('inputKind', () => {
  it('maps each value type to its control', () => {
    expect(fields.map((f) => [f.name, inputKind(f)])).toEqual([
      ['base_url', 'url'],
      ['path', 'text'],
      ['method', 'choice'],
      ['api_token', 'secret'],
      ['max_slips', 'integer'],
      ['send_pdf', 'boolean'],
      ['message', 'multiline'],
      ['timeout', 'number'],
      ['headers', 'json'],
    ])
    expect(inputKind({ ...field('headers'), secret: true })).toBe('secret-json')
  })

  it('shows defaults as text', () => {
    expect(defaultText(field('path'))).toBe('/boletos')
    expect(defaultText(field('send_pdf'))).toBe('true')
    expect(defaultText(field('timeout'))).toBe('10')
    expect(defaultText(field('base_url'))).toBeNull()
  })
})

describe('initialValues', () => {
  it('fills stored fields, leaves unset ones empty and never holds a secret', () => {
    const values = initialValues(fields, { base_url: 'https://billing.example', api_token: MASK, max_slips: 5, send_pdf: false, headers: { a: 1 } })
    expect(values.v).toMatchObject({ base_url: 'https://billing.example', path: '', api_token: '', max_slips: '5', send_pdf: 'false', method: '' })
    expect(JSON.parse(values.v.headers!)).toEqual({ a: 1 })
    expect(values.clear).toEqual({ api_token: false })
  })
})

describe('fieldProblems and configBody', () => {
  const empty = initialValues(fields, null)

  it('asks for required fields and checks each type', () => {
    const values = { ...empty, v: { ...empty.v, max_slips: '2.5', timeout: 'ten', headers: '[1]' } }
    expect(fieldProblems(fields, values, [])).toEqual({ base_url: 'required', max_slips: 'integer', timeout: 'number', headers: 'jsonObject' })
    expect(fieldProblems(fields, { ...empty, v: { ...empty.v, base_url: 'ftp://x' } }, [])).toEqual({ base_url: 'url' })
    expect(fieldProblems(fields, { ...empty, v: { ...empty.v, base_url: 'https://x', headers: '{' } }, [])).toEqual({ headers: 'json' })
  })

  it('sends typed values, leaves empty ones unset (the default applies)', () => {
    const values = { ...empty, v: { ...empty.v, base_url: ' https://billing.example ', max_slips: '4', timeout: '2.5', send_pdf: 'false', method: 'POST', api_token: 's3cret' } }
    expect(fieldProblems(fields, values, [])).toEqual({})
    expect(configBody(fields, values, [])).toEqual({
      base_url: 'https://billing.example',
      max_slips: 4,
      timeout: 2.5,
      send_pdf: false,
      method: 'POST',
      api_token: 's3cret',
    })
  })

  it('keeps a stored secret left empty with the mask, and drops it when asked to', () => {
    const values = { ...empty, v: { ...empty.v, base_url: 'https://b' } }
    expect(configBody(fields, values, ['api_token'])).toEqual({ base_url: 'https://b', api_token: MASK })
    expect(configBody(fields, { ...values, clear: { api_token: true } }, ['api_token'])).toEqual({ base_url: 'https://b' })
    // Without a stored value there is nothing to keep: the mask is never sent.
    expect(configBody(fields, values, [])).toEqual({ base_url: 'https://b' })
  })

  it('lets a required secret that is stored be left empty', () => {
    const secretFields = [{ ...field('api_token'), required: true }]
    const none = initialValues(secretFields, null)
    expect(fieldProblems(secretFields, none, [])).toEqual({ api_token: 'required' })
    expect(fieldProblems(secretFields, none, ['api_token'])).toEqual({})
  })

  it('puts each problem on its field in the zod schema', () => {
    const schema = configSchema(fields, [], (p, f) => `${f.name}:${p}`)
    const result = schema.safeParse({ ...empty, v: { ...empty.v, max_slips: 'x' } })
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['v.base_url', 'base_url:required'],
      ['v.max_slips', 'max_slips:integer'],
    ])
  })
})
