/** A bar chart (vertical or horizontal, stacked or grouped) on Chart.js, registering only what it uses. */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, type Scale, Tooltip } from "chart.js";
import { useEffect, useRef } from "react";

import { ellipsize } from "./labels";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series {
  label: string;
  data: number[];
  colour: string;
}

interface Props {
  labels: string[];
  series: Series[];
  stacked?: boolean;
  horizontal?: boolean;
}

/** The category axis's tick: its label, cut with an ellipsis when long. */
function shortLabel(this: Scale, value: string | number): string {
  return ellipsize(String(this.getLabelForValue(Number(value))));
}

export function BarChart({ labels, series, stacked = false, horizontal = false }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 300 },
        scales: {
          x: { stacked, beginAtZero: true, ticks: horizontal ? {} : { callback: shortLabel } },
          y: { stacked, beginAtZero: true, ticks: horizontal ? { callback: shortLabel } : {} },
        },
        // The tooltip's title is the whole label: the axis shows it cut.
        plugins: { legend: { position: "bottom" } },
      },
    });
    return () => chart.current?.destroy();
  }, [stacked, horizontal]);

  useEffect(() => {
    if (!chart.current) return;
    chart.current.data.labels = labels;
    chart.current.data.datasets = series.map((s) => ({ label: s.label, data: s.data, backgroundColor: s.colour, borderRadius: 3 }));
    chart.current.update();
  }, [labels, series]);

  return (
    <div className="chart" style={{ height: horizontal ? Math.max(160, 34 * labels.length + 60) : 260 }}>
      <canvas ref={canvas} role="img" aria-label={series.map((s) => s.label).join(", ")} />
    </div>
  );
}
