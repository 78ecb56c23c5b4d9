import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import axe from 'axe-core'
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { setAuthHandlers } from '@/lib/api'
import type { AgentSocket } from '@/lib/agent-socket'
import { Composer } from './Composer'
import { checkFile } from './composer/attachment'
import { filterCanned, slashTokenAt } from './composer/canned'
import { searchEmoji } from './composer/EmojiPicker'
import { DeskSocketContext } from './desk-context'
import { deskActions } from './store'
import { json } from '@/test/fakes'

const CANNED = [
  { id: 1, team_id: 3, shortcut: 'boleto', title: 'Segunda via do boleto', text: 'Segue a *segunda via* do boleto.', created_at: null, updated_at: null },
  { id: 2, team_id: 3, shortcut: 'bomdia', title: 'Bom dia', text: 'Bom dia! Como posso ajudar?', created_at: null, updated_at: null },
  { id: 3, team_id: 3, shortcut: 'prazo', title: 'Prazo de entrega', text: 'O prazo é de 5 dias úteis.', created_at: null, updated_at: null },
]

let fetchMock: ReturnType<typeof vi.fn<(url: string, init?: RequestInit) => Promise<Response>>>
let socketSend: ReturnType<typeof vi.fn<(command: unknown) => Promise<Record<string, unknown>>>>
let uploadAnswer: () => Response

beforeEach(() => {
  uploadAnswer = () =>
    json({ id: 'wamid.M1', type: 'image', mime_type: 'image/png', size: 2048, filename: 'foto.png' }, 201)
  fetchMock = vi.fn((url: string, init?: RequestInit) => {
    if (url.startsWith('/api/v1/canned-responses')) return Promise.resolve(json({ canned_responses: CANNED, next_cursor: null }))
    if (url === '/api/v1/conversations/42/media' && init?.method === 'POST') return Promise.resolve(uploadAnswer())
    return Promise.resolve(new Response('{}', { status: 404 }))
  })
  vi.stubGlobal('fetch', fetchMock)
  socketSend = vi.fn(() => Promise.resolve({ message_id: 900 }))
  setAuthHandlers({ getAccessToken: () => 'tok', refresh: () => Promise.resolve('tok2'), onAuthFailure: vi.fn() })
  deskActions.reset()
  deskActions.select(42)
})

afterEach(() => {
  setAuthHandlers(null)
  vi.unstubAllGlobals()
})

function renderComposer(onSend = vi.fn()) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  const socket = { send: socketSend } as unknown as AgentSocket
  render(
    <QueryClientProvider client={client}>
      <DeskSocketContext.Provider value={socket}>
        <Composer disabled={false} onSend={onSend} />
      </DeskSocketContext.Provider>
    </QueryClientProvider>,
  )
  return { onSend, box: screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Message' }) }
}

/** What axe-core finds serious or critical in the document as it is now. */
async function seriousViolations(): Promise<string[]> {
  const result = await axe.run(document.body, { resultTypes: ['violations'], // jsdom draws nothing: contrast is checked in the browser tests.
    rules: { region: { enabled: false }, 'color-contrast': { enabled: false } }, })
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)
}

describe('the formatting preview', () => {
  it('shows how WhatsApp formats the text, only when it holds formatting', async () => {
    const user = userEvent.setup()
    const { box } = renderComposer()
    await user.type(box, 'plain words')
    expect(screen.queryByRole('figure')).not.toBeInTheDocument()
    await user.clear(box)
    await user.type(box, 'um *negrito* e _itálico_')
    const preview = screen.getByRole('figure', { name: 'Preview' })
    expect(within(preview).getByText('negrito').tagName).toBe('STRONG')
    expect(within(preview).getByText('itálico').tagName).toBe('EM')
  })
})

describe('canned responses', () => {
  it('finds the word after / at the caret, or the whole first line of a message starting with /', () => {
    expect(slashTokenAt('/bol', 4)).toEqual({ start: 0, end: 4, query: 'bol' })
    expect(slashTokenAt('/segunda via', 12)).toEqual({ start: 0, end: 12, query: 'segunda via' })
    expect(slashTokenAt('Olá /pra fim', 8)).toEqual({ start: 4, end: 8, query: 'pra' })
    expect(slashTokenAt('Olá /prazo fim', 7)).toEqual({ start: 4, end: 10, query: 'pr' })
    expect(slashTokenAt('e/ou', 4)).toBeNull()
    expect(slashTokenAt('Olá', 3)).toBeNull()
    expect(slashTokenAt('/x', 0)).toBeNull()
  })

  it('ranks shortcuts starting with the query first, then titles (accents ignored)', () => {
    expect(filterCanned(CANNED, 'bo').map((r) => r.shortcut)).toEqual(['boleto', 'bomdia'])
    expect(filterCanned(CANNED, 'entrega').map((r) => r.shortcut)).toEqual(['prazo'])
    expect(filterCanned(CANNED, 'segunda via').map((r) => r.shortcut)).toEqual(['boleto'])
    expect(filterCanned(CANNED, '').map((r) => r.shortcut)).toEqual(['boleto', 'bomdia', 'prazo'])
  })

  it('lists them on /, filters as one types, moves with the arrows and inserts with Enter', async () => {
    const user = userEvent.setup()
    const { box, onSend } = renderComposer()
    expect(fetchMock).not.toHaveBeenCalled() // read only once a / is typed
    await user.type(box, '/bo')
    const list = await screen.findByRole('listbox', { name: 'Canned responses' })
    expect(within(list).getAllByRole('option').map((o) => o.textContent)).toEqual([
      '/boleto Segunda via do boletoSegue a *segunda via* do boleto.',
      '/bomdia Bom diaBom dia! Como posso ajudar?',
    ])
    expect(box).toHaveAttribute('aria-controls', list.id)
    const first = within(list).getAllByRole('option')[0]!
    expect(first).toHaveAttribute('aria-selected', 'true')
    expect(box).toHaveAttribute('aria-activedescendant', first.id)
    expect(await seriousViolations()).toEqual([])

    await user.keyboard('{ArrowDown}')
    const second = within(list).getByRole('option', { name: /bomdia/ })
    expect(second).toHaveAttribute('aria-selected', 'true')
    expect(box).toHaveAttribute('aria-activedescendant', second.id)
    await user.keyboard('{Enter}')
    expect(box).toHaveValue('Bom dia! Como posso ajudar?')
    expect(onSend).not.toHaveBeenCalled()
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument()
    expect(box).not.toHaveAttribute('aria-activedescendant')

    // Then Enter sends, as always.
    await user.keyboard('{Enter}')
    expect(onSend).toHaveBeenCalledWith('Bom dia! Como posso ajudar?')
    expect(box).toHaveValue('')
    expect(fetchMock).toHaveBeenCalledTimes(1) // cached
  })

  it('replaces a /word in the middle of the text with Tab, matching titles too', async () => {
    const user = userEvent.setup()
    const { box } = renderComposer()
    await user.type(box, 'Oi! /entrega')
    const list = await screen.findByRole('listbox', { name: 'Canned responses' })
    expect(within(list).getAllByRole('option')).toHaveLength(1)
    await user.keyboard('{Tab}')
    expect(box).toHaveValue('Oi! O prazo é de 5 dias úteis.')
    expect(box).toHaveFocus()
    expect(box.selectionStart).toBe(box.value.length)
  })

  it('closes with Escape, after which Enter sends what was typed', async () => {
    const user = userEvent.setup()
    const { box, onSend } = renderComposer()
    await user.type(box, '/prazo')
    await screen.findByRole('listbox', { name: 'Canned responses' })
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument()
    await user.keyboard('{Enter}')
    expect(onSend).toHaveBeenCalledWith('/prazo')
  })

  it('does not send a /word on Enter while the responses are still coming', async () => {
    fetchMock.mockImplementationOnce(() => new Promise<Response>(() => undefined))
    const user = userEvent.setup()
    const { box, onSend } = renderComposer()
    await user.type(box, '/bo{Enter}')
    expect(screen.getByText('Loading…')).toBeInTheDocument()
    expect(onSend).not.toHaveBeenCalled()
    expect(box).toHaveValue('/bo')
  })

  it('says when nothing matches, and Enter still sends', async () => {
    const user = userEvent.setup()
    const { box, onSend } = renderComposer()
    await user.type(box, '/xyz')
    expect(await screen.findByText('No canned response matches “/xyz”.')).toBeInTheDocument()
    await user.keyboard('{Enter}')
    expect(onSend).toHaveBeenCalledWith('/xyz')
  })
})

describe('the emoji picker', () => {
  it('searches in English and Portuguese', () => {
    expect(searchEmoji('thumbs up').map((e) => e.char)).toContain('👍')
    expect(searchEmoji('joinha').map((e) => e.char)).toEqual(['👍'])
    expect(searchEmoji('coracao vermelho').map((e) => e.char)).toEqual(['❤️'])
  })

  it('inserts the chosen emoji at the caret and gives the focus back to the box', async () => {
    const user = userEvent.setup()
    const { box } = renderComposer()
    await user.type(box, 'Obrigado!')
    box.setSelectionRange(8, 8)
    await user.click(screen.getByRole('button', { name: 'Insert emoji' }))
    const search = await screen.findByRole('combobox', { name: 'Search emoji' })
    await waitFor(() => expect(search).toHaveFocus())
    expect(screen.getByRole('dialog', { name: 'Emoji' })).toBeInTheDocument()
    expect(await seriousViolations()).toEqual([])

    await user.type(search, 'coração')
    const found = searchEmoji('coração')
    expect(found.length).toBeGreaterThan(2)
    const grid = screen.getByRole('grid', { name: 'Emoji' })
    const cells = within(grid).getAllByRole('gridcell')
    expect(cells).toHaveLength(found.length)
    expect(search).not.toHaveAttribute('aria-activedescendant')
    await user.keyboard('{ArrowDown}')
    expect(cells[0]).toHaveAttribute('aria-selected', 'true')
    expect(search).toHaveAttribute('aria-activedescendant', cells[0]!.id)
    await user.keyboard('{ArrowRight}{ArrowRight}')
    expect(search).toHaveAttribute('aria-activedescendant', cells[2]!.id)
    expect(cells[2]).toHaveAccessibleName(found[2]!.en)
    await user.keyboard('{ArrowLeft}{Enter}')
    const heart = found[1]!.char

    expect(box).toHaveValue(`Obrigado${heart}!`)
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    await waitFor(() => expect(box).toHaveFocus())
    expect(box.selectionStart).toBe(`Obrigado${heart}`.length)
  })

  it('closes with Escape and returns the focus to the box', async () => {
    const user = userEvent.setup()
    const { box } = renderComposer()
    await user.click(screen.getByRole('button', { name: 'Insert emoji' }))
    const search = await screen.findByRole('combobox', { name: 'Search emoji' })
    await waitFor(() => expect(search).toHaveFocus())
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    await waitFor(() => expect(box).toHaveFocus())
    expect(box).toHaveValue('')
  })
})

describe('attachments', () => {
  it('knows what WhatsApp takes, and as what', () => {
    const png = checkFile(new File(['x'], 'a.png', { type: 'image/png' }))
    expect(png).toMatchObject({ ok: true, type: 'image' })
    expect(checkFile(new File(['x'], 'a.webp', { type: 'image/webp' }))).toMatchObject({ ok: true, type: 'sticker' })
    // No type from the browser: by the extension, and the file sent carries it.
    const amr = checkFile(new File(['x'], 'voz.amr'))
    expect(amr).toMatchObject({ ok: true, type: 'audio', mime: 'audio/amr' })
    expect(amr.ok && amr.file.type).toBe('audio/amr')
    expect(checkFile(new File(['x'], 'a.gif', { type: 'image/gif' }))).toMatchObject({ ok: false, reason: 'unsupported' })
    const big = new File([new Uint8Array(600 * 1024)], 's.webp', { type: 'image/webp' })
    expect(checkFile(big)).toMatchObject({ ok: false, reason: 'too_large', type: 'sticker', limit: 500 * 1024 })
  })

  it('refuses a file too large or of a type WhatsApp does not take, saying why', async () => {
    const user = userEvent.setup({ applyAccept: false })
    renderComposer()
    const input = screen.getByLabelText<HTMLInputElement>('Attach a file', { selector: 'input' })
    await user.upload(input, new File([new Uint8Array(5 * 1024 * 1024 + 1)], 'foto.jpg', { type: 'image/jpeg' }))
    expect(screen.getByRole('alert')).toHaveTextContent("foto.jpg is too large: WhatsApp's limit for image files is 5 MB.")
    expect(screen.queryByRole('group', { name: 'Attachment' })).not.toBeInTheDocument()

    await user.upload(input, new File(['PK'], 'fotos.zip', { type: 'application/zip' }))
    expect(screen.getByRole('alert')).toHaveTextContent('WhatsApp does not take fotos.zip (application/zip).')
    expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled()
    expect(fetchMock).not.toHaveBeenCalled()
  })

  it('shows the file dropped, uploads it on send and sends it with the text as caption', async () => {
    // jsdom has no object URLs.
    const createObjectURL = vi.fn(() => 'blob:thumb')
    const revokeObjectURL = vi.fn()
    Object.assign(URL, { createObjectURL, revokeObjectURL })
    onTestFinished(() => {
      Reflect.deleteProperty(URL, 'createObjectURL')
      Reflect.deleteProperty(URL, 'revokeObjectURL')
    })
    const user = userEvent.setup()
    const { box, onSend } = renderComposer()
    const file = new File([new Uint8Array(2048)], 'foto.png', { type: 'image/png' })
    fireEvent.drop(box, { dataTransfer: { files: [file], types: ['Files'] } })

    const chip = screen.getByRole('group', { name: 'Attachment' })
    expect(chip).toHaveTextContent('foto.png')
    expect(chip).toHaveTextContent('2 KB · image')
    expect(within(chip).getByRole('img', { name: 'Preview of foto.png' })).toHaveAttribute('src', 'blob:thumb')
    expect(box).toHaveAttribute('placeholder', 'Add a caption (optional) — Enter sends')

    let answer: (r: Response) => void = () => undefined
    // The upload waits until answered, to see it under way.
    fetchMock.mockImplementationOnce(() => new Promise<Response>((resolve) => (answer = resolve)))
    await user.type(box, 'Segue a foto{Enter}')
    expect(within(chip).getByText('Uploading…')).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled()
    const [url, init] = fetchMock.mock.calls[0]!
    expect(url).toBe('/api/v1/conversations/42/media')
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer tok')
    expect((init?.body as FormData).get('file')).toMatchObject({ name: 'foto.png', type: 'image/png' })

    await act(async () => {
      answer(json({ id: 'wamid.M1', type: 'image', mime_type: 'image/png', size: 2048, filename: 'foto.png' }, 201))
      await Promise.resolve()
    })
    await waitFor(() => expect(screen.queryByRole('group', { name: 'Attachment' })).not.toBeInTheDocument())
    expect(socketSend).toHaveBeenCalledWith(
      expect.objectContaining({
        type: 'send',
        conversation_id: 42,
        content: { type: 'image', id: 'wamid.M1', caption: 'Segue a foto' },
      }),
    )
    expect(onSend).not.toHaveBeenCalled()
    expect(box).toHaveValue('')
    expect(revokeObjectURL).toHaveBeenCalledWith('blob:thumb')
  })

  it('says what the server refused, and keeps the file', async () => {
    uploadAnswer = () =>
      new Response(JSON.stringify({ title: 'Payload Too Large', status: 413, detail: 'too large' }), {
        status: 413,
        headers: { 'content-type': 'application/problem+json' },
      })
    const user = userEvent.setup()
    const { box } = renderComposer()
    await user.upload(
      screen.getByLabelText<HTMLInputElement>('Attach a file', { selector: 'input' }),
      new File(['%PDF'], 'contrato.pdf', { type: 'application/pdf' }),
    )
    await user.click(box)
    await user.keyboard('{Enter}')
    expect(await screen.findByRole('alert')).toHaveTextContent(
      "contrato.pdf is too large: WhatsApp's limit for document files is 100 MB.",
    )
    expect(screen.getByRole('group', { name: 'Attachment' })).toBeInTheDocument()
    expect(socketSend).not.toHaveBeenCalled()
    await user.click(screen.getByRole('button', { name: 'Remove the attachment contrato.pdf' }))
    expect(screen.queryByRole('group', { name: 'Attachment' })).not.toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })
})
