import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import { json, routedFetch } from '@/test/fakes'
import { FlowList } from './FlowList'

function renderList(onOpen = vi.fn()) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(
    <QueryClientProvider client={client}>
      <FlowList onOpen={onOpen} />
    </QueryClientProvider>,
  )
  return onOpen
}

beforeEach(() => {
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok'), onAuthFailure: vi.fn() })
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

describe('FlowList', () => {
  it('lists flows with their versions and opens one', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/flows\?/, () => json({ flows: [{ name: 'triage', published_version: 2, draft_version: 3, versions: 3 }], next_cursor: null })],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    const onOpen = renderList()
    const link = await screen.findByRole('link', { name: 'triage' })
    expect(screen.getByRole('cell', { name: 'v2' })).toBeInTheDocument()
    expect(screen.getByRole('cell', { name: 'v3' })).toBeInTheDocument()
    await userEvent.setup().click(link)
    expect(onOpen).toHaveBeenCalledWith('triage')
  })

  it('imports a JSON file as a draft and shows its problems', async () => {
    const fake = routedFetch([
      ['GET', /^\/api\/v1\/flows\?/, () => json({ flows: [], next_cursor: null })],
      ['POST', /^\/api\/v1\/flows$/, () => json({ name: 'hello', version: 1, status: 'draft', valid: false, problems: [{ path: 'nodes[0].text', message: 'text is required', code: 'missing_field' }] }, 201)],
    ])
    vi.stubGlobal('fetch', fake.fetch)
    renderList()
    expect(await screen.findByText(/No flows yet/)).toBeInTheDocument()
    const file = new File([JSON.stringify({ format: 1, id: 'hello', name: 'Hello', start: 'a', nodes: [{ id: 'a', type: 'send_text' }] })], 'hello.json', { type: 'application/json' })
    await userEvent.setup().upload(screen.getByLabelText('Import a JSON file'), file)
    expect(await screen.findByText(/Stored hello as draft v1, with 1 problem/)).toBeInTheDocument()
    expect(screen.getByText(/text is required/)).toBeInTheDocument()
    const posted = fake.calls.find((c) => c.method === 'POST')
    expect(posted?.body).toMatchObject({ id: 'hello', nodes: [{ id: 'a' }] })
  })
})
