import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type OnDelete,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import { useCallback, useMemo, useState, type DragEvent } from 'react'
import { t } from '@/lib/i18n'
import { newNode } from './catalog'
import { canvasEdges, syncNodes, type CanvasExtras, type EdgeData } from './canvas-model'
import { addNode, connect, moveNodes, nodeIds, removeEdges, removeNodes } from './document'
import { FlowNodeCard, type CanvasNode } from './FlowNodeCard'
import { PALETTE_MIME } from './Palette'
import { edit, select, useEditor } from './store'
import type { ModuleCatalog, NodePosition } from './types'
import type { NodeMetrics } from './api'

// Outside any component: React Flow warns (and redraws every node) when this object changes.
const nodeTypes = { flow: FlowNodeCard }
const DELETE_KEYS = ['Delete', 'Backspace']
// A flow of one node would otherwise open at the largest zoom.
const FIT = { maxZoom: 1 }

interface CanvasProps {
  modules: ModuleCatalog
  problemCounts: ReadonlyMap<string, number>
  metrics: ReadonlyMap<string, NodeMetrics> | null
  /** A node was clicked: its panel should show. */
  onNodeClick: (id: string) => void
}

/** Adds a node of `type` at `at` (flow coordinates) and selects it. */
export function addNodeAt(type: string, at: NodePosition, modules: ModuleCatalog): void {
  const { doc } = useEditor.getState()
  const node = newNode(type, nodeIds(doc), modules)
  edit((d) => addNode(d, { ...node, ui: { x: Math.round(at.x), y: Math.round(at.y) } }))
  select(node.id)
}

/** The flow as a graph: drag nodes, draw edges from an outcome's handle to a node, delete
 * with Delete; what changes goes to the document (and its history). */
export function Canvas({ modules, problemCounts, metrics, onNodeClick }: CanvasProps) {
  const doc = useEditor((s) => s.doc)
  const selected = useEditor((s) => s.selected)
  const waiting = useEditor((s) => s.simulatorAt)
  const { screenToFlowPosition } = useReactFlow()
  const extras: CanvasExtras = useMemo(
    () => ({ modules, problemCounts, metrics, selected, waiting }),
    [modules, problemCounts, metrics, selected, waiting],
  )
  const [nodes, setNodes] = useState<CanvasNode[]>(() => syncNodes([], doc, extras))
  // Synced while rendering, not in an effect, so that no frame shows the old document.
  const [syncedWith, setSyncedWith] = useState({ doc, extras })
  if (syncedWith.doc !== doc || syncedWith.extras !== extras) {
    setSyncedWith({ doc, extras })
    setNodes((previous) => syncNodes(previous, doc, extras))
  }
  const [selectedEdges, setSelectedEdges] = useState<ReadonlySet<string>>(new Set())
  const edges = useMemo(() => canvasEdges(doc, selectedEdges), [doc, selectedEdges])

  const onNodesChange = useCallback((changes: NodeChange<CanvasNode>[]) => {
    // Drag frames and measurements stay on the canvas; the document hears of where a drag
    // (or a move with the arrow keys) ended.
    setNodes((current) => applyNodeChanges(changes, current))
    const moves = new Map<string, NodePosition>()
    for (const change of changes) {
      if (change.type === 'position' && change.dragging === false && change.position) moves.set(change.id, change.position)
      if (change.type !== 'select') continue
      if (change.selected) select(change.id)
      else if (useEditor.getState().selected === change.id) select(null)
    }
    if (moves.size) edit((d) => moveNodes(d, moves))
  }, [])

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    setSelectedEdges((current) => {
      let next: Set<string> | null = null
      for (const change of changes) {
        if (change.type !== 'select') continue
        next ??= new Set(current)
        if (change.selected) next.add(change.id)
        else next.delete(change.id)
      }
      return next ?? current
    })
  }, [])

  const onConnect = useCallback((c: Connection) => {
    edit((d) => connect(d, c.source, c.sourceHandle ?? 'next', c.target))
  }, [])

  const onDelete: OnDelete<CanvasNode> = useCallback(({ nodes: gone, edges: cut }) => {
    // Edges by index first: removing nodes renumbers the edges.
    const indexes = new Set(cut.map((e) => (e.data as EdgeData | undefined)?.index ?? -1))
    const ids = new Set(gone.map((n) => n.id))
    edit((d) => removeNodes(removeEdges(d, indexes), ids))
    setSelectedEdges(new Set())
  }, [])

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(PALETTE_MIME)) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'copy'
  }, [])

  const onDrop = useCallback(
    (event: DragEvent) => {
      const type = event.dataTransfer.getData(PALETTE_MIME)
      if (!type) return
      event.preventDefault()
      addNodeAt(type, screenToFlowPosition({ x: event.clientX, y: event.clientY }), modules)
    },
    [modules, screenToFlowPosition],
  )

  return (
    <section aria-label={t('flows.canvas')} className="relative h-full min-h-0 flex-1" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<CanvasNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onDelete={onDelete}
        onPaneClick={() => select(null)}
        onNodeClick={(_, node) => onNodeClick(node.id)}
        deleteKeyCode={DELETE_KEYS}
        multiSelectionKeyCode={['Meta', 'Control']}
        fitView
        fitViewOptions={FIT}
        minZoom={0.1}
        onlyRenderVisibleElements
        // Auto-pan runs a frame loop that updates every node's store entry on each frame of a
        // drag: with 200 nodes it turned a smooth drag into 50-100 ms frames
        // (benchmarks/builder.py). Panning stays one drag of the background away.
        autoPanOnNodeDrag={false}
      >
        <Background gap={16} />
        <Controls aria-label={t('flows.zoomControls')} />
        <MiniMap pannable zoomable ariaLabel={t('flows.minimap')} />
      </ReactFlow>
    </section>
  )
}
