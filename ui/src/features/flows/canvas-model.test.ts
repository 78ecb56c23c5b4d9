import { describe, expect, it } from 'vitest'
import { canvasEdges, syncNodes, type CanvasExtras } from './canvas-model'
import { replaceNode } from './document'
import { menuFlow } from './test-flows'

const extras: CanvasExtras = { modules: {}, problemCounts: new Map(), metrics: null, selected: null, waiting: null }

describe('canvas model', () => {
  it('reuses the canvas nodes whose document node did not change', () => {
    const doc = menuFlow()
    const first = syncNodes([], doc, extras)
    const next = replaceNode(doc, 'ask', { ...doc.nodes[2]!, text: 'Diga' })
    const second = syncNodes(first, next, extras)
    expect(second[0]).toBe(first[0])
    expect(second[2]).not.toBe(first[2])
    const marked = syncNodes(second, next, { ...extras, problemCounts: new Map([['menu', 2]]) })
    expect(marked[1]!.data.problems).toBe(2)
    expect(marked[0]).toBe(second[0])
  })

  it('draws one handle per outcome, and marks the start', () => {
    const nodes = syncNodes([], menuFlow(), extras)
    expect(nodes[1]!.data.handles.map((h) => h.outcome)).toEqual(['a', 'b', 'invalid'])
    expect(nodes[0]!.data.isStart).toBe(true)
  })

  it('labels edges by outcome', () => {
    const edges = canvasEdges(menuFlow(), new Set(['e1']))
    expect(edges[1]).toMatchObject({ source: 'menu', sourceHandle: 'a', target: 'ask', label: 'a', selected: true })
    expect(edges[0]).toMatchObject({ sourceHandle: 'next', label: 'next' })
  })
})
