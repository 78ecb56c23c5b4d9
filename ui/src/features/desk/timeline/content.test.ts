import { describe, expect, it } from 'vitest'
import { formatBytes, mapLink, messageDetails, readContent } from './content'

/** An inbound row's payload: the webhook's whole message object. */
function inbound(type: string, body: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { from: '5511987654321', id: `wamid.${type}`, timestamp: '1772366400', type, [type]: body, ...extra }
}

describe('reading a stored message', () => {
  it('reads text, inbound (the webhook message) and outbound (the object sent)', () => {
    expect(readContent('text', inbound('text', { body: 'Olá *mundo*' }))).toEqual({ kind: 'text', text: 'Olá *mundo*' })
    expect(readContent('text', { preview_url: false, body: 'Oi!' })).toEqual({ kind: 'text', text: 'Oi!' })
  })

  it('reads every media type with caption, filename, type and link', () => {
    expect(readContent('image', inbound('image', { id: 'm1', mime_type: 'image/jpeg', sha256: 'x', caption: 'meu boleto' }))).toEqual({
      kind: 'media', media: 'image', caption: 'meu boleto', filename: null, mimeType: 'image/jpeg', size: null, link: null,
    })
    expect(readContent('document', inbound('document', { id: 'm2', filename: '../../etc/passwd.pdf', mime_type: 'application/pdf', file_size: 2048 }))).toMatchObject({
      media: 'document', filename: '../../etc/passwd.pdf', size: 2048, caption: null,
    })
    expect(readContent('audio', inbound('audio', { id: 'm3', mime_type: 'audio/ogg; codecs=opus', voice: true }))).toMatchObject({ media: 'voice' })
    expect(readContent('audio', inbound('audio', { id: 'm4', mime_type: 'audio/mpeg' }))).toMatchObject({ media: 'audio' })
    expect(readContent('video', inbound('video', { id: 'm5' }))).toMatchObject({ media: 'video' })
    expect(readContent('sticker', inbound('sticker', { id: 'm6', animated: false }))).toMatchObject({ media: 'sticker' })
    // An agent's send by link (outbound rows keep only the object sent).
    expect(readContent('image', { link: 'https://example.com/a.png', caption: 'veja' })).toMatchObject({
      media: 'image', link: 'https://example.com/a.png', caption: 'veja',
    })
  })

  it('reads a location, and degrades one without usable coordinates', () => {
    expect(readContent('location', inbound('location', { latitude: -23.5505, longitude: -46.6333, name: 'Loja Centro', address: 'Praça da Sé, 1' }))).toEqual({
      kind: 'location', latitude: -23.5505, longitude: -46.6333, name: 'Loja Centro', address: 'Praça da Sé, 1',
    })
    expect(readContent('location', inbound('location', { latitude: 'north', longitude: 1 }))).toMatchObject({ kind: 'unsupported' })
    expect(mapLink(-23.5505, -46.6333)).toBe('https://www.openstreetmap.org/?mlat=-23.550500&mlon=-46.633300#map=16/-23.550500/-46.633300')
  })

  it('reads shared contacts: names, phones, emails, company', () => {
    const payload = {
      type: 'contacts',
      contacts: [
        { name: { formatted_name: 'Bia Lima', first_name: 'Bia' }, phones: [{ phone: '+55 11 91234-5678', wa_id: '5511912345678', type: 'CELL' }], emails: [{ email: 'bia@example.com' }], org: { company: 'ACME' } },
        { name: { first_name: 'Caio', last_name: 'Reis' }, phones: [{ wa_id: '5521999990000' }] },
      ],
    }
    expect(readContent('contacts', payload)).toEqual({
      kind: 'contacts',
      contacts: [
        { name: 'Bia Lima', phones: [{ phone: '+55 11 91234-5678', type: 'CELL' }], emails: ['bia@example.com'], organization: 'ACME' },
        { name: 'Caio Reis', phones: [{ phone: '5521999990000', type: null }], emails: [], organization: null },
      ],
    })
  })

  it('reads button and list replies and the legacy template button', () => {
    expect(readContent('interactive', inbound('interactive', { type: 'button_reply', button_reply: { id: 'yes', title: 'Sim' } }))).toEqual({
      kind: 'reply', via: 'button', title: 'Sim', description: null,
    })
    expect(readContent('interactive', inbound('interactive', { type: 'list_reply', list_reply: { id: 'r2', title: '2ª via', description: 'do boleto' } }))).toEqual({
      kind: 'reply', via: 'list', title: '2ª via', description: 'do boleto',
    })
    expect(readContent('button', inbound('button', { payload: 'STOP', text: 'Parar promoções' }))).toEqual({
      kind: 'reply', via: 'template_button', title: 'Parar promoções', description: null,
    })
  })

  it('reads the buttons and lists an agent or the bot sent', () => {
    expect(
      readContent('interactive', {
        type: 'button',
        header: { type: 'text', text: 'Atendimento' },
        body: { text: 'Podemos ajudar?' },
        footer: { text: 'PyTake' },
        action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'Sim' } }, { type: 'reply', reply: { id: 'b', title: 'Não' } }] },
      }),
    ).toEqual({ kind: 'buttons', header: 'Atendimento', body: 'Podemos ajudar?', footer: 'PyTake', buttons: ['Sim', 'Não'] })
    expect(
      readContent('interactive', {
        type: 'list',
        body: { text: 'Escolha' },
        action: { button: 'Opções', sections: [{ title: 'Boletos', rows: [{ id: '1', title: '2ª via', description: 'PDF' }, { id: '2', title: 'Prazo' }] }] },
      }),
    ).toEqual({
      kind: 'list', header: null, body: 'Escolha', footer: null, button: 'Opções',
      sections: [{ title: 'Boletos', rows: [{ title: '2ª via', description: 'PDF' }, { title: 'Prazo', description: null }] }],
    })
  })

  it('reads a template: name, language and the values of its variables', () => {
    expect(
      readContent('template', {
        name: 'order_shipped',
        language: { code: 'pt_BR' },
        components: [
          { type: 'header', parameters: [{ type: 'text', text: 'Ana' }] },
          { type: 'body', parameters: [{ type: 'text', parameter_name: 'customer', text: 'Ana' }, { type: 'currency', currency: { fallback_value: 'R$ 10,00' } }] },
        ],
      }),
    ).toEqual({
      kind: 'template', name: 'order_shipped', language: 'pt_BR', text: null,
      values: { header: { 1: 'Ana' }, body: { customer: 'Ana', 2: 'R$ 10,00' } },
    })
  })

  it('reads reactions, orders, system messages and the welcome request', () => {
    expect(readContent('reaction', { message_id: 'wamid.X', emoji: '👍' })).toEqual({ kind: 'reaction', emoji: '👍', target: 'wamid.X' })
    expect(readContent('reaction', inbound('reaction', { message_id: 'wamid.X' }))).toEqual({ kind: 'reaction', emoji: '', target: 'wamid.X' })
    expect(readContent('order', inbound('order', { catalog_id: 'c', text: 'quero', product_items: [{}, {}] }))).toEqual({ kind: 'order', text: 'quero', items: 2 })
    expect(readContent('system', inbound('system', { body: 'Customer changed their number', type: 'user_changed_number' }))).toEqual({
      kind: 'system', text: 'Customer changed their number',
    })
    expect(readContent('request_welcome', { type: 'request_welcome' })).toEqual({ kind: 'welcome' })
  })

  it('says what WhatsApp could not deliver, and names types it does not know', () => {
    const payload = {
      type: 'unsupported',
      errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
      unsupported: { type: 'video_note' },
    }
    expect(readContent('unsupported', payload)).toEqual({ kind: 'unsupported', type: 'video_note', detail: 'Message type is currently not supported.' })
    expect(readContent('unknown', { type: 'unknown', errors: [{ title: 'Unknown' }] })).toEqual({ kind: 'unsupported', type: 'unknown', detail: 'Unknown' })
    expect(readContent('interactive', inbound('interactive', { type: 'carousel' }))).toEqual({ kind: 'unknown', type: 'interactive.carousel', text: '' })
    expect(readContent('hologram', {}, 'x')).toEqual({ kind: 'unknown', type: 'hologram', text: 'x' })
  })

  it('never throws on payloads of the wrong shape', () => {
    for (const type of ['text', 'image', 'location', 'contacts', 'interactive', 'button', 'template', 'reaction', 'order', 'unsupported', 'x']) {
      for (const payload of [{}, { [type]: null }, { [type]: 'str' }, { [type]: [1, 2] }, { contacts: 'no', errors: 5 }]) {
        expect(() => readContent(type, payload)).not.toThrow()
      }
    }
  })
})

describe('what surrounds a message', () => {
  it('shows the latest edit, marked as edited', () => {
    const payload = inbound('text', { body: 'Hola' }, {
      edits: [
        { wamid: 'wamid.e1', at: 1772366460, message: { original_message_id: 'wamid.text', message: { type: 'text', text: { body: 'Hola, corrected' } } } },
        { wamid: 'wamid.e2', at: 1772366470, message: { original_message_id: 'wamid.text', message: { type: 'text', text: { body: 'Hola, corrected twice' } } } },
      ],
    })
    expect(messageDetails('text', payload, '')).toMatchObject({ content: { kind: 'text', text: 'Hola, corrected twice' }, edited: true })
  })

  it('shows a deleted message as deleted (the server keeps nothing else of it)', () => {
    expect(messageDetails('image', { revoked: true, revoked_at: 1772366500, wamid: 'wamid.r' }, '').content).toEqual({ kind: 'deleted' })
  })

  it('carries the customer reaction the server folded in, the reply context and forwarding', () => {
    const payload = inbound('text', { body: 'ok' }, {
      context: { from: '551130000000', id: 'wamid.question', forwarded: true },
      reaction: { emoji: '❤️', wamid: 'wamid.react', at: 1772366480 },
    })
    expect(messageDetails('text', payload, '')).toEqual({
      content: { kind: 'text', text: 'ok' },
      edited: false,
      forwarded: true,
      replyTo: 'wamid.question',
      reaction: { emoji: '❤️', at: 1772366480 },
    })
  })

  it('makes do with the socket text while the payload is not known', () => {
    expect(messageDetails('text', undefined, 'alô?').content).toEqual({ kind: 'text', text: 'alô?' })
    expect(messageDetails('template', undefined, 'Olá Ana').content).toMatchObject({ kind: 'template', text: 'Olá Ana' })
    expect(messageDetails('image', undefined, '').content).toMatchObject({ kind: 'media', media: 'image', caption: null })
    expect(messageDetails('location', undefined, '').content).toEqual({ kind: 'unknown', type: 'location', text: '' })
  })
})

describe('formatBytes', () => {
  it('says sizes the way people read them', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(2048)).toBe('2 KB')
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MB')
    expect(formatBytes(1.5 * 1024 * 1024, 'pt-BR')).toBe('1,5 MB')
  })
})
