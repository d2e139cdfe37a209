/** A mapping step: computes its output with a JSONata expression, no connector. */
import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import { StepIcon } from "../icons";
import type { StepNode } from "../flowGraph";
import { StepCard } from "./StepCard";

export const MappingNode = memo(function MappingNode({ data, selected }: NodeProps<StepNode>) {
  return (
    <StepCard step={data.step} selected={!!selected} subtitle="Mapping · JSONata" icon={<StepIcon icon="mapping" category="mapping" />} />
  );
});
