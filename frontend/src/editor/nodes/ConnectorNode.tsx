/** A step that calls a connector: shows the connector and its type. */
import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { StepNode } from "../flowGraph";
import { StepIcon } from "../icons";
import { useEditor } from "../useEditor";
import { StepCard } from "./StepCard";

export const ConnectorNode = memo(function ConnectorNode({ data, selected }: NodeProps<StepNode>) {
  const catalog = useEditor((s) => s.catalog);
  const connector = data.step.connector != null ? catalog.connectorById.get(data.step.connector) : undefined;
  const type = connector ? catalog.types.get(connector.type) : undefined;
  const subtitle = connector ? `${connector.name} · ${type?.label ?? connector.type}` : "choose a connector";
  return (
    <StepCard
      step={data.step}
      selected={!!selected}
      subtitle={subtitle}
      icon={<StepIcon icon={type?.icon ?? "database"} category={type?.category ?? "database"} />}
    />
  );
});
