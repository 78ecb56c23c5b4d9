import { isPlaced, moveNodes } from './document'
import { layoutPositions, NODE_WIDTH, type Size } from './layout'
import { outcomesOf } from './outcomes'
import type { FlowDocument, FlowNode, ModuleCatalog } from './types'

/** About how tall a node's card is: a header and one line per outcome handle. */
export function cardSize(node: FlowNode, modules: ModuleCatalog): Size {
  return { width: NODE_WIDTH, height: 72 + 20 * outcomesOf(node, modules).length }
}

export function arrange(doc: FlowDocument, modules: ModuleCatalog): FlowDocument {
  return moveNodes(doc, layoutPositions(doc, (n) => cardSize(n, modules)))
}

/** An imported flow usually comes without positions: it is laid out when opened. */
export function placed(doc: FlowDocument, modules: ModuleCatalog): FlowDocument {
  return isPlaced(doc) ? doc : arrange(doc, modules)
}
