/**
 * The canvas: React Flow drawing the store's nodes and edges, drops from the palette, and what floats on it:
 * the run status and the problems at the top left, the toasts at the top right under the toolbar, the
 * connection hint at the bottom; the controls and the minimap keep the bottom corners. A click on a step shows its data, a double-click its form.
 */
import { Background, Controls, MiniMap, ReactFlow } from "@xyflow/react";
import { useShallow } from "zustand/react/shallow";
import { useDnD } from "./dnd/useDnD";
import { edgeTypes, nodeTypes } from "./nodes";
import { Hint, Toasts } from "./Notices";
import { ProblemsPanel } from "./ProblemsPanel";
import { RunStatus } from "./RunStatus";
import { useEditor } from "./useEditor";

const SNAP: [number, number] = [16, 16];

function EmptyCanvas() {
  return (
    <div className="empty-canvas">
      <h2>Start your flow</h2>
      <p>Drag a connector from the palette onto the canvas, or click it to add it here.</p>
      <p>Then connect the bottom dot of one step to the top dot of the next; steps run from top to bottom.</p>
    </div>
  );
}

function Flow() {
  const { nodes, edges, readOnly, fitOnOpen } = useEditor(
    useShallow(({ nodes, edges, readOnly, fitOnOpen }) => ({ nodes, edges, readOnly, fitOnOpen })),
  );
  const actions = useEditor(
    useShallow(({ changeNodes, changeEdges, connect, checkConnection, dragStarted, dragStopped, openStep, inspect, editEdge }) => ({
      editEdge,
      changeNodes,
      changeEdges,
      connect,
      checkConnection,
      dragStarted,
      dragStopped,
      openStep,
      inspect,
    })),
  );
  return (
    <>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onEdgeClick={(_, edge) => edge.type === "branch" && actions.editEdge(edge.id)}
        onNodesChange={actions.changeNodes}
        onEdgesChange={actions.changeEdges}
        onConnect={actions.connect}
        isValidConnection={actions.checkConnection}
        onNodeDragStart={actions.dragStarted}
        onNodeDragStop={actions.dragStopped}
        onNodeClick={(_, node) => actions.inspect(node.id)}
        onNodeDoubleClick={(_, node) => actions.openStep(node.id)}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        deleteKeyCode={null}
        snapToGrid
        snapGrid={SNAP}
        fitView={fitOnOpen}
        fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
        minZoom={0.1}
        defaultEdgeOptions={{ type: "smoothstep" }}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} />
        <Controls />
        <MiniMap pannable zoomable ariaLabel="Overview of the flow" />
      </ReactFlow>
      {nodes.length === 0 && <EmptyCanvas />}
    </>
  );
}

export function Canvas() {
  const loading = useEditor((s) => s.loading);
  const addStep = useEditor((s) => s.addStep);
  const dnd = useDnD(addStep);
  return (
    <div className="canvas" onDrop={dnd.onDrop} onDragOver={dnd.onDragOver}>
      {!loading && <Flow />}
      <div className="canvas-left">
        <RunStatus />
        <ProblemsPanel />
      </div>
      <Toasts />
      <Hint />
    </div>
  );
}
