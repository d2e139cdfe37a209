/** Which palette item is being dragged onto the canvas (the drop reads it; dataTransfer carries it too). */
import { createContext, useState, type ReactNode } from "react";
import type { Connector } from "../api";

export interface PaletteItem {
  kind: string;
  label: string;
  icon: string;
  category: string;
  connector?: Connector;
}

export const MIME = "application/x-erpflow-step";

export const DnDContext = createContext<[PaletteItem | null, (item: PaletteItem | null) => void]>([null, () => {}]);

export function DnDProvider({ children }: { children: ReactNode }) {
  const state = useState<PaletteItem | null>(null);
  return <DnDContext.Provider value={state}>{children}</DnDContext.Provider>;
}
