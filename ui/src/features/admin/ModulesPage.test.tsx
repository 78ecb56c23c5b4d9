import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, problem, routedFetch } from '@/test/fakes'
import { ModulesPage } from './ModulesPage'
import { renderWithQueries } from './test-utils'

const manifest = {
  description: 'Second copy of bank slips',
  config: [
    { name: 'base_url', type: 'url', required: true, secret: false, default: null, description: 'billing API', choices: [] },
    { name: 'method', type: 'string', required: false, secret: false, default: 'GET', description: '', choices: ['GET', 'POST'] },
    { name: 'api_token', type: 'string', required: false, secret: true, default: null, description: 'sent as Bearer token', choices: [] },
    { name: 'max_slips', type: 'integer', required: false, secret: false, default: 3, description: '', choices: [] },
    { name: 'send_pdf', type: 'boolean', required: false, secret: false, default: true, description: '', choices: [] },
  ],
  actions: [{ name: 'second_copy', description: '' }],
  permissions: ['network:outbound'],
}
const boleto = { name: 'boleto', version: '1.0.0', enabled: true, manifest }
const stored = {
  module: 'boleto',
  tenant: 'default',
  config: { base_url: 'https://billing.example', api_token: '***', max_slips: 2 },
  secrets_set: ['api_token'],
  updated_at: '2026-01-01T10:00:00+00:00',
}
const number = { phone_number_id: '1099', display_name: 'Loja', waba_id: '1', paused: false }

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

function routes(put: () => Response) {
  return routedFetch([
    ['GET', /^\/api\/v1\/modules\?/, () => json({ modules: [boleto], next_cursor: null })],
    ['GET', /^\/api\/v1\/numbers\?/, () => json({ numbers: [number], next_cursor: null })],
    ['GET', /^\/api\/v1\/modules\/boleto\/configs\?/, () => json({ configs: [stored], next_cursor: null })],
    ['GET', /^\/api\/v1\/modules\/boleto\/configs\/default$/, () => json(stored)],
    ['GET', /^\/api\/v1\/modules\/boleto\/configs\/1099$/, () => problem(404, 'no configuration')],
    ['PUT', /^\/api\/v1\/modules\/boleto\/configs\/(default|1099)$/, put],
    ['POST', /^\/api\/v1\/modules\/boleto\/disable$/, () => json({ name: 'boleto', enabled: false })],
  ])
}

async function openBoleto() {
  const user = userEvent.setup()
  renderWithQueries(<ModulesPage />)
  await user.click(await screen.findByRole('button', { name: 'Configure boleto' }))
  const form = await screen.findByRole('form', { name: 'Configuration of boleto for default' })
  return { user, form }
}

describe('ModulesPage', () => {
  it('generates the form from the manifest, never shows the secret, and keeps it with the mask', async () => {
    const fake = routes(() => json({ ...stored, updated_at: '2026-01-02T10:00:00+00:00' }))
    vi.stubGlobal('fetch', fake.fetch)
    const { user, form } = await openBoleto()
    expect(within(form).getByLabelText('base_url (required)')).toHaveValue('https://billing.example')
    expect(within(form).getByLabelText('max_slips')).toHaveValue('2')
    expect(within(form).getByLabelText('method')).toHaveDisplayValue('(default: GET)')
    expect(within(form).getByLabelText('send_pdf')).toHaveDisplayValue('(default: Yes)')
    const secret = within(form).getByLabelText('api_token')
    expect(secret).toHaveAttribute('type', 'password')
    expect(secret).toHaveValue('')
    expect(secret).toHaveAccessibleDescription(/Secret: set/)
    expect(document.body.textContent).not.toContain('***')

    await user.selectOptions(within(form).getByLabelText('method'), 'POST')
    await user.click(within(form).getByRole('button', { name: 'Save' }))
    expect(await screen.findByRole('status')).toHaveTextContent('Saved.')
    expect(fake.calls.find((c) => c.method === 'PUT')?.body).toEqual({
      base_url: 'https://billing.example',
      method: 'POST',
      api_token: '***',
      max_slips: 2,
    })
  })

  it("sends a typed secret, and shows the server's 422 on the field it names", async () => {
    const fake = routes(() => problem(422, "boleto: configuration field 'max_slips' must be an integer", { code: 'invalid', field: 'max_slips' }))
    vi.stubGlobal('fetch', fake.fetch)
    const { user, form } = await openBoleto()
    await user.type(within(form).getByLabelText('api_token'), 'new-token')
    await user.click(within(form).getByRole('button', { name: 'Save' }))
    const slips = within(form).getByLabelText('max_slips')
    await waitFor(() => expect(slips).toHaveAttribute('aria-invalid', 'true'))
    expect(slips).toHaveAccessibleDescription(/must be an integer/)
    expect(fake.calls.find((c) => c.method === 'PUT')?.body).toMatchObject({ api_token: 'new-token' })
  })

  it('checks types before sending, and configures another tenant from empty', async () => {
    const fake = routes(() => json({ ...stored, tenant: '1099', config: { base_url: 'https://b.example' }, secrets_set: [] }))
    vi.stubGlobal('fetch', fake.fetch)
    const { user } = await openBoleto()
    await user.selectOptions(screen.getByLabelText('Tenant'), '1099')
    const form = await screen.findByRole('form', { name: 'Configuration of boleto for 1099' })
    expect(within(form).getByText('Not configured for this tenant yet.')).toBeInTheDocument()
    expect(within(form).getByLabelText('api_token')).toHaveAccessibleDescription(/Secret: not set/)
    await user.type(within(form).getByLabelText('max_slips'), 'three')
    await user.click(within(form).getByRole('button', { name: 'Save' }))
    expect(await within(form).findByText('Required.')).toBeInTheDocument()
    expect(within(form).getByLabelText('max_slips')).toHaveAccessibleDescription(/^Must be a whole number\./)
    expect(fake.calls.some((c) => c.method === 'PUT')).toBe(false)

    await user.type(within(form).getByLabelText('base_url (required)'), 'https://b.example')
    await user.clear(within(form).getByLabelText('max_slips'))
    await user.click(within(form).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(fake.calls.find((c) => c.method === 'PUT')?.body).toEqual({ base_url: 'https://b.example' }))
    expect(fake.calls.find((c) => c.method === 'PUT')?.url).toBe('/api/v1/modules/boleto/configs/1099')
  })

  it('switches a module off', async () => {
    const fake = routes(() => json(stored))
    vi.stubGlobal('fetch', fake.fetch)
    const user = userEvent.setup()
    renderWithQueries(<ModulesPage />)
    await user.click(await screen.findByRole('button', { name: 'Disable boleto' }))
    await waitFor(() => expect(fake.calls.some((c) => c.method === 'POST' && c.url === '/api/v1/modules/boleto/disable')).toBe(true))
  })
})
