import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { CommandPalette, matches } from './CommandPalette'

describe('the command palette', () => {
  it('matches every word, ignoring case and accents', () => {
    expect(matches('Abrir José Ñandú', 'jose nandu')).toBe(true)
    expect(matches('Resolver', 'RESOLV')).toBe(true)
    expect(matches('Transferir', 'resolver')).toBe(false)
  })

  it('filters as you type, moves with the arrows and runs with Enter', async () => {
    const user = userEvent.setup()
    const resolve = vi.fn()
    const transfer = vi.fn()
    const onOpenChange = vi.fn()
    render(
      <CommandPalette
        open
        onOpenChange={onOpenChange}
        commands={[
          { id: 'resolve', label: 'Resolve', run: resolve },
          { id: 'transfer', label: 'Transfer', run: transfer },
          { id: 'open-1', label: 'Open Ana', run: vi.fn() },
        ]}
      />,
    )
    const box = screen.getByRole('combobox', { name: 'Command' })
    expect(box).toHaveFocus()
    expect(screen.getAllByRole('option')).toHaveLength(3)
    await user.type(box, 'r')
    // "Resolve", "Transfer" (both have an r); "Open Ana" has none.
    expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual(['Resolve', 'Transfer'])
    expect(screen.getByRole('option', { name: 'Resolve' })).toHaveAttribute('aria-selected', 'true')
    await user.keyboard('{ArrowDown}')
    const chosen = screen.getByRole('option', { name: 'Transfer' })
    expect(chosen).toHaveAttribute('aria-selected', 'true')
    expect(box).toHaveAttribute('aria-activedescendant', chosen.id)
    await user.keyboard('{Enter}')
    expect(transfer).toHaveBeenCalledOnce()
    expect(resolve).not.toHaveBeenCalled()
    expect(onOpenChange).toHaveBeenCalledWith(false)
  })
})
