/**
 * The monitoring page: executions over time by status, p50/p95 duration per flow, the slowest and most
 * failing steps, and live pool usage per connector. Figures come from the monitoring and connectors APIs;
 * charts are Chart.js, bundled (no CDN). Refreshes every 15 seconds.
 */
import "./monitoring.css";
import { createRoot } from "react-dom/client";
import { useEffect, useState } from "react";
import { request } from "../editor/api";
import { BarChart, type Series } from "./BarChart";

interface Config {
  flows: { slug: string; name: string }[];
  environments: { slug: string; name: string }[];
}

interface FlowStats {
  flow: { slug: string; name: string };
  total: number;
  by_status: Record<string, number>;
  duration_ms: { p50: number | null; p95: number | null; count: number };
}

interface StepFigure {
  flow: { slug: string; name: string };
  name: string;
  runs: number;
  failures: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

interface Figures {
  timeline: { starts: string[]; counts: Record<string, number[]>; bucket_seconds: number };
  stats: FlowStats[];
  steps: { slowest: StepFigure[]; failing: StepFigure[] };
  pools: { name: string; environment: string; in_use: number; idle: number; waiting: number; max_size: number | null }[];
}

const STATUS_COLOURS: Record<string, string> = {
  succeeded: "#38a169",
  completed_with_errors: "#d69e2e",
  failed: "#e53e3e",
  cancelled: "#718096",
  running: "#3182ce",
  queued: "#a0aec0",
};
const RANGES = { "1h": 3600, "24h": 86400, "7d": 604800 } as const;
type Range = keyof typeof RANGES;
const REFRESH_MS = 15000;

function label(start: string, bucketSeconds: number): string {
  const at = new Date(start);
  return bucketSeconds >= 86400 / 2
    ? at.toLocaleDateString(undefined, { month: "short", day: "numeric" })
    : bucketSeconds >= 3600 * 2
      ? at.toLocaleString(undefined, { weekday: "short", hour: "2-digit" })
      : at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

async function load(range: Range, flow: string, environment: string): Promise<Figures> {
  const until = new Date();
  const since = new Date(until.getTime() - RANGES[range] * 1000);
  const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
  if (flow) query.set("flow", flow);
  if (environment) query.set("environment", environment);
  const [timeline, stats, steps, connectors] = await Promise.all([
    request<Figures["timeline"]>("GET", `/api/v1/monitoring/timeline?${query}`),
    request<{ flows: FlowStats[] }>("GET", `/api/v1/monitoring/stats?${query}`),
    request<Figures["steps"]>("GET", `/api/v1/monitoring/steps?${query}`),
    request<{ results: { id: number; name: string }[] }>("GET", "/api/v1/connectors/?limit=100").catch(() => ({ results: [] })),
  ]);
  const pools = (
    await Promise.all(
      connectors.results.map(async (c) => {
        const byEnvironment = await request<Record<string, Figures["pools"][number]>>("GET", `/api/v1/connectors/${c.id}/pool-stats/`).catch(
          () => ({}) as Record<string, Figures["pools"][number]>,
        );
        return Object.entries(byEnvironment)
          .filter(([env]) => !environment || env === environment)
          .map(([env, s]) => ({ name: c.name, environment: env, in_use: s.in_use, idle: s.idle, waiting: s.waiting, max_size: s.max_size }));
      }),
    )
  ).flat();
  return { timeline, stats: stats.flows, steps, pools };
}

function Monitoring({ config }: { config: Config }) {
  const [range, setRange] = useState<Range>("24h");
  const [flow, setFlow] = useState("");
  const [environment, setEnvironment] = useState("");
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    let timer = 0;
    const refresh = () =>
      load(range, flow, environment)
        .then((f) => !cancelled && (setFigures(f), setError(null)))
        .catch((e: Error) => !cancelled && setError(`Could not load the figures: ${e.message}`))
        .finally(() => {
          if (!cancelled) timer = window.setTimeout(refresh, REFRESH_MS);
        });
    void refresh();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [range, flow, environment]);

  const timelineSeries: Series[] = figures
    ? Object.entries(figures.timeline.counts)
        .filter(([, counts]) => counts.some(Boolean))
        .map(([status, counts]) => ({ label: status.replace(/_/g, " "), data: counts, colour: STATUS_COLOURS[status] ?? "#999" }))
    : [];
  const total = figures ? figures.stats.reduce((n, f) => n + f.total, 0) : 0;
  const failed = figures ? figures.stats.reduce((n, f) => n + (f.by_status.failed ?? 0), 0) : 0;

  return (
    <div className="monitoring">
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range{" "}
          <select value={range} onChange={(e) => setRange(e.target.value as Range)}>
            <option value="1h">last hour</option>
            <option value="24h">last 24 hours</option>
            <option value="7d">last 7 days</option>
          </select>
        </label>
        <label>
          Flow{" "}
          <select value={flow} onChange={(e) => setFlow(e.target.value)}>
            <option value="">all flows</option>
            {config.flows.map((f) => (
              <option key={f.slug} value={f.slug}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Environment{" "}
          <select value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            <option value="">all</option>
            {config.environments.map((env) => (
              <option key={env.slug} value={env.slug}>
                {env.name}
              </option>
            ))}
          </select>
        </label>
        {figures && (
          <span className="totals" data-testid="totals">
            <strong>{total}</strong> executions, <strong className={failed ? "bad" : ""}>{failed}</strong> failed
          </span>
        )}
      </form>
      {error && <p className="field-error" role="alert">{error}</p>}
      {!figures && !error && <p className="muted">Loading…</p>}
      {figures && (
        <div className="charts">
          <section className="card chart-card wide" aria-label="Executions over time">
            <h2>Executions over time</h2>
            {total ? (
              <BarChart labels={figures.timeline.starts.map((s) => label(s, figures.timeline.bucket_seconds))} series={timelineSeries} stacked />
            ) : (
              <p className="muted">No executions in this range.</p>
            )}
          </section>
          <section className="card chart-card" aria-label="Duration per flow">
            <h2>Duration per flow (ms)</h2>
            {figures.stats.some((f) => f.duration_ms.count) ? (
              <BarChart
                horizontal
                labels={figures.stats.filter((f) => f.duration_ms.count).map((f) => f.flow.name)}
                series={[
                  { label: "p50", colour: "#4299e1", data: figures.stats.filter((f) => f.duration_ms.count).map((f) => f.duration_ms.p50 ?? 0) },
                  { label: "p95", colour: "#2c5282", data: figures.stats.filter((f) => f.duration_ms.count).map((f) => f.duration_ms.p95 ?? 0) },
                ]}
              />
            ) : (
              <p className="muted">No finished executions in this range.</p>
            )}
          </section>
          <section className="card chart-card" aria-label="Slowest steps">
            <h2>Slowest steps (p95, ms)</h2>
            {figures.steps.slowest.length ? (
              <BarChart
                horizontal
                labels={figures.steps.slowest.map((s) => `${s.name} · ${s.flow.name}`)}
                series={[{ label: "p95", colour: "#805ad5", data: figures.steps.slowest.map((s) => s.p95_ms ?? 0) }]}
              />
            ) : (
              <p className="muted">No step ran in this range.</p>
            )}
          </section>
          <section className="card chart-card" aria-label="Most failing steps">
            <h2>Most failing steps</h2>
            {figures.steps.failing.length ? (
              <BarChart
                horizontal
                labels={figures.steps.failing.map((s) => `${s.name} · ${s.flow.name}`)}
                series={[
                  { label: "failures", colour: "#e53e3e", data: figures.steps.failing.map((s) => s.failures) },
                  { label: "runs", colour: "#cbd5e0", data: figures.steps.failing.map((s) => s.runs - s.failures) },
                ]}
                stacked
              />
            ) : (
              <p className="muted">No step failed in this range.</p>
            )}
          </section>
          <section className="card chart-card" aria-label="Pool usage">
            <h2>Connection pools now</h2>
            {figures.pools.length ? (
              <BarChart
                horizontal
                stacked
                labels={figures.pools.map((p) => `${p.name} · ${p.environment}`)}
                series={[
                  { label: "in use", colour: "#dd6b20", data: figures.pools.map((p) => p.in_use) },
                  { label: "idle", colour: "#9ae6b4", data: figures.pools.map((p) => p.idle) },
                  { label: "waiting", colour: "#e53e3e", data: figures.pools.map((p) => p.waiting) },
                ]}
              />
            ) : (
              <p className="muted">No connector you may see is deployed.</p>
            )}
          </section>
        </div>
      )}
    </div>
  );
}

const root = document.getElementById("monitoring");
const settings = document.getElementById("monitoring-config");
if (root && settings) createRoot(root).render(<Monitoring config={JSON.parse(settings.textContent || "{}") as Config} />);
