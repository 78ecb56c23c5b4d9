import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS } from './limits'
import { NodeForm } from './NodeForm'
import { openDocument, useEditor } from './store'
import { menuFlow } from './test-flows'

function renderForm(serverErrors: Record<string, string> = {}) {
  const doc = menuFlow()
  openDocument(doc)
  const node = doc.nodes[1]!
  render(
    <QueryClientProvider client={new QueryClient()}>
      <NodeForm node={node} modules={{}} limits={DEFAULT_LIMITS} serverErrors={serverErrors} />
    </QueryClientProvider>,
  )
}

describe('NodeForm', () => {
  it('counts characters against WhatsApp limits and writes changes to the document', async () => {
    renderForm()
    const user = userEvent.setup()
    const title = screen.getByLabelText('Button 1 title')
    await user.clear(title)
    await user.type(title, 'Um título longo demais')
    expect(await screen.findByText('22/20')).toBeInTheDocument()
    expect(title).toHaveAttribute('aria-invalid', 'true')
    expect(screen.getByText('At most 20 characters.')).toBeInTheDocument()
    await act(() => new Promise((resolve) => setTimeout(resolve, 300)))
    const menu = useEditor.getState().doc.nodes.find((n) => n.id === 'menu')
    expect(menu?.buttons).toEqual([{ id: 'a', title: 'Um título longo demais' }, { id: 'b', title: 'B' }])
    // Typing in one node is one undo step.
    expect(useEditor.getState().history.past).toHaveLength(1)
  })

  it('stops at three buttons and shows the server problems on their field', async () => {
    renderForm({ text: 'text has a broken placeholder' })
    expect(screen.getByText('text has a broken placeholder')).toBeInTheDocument()
    const user = userEvent.setup()
    await user.click(screen.getByRole('button', { name: 'Add a button' }))
    expect(screen.getByRole('group', { name: 'Buttons (3 of 3)' })).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Add a button' })).toBeDisabled()
  })
})
