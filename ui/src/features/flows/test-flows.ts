/** Flows the builder's tests share: a small menu that is valid as written. */

import type { FlowDocument } from './types'

export function menuFlow(): FlowDocument {
  return {
    format: 1,
    id: 'menu',
    name: 'Menu',
    start: 'welcome',
    nodes: [
      { id: 'welcome', type: 'send_text', text: 'Olá!', ui: { x: 0, y: 0 } },
      { id: 'menu', type: 'send_buttons', text: 'Escolha', buttons: [{ id: 'a', title: 'A' }, { id: 'b', title: 'B' }], max_retries: 1, ui: { x: 300, y: 0 } },
      { id: 'ask', type: 'ask', text: 'Conte', variable: 'problem', ui: { x: 600, y: 0 } },
      { id: 'human', type: 'handoff', team: 'suporte', ui: { x: 900, y: 0 } },
      { id: 'done', type: 'end', ui: { x: 900, y: 200 } },
    ],
    edges: [
      { from: 'welcome', to: 'menu' },
      { from: 'menu', on: 'a', to: 'ask' },
      { from: 'menu', on: 'b', to: 'done' },
      { from: 'menu', on: 'invalid', to: 'human' },
      { from: 'ask', on: 'next', to: 'human' },
    ],
  }
}
