import { describe, expect, it } from 'vitest'
import { handlesOf, leavingByNode, outcomesOf } from './outcomes'
import { menuFlow } from './test-flows'
import type { ModuleCatalog } from './types'

const modules: ModuleCatalog = {
  'boleto.second_copy': { name: 'second_copy', inputs: [], outcomes: ['ok', 'not_found', 'error'] },
}

describe('outcomesOf', () => {
  it('gives one outcome per button and list row, plus the reply settings', () => {
    expect(outcomesOf({ id: 'm', type: 'send_buttons', buttons: [{ id: 'x' }, { id: 'y' }] }, {})).toEqual(['x', 'y'])
    expect(outcomesOf({ id: 'm', type: 'send_buttons', buttons: [{ id: 'x' }], max_retries: 0, timeout_seconds: 60 }, {})).toEqual([
      'x',
      'invalid',
      'timeout',
    ])
    expect(outcomesOf({ id: 'l', type: 'send_list', sections: [{ rows: [{ id: 'r1' }] }, { rows: [{ id: 'r2' }] }] }, {})).toEqual(['r1', 'r2'])
    expect(outcomesOf({ id: 'q', type: 'ask', timeout_seconds: 5 }, {})).toEqual(['next', 'timeout'])
  })

  it('knows the fixed outcomes of every built-in type', () => {
    expect(outcomesOf({ id: 'c', type: 'condition' }, {})).toEqual(['true', 'false'])
    expect(outcomesOf({ id: 'l', type: 'loop' }, {})).toEqual(['body', 'done', 'exceeded'])
    expect(outcomesOf({ id: 's', type: 'subflow' }, {})).toEqual(['next', 'error'])
    expect(outcomesOf({ id: 's', type: 'silence_timeout' }, {})).toEqual(['reply', 'timeout'])
    expect(outcomesOf({ id: 'w', type: 'window_check' }, {})).toEqual(['open', 'closed'])
    for (const type of ['handoff', 'return', 'end']) expect(outcomesOf({ id: 'x', type }, {})).toEqual([])
  })

  it('reads module outcomes from the manifests, with error', () => {
    expect(outcomesOf({ id: 'b', type: 'boleto.second_copy' }, modules)).toEqual(['ok', 'not_found', 'error'])
    expect(outcomesOf({ id: 'b', type: 'call_module', module: 'boleto', action: 'second_copy' }, modules)).toEqual(['ok', 'not_found', 'error'])
    expect(outcomesOf({ id: 'b', type: 'other.thing' }, modules)).toEqual(['ok', 'error'])
  })
})

describe('handlesOf', () => {
  it('adds the outcomes edges leave on that the node cannot emit, marked unknown', () => {
    const doc = menuFlow()
    doc.edges.push({ from: 'welcome', on: 'oops', to: 'done' })
    const leaving = leavingByNode(doc)
    const welcome = doc.nodes[0]!
    expect(handlesOf(welcome, leaving.get('welcome') ?? [], {})).toEqual([
      { outcome: 'next', known: true },
      { outcome: 'oops', known: false },
    ])
  })
})
