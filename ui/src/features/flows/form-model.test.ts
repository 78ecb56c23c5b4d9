import { describe, expect, it } from 'vitest'
import { BUILTIN_TYPES } from './catalog'
import { checkValues, FIELDS, fromForm, toForm } from './form-model'
import { DEFAULT_LIMITS } from './limits'
import type { FlowNode, ModuleCatalog } from './types'

const modules: ModuleCatalog = {
  'boleto.second_copy': {
    name: 'second_copy',
    inputs: [
      { name: 'cpf_cnpj', type: 'string', required: true },
      { name: 'days', type: 'integer', required: false },
    ],
    outcomes: ['ok', 'error'],
  },
}

describe('node forms', () => {
  it('has a form for every built-in type', () => {
    for (const type of BUILTIN_TYPES) expect(FIELDS[type]).toBeDefined()
  })

  it('round-trips a node through the form unchanged', () => {
    const nodes: FlowNode[] = [
      { id: 'm', type: 'send_list', text: 'Escolha', button: 'Ver', sections: [{ title: 'S', rows: [{ id: 'r', title: 'R', description: 'd' }] }], max_retries: 2, timeout_seconds: 60, ui: { x: 1, y: 2 } },
      { id: 'q', type: 'ask', text: 'CPF?', variable: 'cpf', validator: { type: 'cpf' } },
      { id: 'h', type: 'handoff', team: 'suporte', skills: ['a', 'b'], include_variables: false, priority: 5 },
      { id: 'e', type: 'end', resolved: false },
      { id: 'c', type: 'condition', when: { var: 'vars.x', op: 'exists' } },
      { id: 'b', type: 'boleto.second_copy', cpf_cnpj: '{{vars.cpf}}', days: 3 },
    ]
    for (const node of nodes) expect(fromForm(node, toForm(node, modules), modules)).toEqual(node)
  })

  it('leaves out empty optional fields and defaults', () => {
    const node: FlowNode = { id: 't', type: 'send_text', text: 'Oi' }
    const values = { ...toForm(node, modules), preview_url: false, label: '' }
    expect(fromForm(node, values, modules)).toEqual(node)
    const end = fromForm({ id: 'e', type: 'end' }, { ...toForm({ id: 'e', type: 'end' }, modules), resolved: true }, modules)
    expect(end).toEqual({ id: 'e', type: 'end' })
  })

  it('keeps the old value of JSON that does not parse, and says so', () => {
    const node: FlowNode = { id: 'c', type: 'condition', when: { var: 'vars.x', op: 'exists' } }
    const values = { ...toForm(node, modules), when: '{"var": ' }
    expect(fromForm(node, values, modules).when).toEqual(node.when)
    expect(checkValues('condition', values, DEFAULT_LIMITS, modules)).toEqual([{ path: 'when', message: 'Not valid JSON.' }])
  })

  it('checks WhatsApp limits: lengths, buttons, rows', () => {
    const buttons: FlowNode = { id: 'm', type: 'send_buttons', text: 'x', buttons: [1, 2, 3, 4].map((n) => ({ id: `b${String(n)}`, title: 'T'.repeat(21) })) }
    const issues = checkValues('send_buttons', toForm(buttons, {}), DEFAULT_LIMITS, {})
    expect(issues.map((i) => i.path)).toEqual(['buttons', 'buttons.0.title', 'buttons.1.title', 'buttons.2.title', 'buttons.3.title'])
    const rows = Array.from({ length: 11 }, (_, i) => ({ id: `r${String(i)}`, title: 'R' }))
    const list: FlowNode = { id: 'l', type: 'send_list', text: 'x', button: 'Ver', sections: [{ rows }] }
    expect(checkValues('send_list', toForm(list, {}), DEFAULT_LIMITS, {})).toEqual([{ path: 'sections', message: 'WhatsApp allows at most 10 rows in all.' }])
    const long: FlowNode = { id: 't', type: 'send_text', text: 'x'.repeat(4097) }
    expect(checkValues('send_text', toForm(long, {}), DEFAULT_LIMITS, {})).toEqual([{ path: 'text', message: 'At most 4096 characters.' }])
  })

  it('checks required fields, numbers and module inputs', () => {
    const ask: FlowNode = { id: 'q', type: 'ask', text: '', variable: 'x' }
    const values = { ...toForm(ask, {}), max_retries: '11' }
    expect(checkValues('ask', values, DEFAULT_LIMITS, {}).map((i) => i.path)).toEqual(['text', 'max_retries'])
    const mod = toForm({ id: 'b', type: 'boleto.second_copy' }, modules)
    expect(checkValues('boleto.second_copy', mod, DEFAULT_LIMITS, modules)).toEqual([{ path: 'fields.cpf_cnpj', message: 'Required.' }])
  })
})
