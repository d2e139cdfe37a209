/** Step icons: a coloured tile per connector type (by its ``icon`` key and category) and one for mappings. */
import { memo } from "react";

const COLOURS: Record<string, string> = {
  postgres: "#336791",
  mysql: "#00758f",
  oracle: "#c74634",
  sqlite: "#4a7fa5",
  sap: "#0a6ed1",
  http: "#7b4bb7",
  mapping: "#2f855a",
};

function Glyph({ category }: { category: string }) {
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
