/** Step icons: a coloured tile per connector type (by its ``icon`` key and category) and one per other step kind; the tool icons. */
import { memo } from "react";

const COLOURS: Record<string, string> = {
  postgres: "#336791",
  mysql: "#00758f",
  oracle: "#c74634",
  sqlite: "#4a7fa5",
  sap: "#0a6ed1",
  http: "#7b4bb7",
  mapping: "#2f855a",
  condition: "#b7791f",
  foreach: "#6b46c1",
  call_flow: "#2b6cb0",
  respond: "#319795",
  delay: "#718096",
  sync: "#2c7a7b",
};

/** The glyphs of the step kinds that are not connectors, as stroke paths on the 24-pixel tile. */
const KIND_GLYPHS: Record<string, string> = {
  condition: "M12 5v5M12 10l-5 5v4M12 10l5 5v4",
  foreach: "M7 8h8a3 3 0 0 1 0 6H9M11 11l-3 3 3 3M6 17h3",
  call_flow: "M5 7h6v10H5zM13 12h6M16 9l3 3-3 3",
  respond: "M19 12H7M11 8l-4 4 4 4M19 7v10",
  delay: "M12 6v6l3 2M12 19a7 7 0 1 0 0-14 7 7 0 0 0 0 14z",
  sync: "M6 9a6 6 0 0 1 11-2M18 15a6 6 0 0 1-11 2M17 4v3h-3M7 20v-3h3",
};

function Glyph({ category }: { category: string }) {
  if (KIND_GLYPHS[category]) return <path d={KIND_GLYPHS[category]} />;
  if (category === "mapping") {
    return <path d="M9 6c-2 0-2 2-2 3v1c0 1-1 2-2 2 1 0 2 1 2 2v1c0 1 0 3 2 3M15 6c2 0 2 2 2 3v1c0 1 1 2 2 2-1 0-2 1-2 2v1c0 1 0 3-2 3" />;
  }
  if (category === "http") {
    return (
      <>
        <circle cx="12" cy="12" r="7" />
        <path d="M5 12h14M12 5c2.5 2.5 2.5 11.5 0 14M12 5c-2.5 2.5-2.5 11.5 0 14" />
      </>
    );
  }
  if (category === "erp") {
    return <path d="M4 7h16v10H4zM8 11h8M8 14h5" />;
  }
  return (
    <>
      <ellipse cx="12" cy="7" rx="6" ry="2.5" />
      <path d="M6 7v10c0 1.4 2.7 2.5 6 2.5s6-1.1 6-2.5V7M6 12c0 1.4 2.7 2.5 6 2.5s6-1.1 6-2.5" />
    </>
  );
}

export const StepIcon = memo(function StepIcon({ icon, category, size = 28 }: { icon: string; category: string; size?: number }) {
  const colour = COLOURS[icon] ?? COLOURS[category] ?? "#4a5568";
  return (
    <svg className="step-icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true">
      <rect width="24" height="24" rx="6" fill={colour} />
      <g fill="none" stroke="#fff" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round">
        <Glyph category={category} />
      </g>
    </svg>
  );
});

/** The editor's tool icons, drawn as strokes on a 24-pixel grid: no icon font and no emoji glyph needed. */
const TOOL_PATHS: Record<string, string> = {
  undo: "M9 14 4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3",
  redo: "M15 14l5-5-5-5M20 9H9a5 5 0 0 0 0 10h3",
  copy: "M9 9h11v11H9zM5 15H4V4h11v1",
  paste: "M9 4h6v3H9zM7 5H5v16h14V5h-2",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  layout: "M4 4h6v5H4zM14 15h6v5h-6zM14 4h6v5h-6zM7 9v3h10v3M17 9v3",
  edit: "M4 20h4L19 9l-4-4L4 16v4zM13 7l4 4",
  duplicate: "M8 8h12v12H8zM4 16V4h12M14 11v6M11 14h6",
  expand: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5",
  collapse: "M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5",
  help: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01",
  close: "M6 6l12 12M18 6 6 18",
  check: "M4 12l5 5L20 6",
  play: "M7 4l13 8-13 8z",
  publish: "M12 16V4M7 9l5-5 5 5M4 20h16",
  deploy: "M5 12h14M13 6l6 6-6 6",
  pin: "M9 4h6l-1 6 3 3H7l3-3zM12 13v7",
  data: "M4 6h16M4 12h16M4 18h10",
  settings: "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19 12h2M3 12h2M12 3v2M12 19v2M17 7l1.4-1.4M5.6 18.4 7 17M17 17l1.4 1.4M5.6 5.6 7 7",
  clipboard: "M8 4h8v3H8zM6 5H5v15h14V5h-1M9 12h6M9 16h4",
  sample: "M5 4h10l4 4v12H5zM15 4v4h4M8 13h8M8 17h5",
  problem: "M12 3 2 20h20L12 3zM12 10v4M12 17h.01",
};

export type ToolIconName = keyof typeof TOOL_PATHS;

export const Icon = memo(function Icon({ name, size = 16 }: { name: ToolIconName; size?: number }) {
  return (
    <svg className="tool-icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={TOOL_PATHS[name]} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
});
