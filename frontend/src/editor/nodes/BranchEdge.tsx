/**
 * An edge leaving a condition step: its label on the line says when it is taken (order, then label,
 * condition or "otherwise"); a click opens its form. In a watched run, taken branches are drawn bold and
 * the others dashed.
 */
import { BaseEdge, EdgeLabelRenderer, getSmoothStepPath, type EdgeProps } from "@xyflow/react";
import { memo } from "react";
import { branchText } from "../graph";
import { useEditor } from "../useEditor";

export const BranchEdge = memo(function BranchEdge(props: EdgeProps) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected, markerEnd } = props;
  const state = useEditor((s) => s.branches[id]);
  const editEdge = useEditor((s) => s.editEdge);
  const [path, labelX, labelY] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const fields = (data ?? {}) as Record<string, unknown>;
  const missing = !fields.otherwise && !(typeof fields.condition === "string" && fields.condition.trim());
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className={`branch-edge${state ? ` branch-${state}` : ""}${selected ? " selected" : ""}`} />
      <EdgeLabelRenderer>
        <button
          type="button"
          className={`branch-label nodrag nopan${missing ? " missing" : ""}${state ? ` branch-${state}` : ""}${selected ? " selected" : ""}`}
          style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          data-edge={id}
          title={missing ? "Set this branch's condition, or make it the 'otherwise' branch" : "Edit this branch"}
          onClick={(e) => (e.stopPropagation(), editEdge(id))}
        >
          {missing ? "set a condition" : branchText(fields)}
          {state === "untaken" && <span className="visually-hidden"> (not taken)</span>}
        </button>
      </EdgeLabelRenderer>
    </>
  );
});
