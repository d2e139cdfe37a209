/** Drag from the palette, drop on the canvas: the step lands where it is dropped (``screenToFlowPosition``). */
import { useReactFlow } from "@xyflow/react";
import { useCallback, useContext, type DragEvent } from "react";
import type { Position } from "../graph";
import { DnDContext, MIME, type PaletteItem } from "./DnDContext";

export function useDnD(onDrop: (item: PaletteItem, position: Position) => void) {
  const [dragged, setDragged] = useContext(DnDContext);
  const { screenToFlowPosition } = useReactFlow();

  const onDragStart = useCallback(
    (event: DragEvent, item: PaletteItem) => {
      setDragged(item);
      event.dataTransfer.setData(MIME, JSON.stringify(item));
      event.dataTransfer.effectAllowed = "copy";
    },
    [setDragged],
  );

  const onDragOver = useCallback((event: DragEvent) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDropEvent = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
      let item = dragged;
      const carried = event.dataTransfer.getData(MIME);
      if (!item && carried) item = JSON.parse(carried) as PaletteItem;
      if (!item) return;
      // Centre the step on the pointer (a node is about 220 by 70 pixels).
      const at = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      onDrop(item, { x: Math.round(at.x - 110), y: Math.round(at.y - 35) });
      setDragged(null);
    },
    [dragged, onDrop, screenToFlowPosition, setDragged],
  );

  return { onDragStart, onDragOver, onDrop: onDropEvent };
}
