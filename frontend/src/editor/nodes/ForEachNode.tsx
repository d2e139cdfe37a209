/**
 * A for-each on the canvas: a resizable box whose body steps live inside it (React Flow's sub-flow: they
 * have it as ``parentId`` and stay within it). Its header is a step card's: name, items, run status; while
 * a run is watched it shows how far the loop got ("137 / 200, 2 failed").
 */
import { NodeResizer, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { StepIcon } from "../icons";
import { kindOf } from "../kinds";
import { useEditor } from "../useEditor";
import type { StepNode } from "../flowGraph";
import { StepCard } from "./StepCard";

export function progressText(loop: { total: number; done: number; failed: number }): string {
  return `${loop.done} / ${loop.total}${loop.failed ? `, ${loop.failed} failed` : ""}`;
}

export const ForEachNode = memo(function ForEachNode({ data, selected }: NodeProps<StepNode>) {
  const catalog = useEditor((s) => s.catalog);
  const readOnly = useEditor((s) => s.readOnly);
  const loop = useEditor((s) => s.execution?.loops?.find((l) => l.step_id === data.step.id));
  const empty = useEditor((s) => !s.nodes.some((n) => n.parentId === data.step.id));
  const dragStarted = useEditor((s) => s.dragStarted);
  const dragStopped = useEditor((s) => s.dragStopped);
  const kind = kindOf(data.step);
  return (
    <div className={`foreach-box${selected ? " selected" : ""}`} data-step={data.step.id}>
      {!readOnly && (
        <NodeResizer
          isVisible={!!selected}
          minWidth={280}
          minHeight={180}
          color="#2563eb"
          onResizeStart={() => dragStarted()}
          onResizeEnd={() => dragStopped()}
        />
      )}
      <StepCard
        step={data.step}
        selected={!!selected}
        subtitle={kind.subtitle(data.step, catalog)}
        icon={<StepIcon icon={kind.icon} category={kind.category} />}
        extra={
          loop && (
            <span className="badge loop-progress" title={`${loop.name}: items done of all items, and how many of them failed`}>
              {progressText(loop)}
            </span>
          )
        }
      />
      {empty && <p className="foreach-empty muted small">Drop the steps to run for each item here.</p>}
    </div>
  );
});
