import { FlowEditor } from './Editor'
import { FlowList } from './FlowList'

interface FlowsPageProps {
  /** The flow open in the builder, or null for the list of flows. */
  flow: string | null
  /** Open a flow by id, or the list (null). */
  onOpen: (flow: string | null) => void
}

/** The flow builder's entry: the list of flows and, for one flow, its canvas. */
export function FlowsPage({ flow, onOpen }: FlowsPageProps) {
  if (flow === null) return <FlowList onOpen={onOpen} />
  return (
    <main className="min-h-0 flex-1">
      <FlowEditor key={flow} flow={flow} onClose={() => onOpen(null)} />
    </main>
  )
}
