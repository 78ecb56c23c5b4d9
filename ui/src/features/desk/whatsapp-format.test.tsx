import { render } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { WhatsAppText } from './whatsapp-format'

function html(text: string): string {
  const { container } = render(
    <p>
      <WhatsAppText text={text} />
    </p>,
  )
  return container.querySelector('p')!.innerHTML
}

describe('WhatsApp formatting', () => {
  it('renders bold, italic, strike and monospace as elements', () => {
    expect(html('*bold* and _it_ and ~gone~')).toBe('<strong>bold</strong> and <em>it</em> and <s>gone</s>')
    expect(html('run ```ls -la *x*``` now')).toContain('<code')
    expect(html('run ```ls -la *x*``` now')).toContain('>ls -la *x*</code>')
  })

  it('nests spans', () => {
    expect(html('*bold _both_*')).toBe('<strong>bold <em>both</em></strong>')
  })

  it('leaves markers inside words and unmatched markers alone', () => {
    expect(html('2*3*4')).toBe('2*3*4')
    expect(html('snake_case_name')).toBe('snake_case_name')
    expect(html('a * b * c')).toBe('a * b * c')
    expect(html('*open')).toBe('*open')
    expect(html('**')).toBe('**')
  })

  it('shows markup as plain text', () => {
    const { container } = render(
      <p>
        <WhatsAppText text={'<img src=x onerror=alert(1)> *hi*'} />
      </p>,
    )
    expect(container.querySelector('img')).toBeNull()
    expect(container.textContent).toBe('<img src=x onerror=alert(1)> hi')
  })
})
