import { describe, expect, it } from 'vitest'
import { fieldMessages, formPath, indexProblems, locate } from './problems'
import { menuFlow } from './test-flows'

describe('problems', () => {
  it('finds the node and field of a path', () => {
    const doc = menuFlow()
    const p = { path: 'nodes[1].buttons[1].title', message: 'too long', code: 'whatsapp_limit' }
    expect(locate(p, doc)).toMatchObject({ nodeId: 'menu', field: 'buttons.1.title', edgeIndex: null })
    expect(locate({ path: 'edges[1]', message: 'x', code: 'dangling_edge' }, doc)).toMatchObject({ nodeId: 'menu', edgeIndex: 1 })
    expect(locate({ path: 'start', message: 'x', code: 'bad_start' }, doc).nodeId).toBeNull()
    expect(formPath('sections[0].rows[2].id')).toBe('sections.0.rows.2.id')
  })

  it('groups problems by node and keeps the document ones apart', () => {
    const doc = menuFlow()
    const index = indexProblems(
      [
        { path: 'name', message: 'empty', code: 'bad_value' },
        { path: 'nodes[2]', message: 'unreachable', code: 'unreachable' },
        { path: 'nodes[2].text', message: 'too long', code: 'whatsapp_limit' },
      ],
      doc,
    )
    expect(index.document).toHaveLength(1)
    expect(index.byNode.get('ask')).toHaveLength(2)
    expect(fieldMessages(index.byNode.get('ask')!)).toEqual({ text: 'too long' })
  })
})
