/** A step on the canvas, whatever its kind: the kind's table entry (``kinds.ts``) gives its icon and subtitle. */
import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { StepNode } from "../flowGraph";
import { StepIcon } from "../icons";
import { kindOf } from "../kinds";
import { useEditor } from "../useEditor";
import { StepCard } from "./StepCard";

export const KindNode = memo(function KindNode({ data, selected }: NodeProps<StepNode>) {
  const catalog = useEditor((s) => s.catalog);
  const kind = kindOf(data.step);
  const connector = data.step.connector != null ? catalog.connectorById.get(data.step.connector) : undefined;
  // A connector step looks like its connector's type; the other kinds have their own icon.
  const type = connector && data.step.kind === "connector" ? catalog.types.get(connector.type) : undefined;
  return (
    <StepCard
      step={data.step}
      selected={!!selected}
      subtitle={kind.subtitle(data.step, catalog)}
      icon={<StepIcon icon={type?.icon ?? kind.icon} category={type?.category ?? kind.category} />}
    />
  );
});
