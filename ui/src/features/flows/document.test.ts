import { describe, expect, it } from 'vitest'
import { addNode, connect, emptyFlow, isPlaced, moveNodes, normalize, removeEdges, removeNodes, renameNode, replaceNode, setStart } from './document'
import { menuFlow } from './test-flows'

describe('document operations', () => {
  it('keeps the nodes it does not change as the same objects', () => {
    const doc = menuFlow()
    const next = replaceNode(doc, 'ask', { ...doc.nodes[2]!, text: 'Diga' })
    expect(next.nodes[0]).toBe(doc.nodes[0])
    expect(next.nodes[2]).not.toBe(doc.nodes[2])
    expect(doc.nodes[2]!.text).toBe('Conte')
  })

  it('connect replaces the edge an outcome already had', () => {
    const doc = connect(menuFlow(), 'menu', 'a', 'done')
    expect(doc.edges.filter((e) => e.from === 'menu' && e.on === 'a')).toEqual([{ from: 'menu', on: 'a', to: 'done' }])
    const added = connect(doc, 'done', 'next', 'welcome')
    expect(added.edges.at(-1)).toEqual({ from: 'done', to: 'welcome' })
  })

  it('removing a node removes its edges; edges go by index', () => {
    const doc = removeNodes(menuFlow(), new Set(['human']))
    expect(doc.nodes.map((n) => n.id)).not.toContain('human')
    expect(doc.edges.some((e) => e.to === 'human')).toBe(false)
    expect(removeEdges(menuFlow(), new Set([0])).edges).toHaveLength(4)
  })

  it('renames a node everywhere, and refuses a taken id', () => {
    const doc = renameNode(menuFlow(), 'welcome', 'hello')
    expect(doc.start).toBe('hello')
    expect(doc.edges[0]).toEqual({ from: 'hello', to: 'menu' })
    const same = menuFlow()
    expect(renameNode(same, 'welcome', 'menu')).toBe(same)
  })

  it('adds, moves and sets the start', () => {
    const empty = { ...emptyFlow('x', 'X'), nodes: [], start: 'gone' }
    const one = addNode(empty, { id: 'n', type: 'end' })
    expect(one.start).toBe('n')
    expect(isPlaced(one)).toBe(false)
    const moved = moveNodes(one, new Map([['n', { x: 10.4, y: 20.6 }]]))
    expect(moved.nodes[0]!.ui).toEqual({ x: 10, y: 21 })
    expect(isPlaced(moved)).toBe(true)
    expect(setStart(moved, 'other').start).toBe('other')
  })

  it('normalizes any JSON into a drawable document', () => {
    expect(normalize({ id: 'x', nodes: [{ id: 'a', type: 'end' }] })).toMatchObject({ format: 1, id: 'x', start: 'a', edges: [] })
    expect(normalize(null).nodes).toEqual([])
  })
})
