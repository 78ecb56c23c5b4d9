interface FlowsPageProps {
  /** The flow open in the builder, or null for the list of flows. */
  flow: string | null
  /** Open a flow by id, or the list (null). */
  onOpen: (flow: string | null) => void
}

/** The flow builder's entry: the list of flows and, for one flow, its canvas. */
export function FlowsPage({ flow }: FlowsPageProps) {
  return <main className="p-4">{flow}</main>
}
