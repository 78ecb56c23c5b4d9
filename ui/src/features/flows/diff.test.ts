import { describe, expect, it } from 'vitest'
import { diffFlows, fieldChanges, isEmptyDiff } from './diff'
import { menuFlow } from './test-flows'

describe('diffFlows', () => {
  it('finds nothing between a flow and itself, nor in moved nodes', () => {
    const a = menuFlow()
    const b = menuFlow()
    b.nodes[0]!.ui = { x: 999, y: 1 }
    expect(isEmptyDiff(diffFlows(a, b))).toBe(true)
  })

  it('reports nodes added, removed and changed field by field, and edges', () => {
    const a = menuFlow()
    const b = menuFlow()
    b.nodes = b.nodes.filter((n) => n.id !== 'done')
    b.nodes.push({ id: 'bye', type: 'end', resolved: false })
    b.nodes[1] = { ...b.nodes[1]!, buttons: [{ id: 'a', title: 'Alpha' }, { id: 'b', title: 'B' }, { id: 'c', title: 'C' }] }
    b.edges = b.edges.filter((e) => e.to !== 'done')
    b.edges.push({ from: 'menu', on: 'b', to: 'bye' })
    b.name = 'Menu 2'
    const d = diffFlows(a, b)
    expect(d.added.map((n) => n.id)).toEqual(['bye'])
    expect(d.removed.map((n) => n.id)).toEqual(['done'])
    expect(d.changed).toEqual([
      {
        id: 'menu',
        fields: [
          { path: 'buttons.0.title', before: 'A', after: 'Alpha' },
          { path: 'buttons.2', before: undefined, after: { id: 'c', title: 'C' } },
        ],
      },
    ])
    expect(d.edgesAdded).toEqual([{ from: 'menu', on: 'b', to: 'bye' }])
    expect(d.edgesRemoved).toEqual([{ from: 'menu', on: 'b', to: 'done' }])
    expect(d.document).toEqual([{ path: 'name', before: 'Menu', after: 'Menu 2' }])
  })

  it('treats an edge without on as next', () => {
    const a = menuFlow()
    const b = menuFlow()
    b.edges[0] = { from: 'welcome', on: 'next', to: 'menu' }
    expect(diffFlows(a, b).edgesAdded).toEqual([])
  })

  it('compares leaves of any JSON', () => {
    expect(fieldChanges({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }], c: true })).toEqual([
      { path: 'a.1.b', before: 2, after: 3 },
      { path: 'c', before: undefined, after: true },
    ])
  })
})
