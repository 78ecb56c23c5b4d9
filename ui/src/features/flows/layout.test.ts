import { describe, expect, it } from 'vitest'
import { arrange, placed } from './arrange'
import { layoutPositions } from './layout'
import { menuFlow } from './test-flows'

describe('layout', () => {
  it('places every node, the start first, edges going rightwards', () => {
    const doc = menuFlow()
    const at = layoutPositions(doc)
    expect([...at.keys()].sort()).toEqual(doc.nodes.map((n) => n.id).sort())
    expect(at.get('welcome')!.x).toBeLessThan(at.get('menu')!.x)
    expect(at.get('menu')!.x).toBeLessThan(at.get('ask')!.x)
    expect(at.get('ask')!.x).toBeLessThan(at.get('human')!.x)
  })

  it('lays out a flow without positions, and leaves a placed one alone', () => {
    const doc = menuFlow()
    expect(placed(doc, {})).toBe(doc)
    const bare = { ...doc, nodes: doc.nodes.map((n) => ({ ...n, ui: null })) }
    const laid = placed(bare, {})
    expect(laid.nodes.every((n) => typeof n.ui?.x === 'number' && typeof n.ui.y === 'number')).toBe(true)
    expect(arrange(laid, {}).nodes.map((n) => n.ui)).toEqual(laid.nodes.map((n) => n.ui))
  })

  it('survives cycles and edges to nodes that do not exist', () => {
    const doc = menuFlow()
    doc.edges.push({ from: 'ask', on: 'timeout', to: 'welcome' }, { from: 'ask', on: 'invalid', to: 'ghost' })
    expect(layoutPositions(doc).size).toBe(doc.nodes.length)
  })
})
