/**
 * The canvas editor of one flow: providers at the root, then the toolbar, the palette, the canvas and the
 * drawers. The graph lives in React Flow's nodes and edges; every change the user makes goes through
 * ``commit`` so undo and redo see it, and the saved revision tells whether there are unsaved changes.
 */
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError, api, type Environment, type Execution, type Problem } from "./api";
import { CanvasContext, emptyCatalog, type Catalog, type CanvasInfo } from "./context";
import { DnDProvider, type PaletteItem } from "./dnd/DnDContext";
import { useDnD } from "./dnd/useDnD";
import { StepDrawer } from "./forms/StepDrawer";
import { StepRunPanel } from "./forms/StepRunPanel";
import {
  DEFAULT_TIMEOUT_MS,
  FINAL_EXECUTION_STATUSES,
  History,
  autoLayout,
  connectionProblem,
  copySteps,
  nextId,
  pasteSteps,
  referenceKey,
  runStatuses,
  uniqueName,
  upstreamOf,
  type Clip,
  type Graph,
  type Position,
  type Step,
} from "./graph";
import { nodeTypes, type StepNode } from "./nodes";
import { Sidebar } from "./Sidebar";
import { Toolbar } from "./Toolbar";

export interface EditorConfig {
  slug: string;
  name: string;
  canChange: boolean;
  canRun: boolean;
  links: { versions: string; diff: string; executions: string };
}

const POLL_MS = 400;
const SNAP: [number, number] = [16, 16];

function toNodes(graph: Graph, selected: Set<string> = new Set()): StepNode[] {
  return graph.steps.map((step) => ({
    id: step.id,
    type: step.kind === "mapping" ? "mapping" : "connector",
    position: { ...step.position },
    data: { step },
    selected: selected.has(step.id),
  }));
}

function toEdges(graph: Graph): Edge[] {
  return graph.edges.map((edge) => ({ ...edge, id: `${edge.source}->${edge.target}` }));
}

function toGraph(nodes: StepNode[], edges: Edge[], extra: Record<string, unknown>): Graph {
  return {
    ...extra,
    steps: nodes.map((node) => ({ ...node.data.step, position: { x: Math.round(node.position.x), y: Math.round(node.position.y) } })),
    edges: edges.map(({ source, target, data }) => ({ ...(data as Record<string, unknown> | undefined), source, target })),
  };
}

interface Notice {
  kind: "ok" | "error";
  text: string;
}

function typingInField(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element && (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName) || element.isContentEditable);
}

function Editor({ config }: { config: EditorConfig }) {
  const { slug, canChange, canRun } = config;
  const readOnly = !canChange;
  const flow = useReactFlow();
  const [nodes, setNodes] = useState<StepNode[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [catalog, setCatalog] = useState<Catalog>(emptyCatalog);
  const [environments, setEnvironments] = useState<Environment[]>([]);
  const [editing, setEditing] = useState<string | null>(null);
  const [runView, setRunView] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [hint, setHint] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [revision, setRevision] = useState(0);
  const [savedRevision, setSavedRevision] = useState(0);
  const [savedIds, setSavedIds] = useState<Set<string>>(new Set());
  const [execution, setExecution] = useState<Execution | null>(null);
  const [, setHistoryTick] = useState(0);
  const history = useRef(new History<Graph>());
  const extra = useRef<Record<string, unknown>>({});
  const clip = useRef<Clip | null>(null);
  const pastes = useRef(0);
  const dragStart = useRef<Graph | null>(null);
  // Fit the view to the steps a flow opens with; an empty canvas keeps zoom 1, so drops land where aimed.
  const startedWithSteps = useRef(false);
  const nodesRef = useRef(nodes);
  const edgesRef = useRef(edges);
  nodesRef.current = nodes;
  edgesRef.current = edges;

  const graph = useCallback(() => toGraph(nodesRef.current, edgesRef.current, extra.current), []);
  const show = useCallback((graphToShow: Graph, selected?: Set<string>) => {
    const nodesNow = toNodes(graphToShow, selected);
    const edgesNow = toEdges(graphToShow);
    nodesRef.current = nodesNow;
    edgesRef.current = edgesNow;
    setNodes(nodesNow);
    setEdges(edgesNow);
  }, []);

  /** Apply a change the user made: remembered for undo, counted as unsaved. */
  const commit = useCallback(
    (change: (current: Graph) => Graph, selected?: Set<string>) => {
      const before = graph();
      history.current.push(before);
      show(change(structuredClone(before)), selected);
      setRevision((r) => r + 1);
      setHistoryTick((t) => t + 1);
    },
    [graph, show],
  );

  const say = useCallback((kind: Notice["kind"], text: string) => setNotice({ kind, text }), []);

  useEffect(() => {
    if (!notice || notice.kind === "error") return;
    const timer = window.setTimeout(() => setNotice(null), 4000);
    return () => window.clearTimeout(timer);
  }, [notice]);

  useEffect(() => {
    if (!hint) return;
    const timer = window.setTimeout(() => setHint(null), 5000);
    return () => window.clearTimeout(timer);
  }, [hint]);

  useEffect(() => {
    Promise.all([api.draft(slug), api.connectorTypes(), api.connectors(), api.environments()])
      .then(([draft, types, connectors, envs]) => {
        const { steps = [], edges: draftEdges = [], ...rest } = draft.graph;
        extra.current = rest;
        setCatalog({
          types: new Map(types.map((t) => [t.key, t])),
          connectors,
          connectorById: new Map(connectors.map((c) => [c.id, c])),
        });
        setEnvironments(envs);
        startedWithSteps.current = steps.length > 0;
        show({ steps, edges: draftEdges });
        setSavedIds(new Set(steps.map((s) => s.id)));
        setLoading(false);
      })
      .catch((error: Error) => {
        setLoadError(`The editor could not load this flow: ${error.message}`);
        setLoading(false);
      });
  }, [slug, show]);

  const dirty = revision !== savedRevision;
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  // -- canvas changes ------------------------------------------------------------------------------

  const onNodesChange = useCallback((changes: NodeChange<StepNode>[]) => {
    setNodes((current) => applyNodeChanges(changes.filter((c) => c.type !== "remove"), current));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    setEdges((current) => applyEdgeChanges(changes.filter((c) => c.type !== "remove"), current));
  }, []);

  const nameOf = useCallback((id: string) => nodesRef.current.find((n) => n.id === id)?.data.step.name ?? id, []);
  const isValidConnection = useCallback(
    (connection: Edge | Connection) => {
      const reason = connectionProblem(graph().edges, connection.source, connection.target, nameOf);
      if (reason) setHint(reason);
      return reason === null;
    },
    [graph, nameOf],
  );
  const onConnect = useCallback(
    (connection: Connection) => {
      const reason = connectionProblem(graph().edges, connection.source, connection.target, nameOf);
      if (reason) {
        setHint(reason);
        return;
      }
      setHint(null);
      commit((g) => ({ ...g, edges: [...g.edges, { source: connection.source, target: connection.target }] }));
    },
    [commit, graph, nameOf],
  );

  const onNodeDragStart = useCallback(() => {
    dragStart.current = graph();
  }, [graph]);
  const onNodeDragStop = useCallback(() => {
    const before = dragStart.current;
    dragStart.current = null;
    if (!before) return;
    const moved = before.steps.some((step) => {
      const node = nodesRef.current.find((n) => n.id === step.id);
      return node && (Math.round(node.position.x) !== step.position.x || Math.round(node.position.y) !== step.position.y);
    });
    if (!moved) return;
    history.current.push(before);
    setRevision((r) => r + 1);
    setHistoryTick((t) => t + 1);
  }, []);

  // -- step actions --------------------------------------------------------------------------------

  const addStep = useCallback(
    (item: PaletteItem, position: Position) => {
      if (readOnly) return;
      const current = graph();
      const id = nextId(current.steps.map((s) => s.id));
      const type = item.connector ? catalog.types.get(item.connector.type) : undefined;
      const defaults = Object.fromEntries((type?.step_options ?? []).filter((f) => f.default !== null).map((f) => [f.name, f.default]));
      const step: Step = {
        id,
        kind: item.kind,
        name: uniqueName(item.kind === "mapping" ? "Mapping" : item.label, current.steps.map((s) => s.name)),
        timeout_ms: DEFAULT_TIMEOUT_MS,
        ignore_errors: false,
        instruction: item.kind === "mapping" ? "{}" : "",
        position,
        ...(item.kind === "connector" ? { connector: item.connector?.id ?? null, options: defaults } : {}),
      };
      commit((g) => ({ ...g, steps: [...g.steps, step] }), new Set([id]));
    },
    [catalog, commit, graph, readOnly],
  );

  const addInView = useCallback(
    (item: PaletteItem) => {
      const pane = document.querySelector(".canvas")?.getBoundingClientRect();
      const centre = pane ? flow.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 3 }) : { x: 0, y: 0 };
      const shift = (nodesRef.current.length % 6) * 24;
      addStep(item, { x: Math.round(centre.x - 110 + shift), y: Math.round(centre.y + shift) });
    },
    [addStep, flow],
  );

  const selectedIds = useCallback(() => new Set(nodesRef.current.filter((n) => n.selected).map((n) => n.id)), []);

  const removeSteps = useCallback(
    (ids: Set<string>, edgeIds: Set<string> = new Set()) => {
      if (readOnly || (!ids.size && !edgeIds.size)) return;
      commit((g) => ({
        ...g,
        steps: g.steps.filter((s) => !ids.has(s.id)),
        edges: g.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target) && !edgeIds.has(`${e.source}->${e.target}`)),
      }));
      if (editing && ids.has(editing)) setEditing(null);
    },
    [commit, editing, readOnly],
  );

  const deleteSelection = useCallback(() => {
    removeSteps(selectedIds(), new Set(edgesRef.current.filter((e) => e.selected).map((e) => e.id)));
  }, [removeSteps, selectedIds]);

  const pasteClip = useCallback(
    (source: Clip) => {
      if (readOnly) return;
      pastes.current += 1;
      const offset = 32 * pastes.current;
      const pasted = pasteSteps(graph(), source, { x: offset, y: offset });
      commit((g) => ({ ...g, steps: [...g.steps, ...pasted.steps], edges: [...g.edges, ...pasted.edges] }), new Set(pasted.steps.map((s) => s.id)));
      say("ok", `Pasted ${pasted.steps.length} step${pasted.steps.length === 1 ? "" : "s"} with their settings.`);
    },
    [commit, graph, readOnly, say],
  );

  const copySelection = useCallback(() => {
    const ids = selectedIds();
    if (!ids.size) return;
    clip.current = copySteps(graph(), ids);
    pastes.current = 0;
    setHistoryTick((t) => t + 1);
    say("ok", `Copied ${ids.size} step${ids.size === 1 ? "" : "s"}; paste with Ctrl+V.`);
  }, [graph, say, selectedIds]);

  const duplicate = useCallback(
    (id: string) => {
      pastes.current = 0;
      pasteClip(copySteps(graph(), [id]));
    },
    [graph, pasteClip],
  );

  const undo = useCallback(() => {
    const previous = history.current.undo(graph());
    if (previous) {
      show(previous);
      setRevision((r) => r + 1);
      setHistoryTick((t) => t + 1);
    }
  }, [graph, show]);
  const redo = useCallback(() => {
    const next = history.current.redo(graph());
    if (next) {
      show(next);
      setRevision((r) => r + 1);
      setHistoryTick((t) => t + 1);
    }
  }, [graph, show]);

  const layout = useCallback(() => {
    const current = graph();
    const positions = autoLayout(current.steps, current.edges);
    commit((g) => ({ ...g, steps: g.steps.map((s) => ({ ...s, position: positions.get(s.id) ?? s.position })) }));
    window.requestAnimationFrame(() => flow.fitView({ padding: 0.2, duration: 200 }));
  }, [commit, flow, graph]);

  // -- talking to the server -----------------------------------------------------------------------

  const report = useCallback(
    (error: unknown, what: string) => {
      if (error instanceof ApiError && error.problems.length) {
        setProblems(error.problems);
        say("error", `${what}: ${error.problems.length} problem${error.problems.length === 1 ? "" : "s"} to fix (listed below).`);
      } else say("error", `${what}: ${(error as Error).message}`);
    },
    [say],
  );

  const save = useCallback(async (): Promise<boolean> => {
    if (readOnly) return true;
    const atRevision = revision;
    const current = graph();
    setBusy("Saving");
    try {
      await api.saveDraft(slug, current);
      setSavedRevision(atRevision);
      setSavedIds(new Set(current.steps.map((s) => s.id)));
      setProblems([]);
      say("ok", "Saved the draft.");
      return true;
    } catch (error) {
      report(error, "Nothing was saved");
      return false;
    } finally {
      setBusy(null);
    }
  }, [graph, readOnly, report, revision, say, slug]);

  const validate = useCallback(async () => {
    setBusy("Validating");
    try {
      const answer = await api.validate(slug, graph());
      setProblems(answer.problems);
      say(answer.valid ? "ok" : "error", answer.valid ? "No problems: the draft can be published." : `${answer.problems.length} problem(s) to fix (listed below).`);
    } catch (error) {
      report(error, "Could not validate");
    } finally {
      setBusy(null);
    }
  }, [graph, report, say, slug]);

  const publish = useCallback(
    async (message: string) => {
      if (dirty && !(await save())) return;
      setBusy("Publishing");
      try {
        const version = await api.publish(slug, message);
        say("ok", `Published version ${version.number}. Deploy it to run it outside test runs.`);
      } catch (error) {
        report(error, "Not published");
      } finally {
        setBusy(null);
      }
    },
    [dirty, report, save, say, slug],
  );

  const deploy = useCallback(
    async (environment: string) => {
      setBusy("Deploying");
      try {
        const deployment = await api.deploy(slug, environment);
        say("ok", `Version ${deployment.version} now runs in ${environment}.`);
      } catch (error) {
        report(error, "Not deployed");
      } finally {
        setBusy(null);
      }
    },
    [report, say, slug],
  );

  const poll = useRef<number | null>(null);
  useEffect(() => () => void (poll.current && window.clearTimeout(poll.current)), []);

  const run = useCallback(
    async (payload: unknown) => {
      if (dirty && !(await save())) return;
      setBusy("Starting the run");
      try {
        const started = await api.run(slug, payload);
        setExecution(started);
        setRunView(null);
        say("ok", `Execution #${started.id} started in the sandbox.`);
        const follow = async () => {
          try {
            const now = await api.execution(started.id);
            setExecution(now);
            if (!FINAL_EXECUTION_STATUSES.has(now.status)) poll.current = window.setTimeout(follow, POLL_MS);
            else say(now.status === "succeeded" ? "ok" : "error", `Execution #${now.id} ended: ${now.status.replace(/_/g, " ")}${now.error ? ` (${now.error})` : ""}.`);
          } catch (error) {
            say("error", `Stopped watching the run: ${(error as Error).message}`);
          }
        };
        poll.current = window.setTimeout(follow, POLL_MS);
      } catch (error) {
        report(error, "The run did not start");
      } finally {
        setBusy(null);
      }
    },
    [dirty, report, save, say, slug],
  );

  // -- keyboard ------------------------------------------------------------------------------------

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (mod && key === "s") {
        event.preventDefault();
        void save();
        return;
      }
      if (typingInField(event.target)) return;
      if (event.key === "Escape") {
        setEditing(null);
        setRunView(null);
      } else if ((event.key === "Delete" || event.key === "Backspace") && !mod) {
        event.preventDefault();
        deleteSelection();
      } else if (mod && key === "c") copySelection();
      else if (mod && key === "v" && clip.current) pasteClip(clip.current);
      else if (mod && key === "d") {
        event.preventDefault();
        const ids = selectedIds();
        if (ids.size) {
          pastes.current = 0;
          pasteClip(copySteps(graph(), ids));
        }
      } else if (mod && ((key === "z" && event.shiftKey) || key === "y")) {
        event.preventDefault();
        redo();
      } else if (mod && key === "z") {
        event.preventDefault();
        undo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [copySelection, deleteSelection, graph, pasteClip, redo, save, selectedIds, undo]);

  // -- what the steps show -------------------------------------------------------------------------

  const statuses = useMemo(() => {
    if (!execution) return {};
    const current = graph();
    return runStatuses(execution.status, execution.steps ?? [], current.steps, current.edges);
    // The graph matters only through its step ids and edges, read when the execution changes.
  }, [execution, graph]);

  const problemsByStep = useMemo(() => {
    const grouped: Record<string, Problem[]> = {};
    for (const problem of problems) if (problem.step) (grouped[problem.step] ??= []).push(problem);
    return grouped;
  }, [problems]);

  const showRun = useCallback((id: string) => {
    setEditing(null);
    setRunView(id);
  }, []);
  const edit = useCallback((id: string) => {
    setRunView(null);
    setEditing(id);
  }, []);
  const removeOne = useCallback((id: string) => removeSteps(new Set([id])), [removeSteps]);

  const canvasInfo = useMemo<CanvasInfo>(
    () => ({ catalog, statuses, problems: problemsByStep, readOnly, edit, duplicate, remove: removeOne, showRun }),
    [catalog, statuses, problemsByStep, readOnly, edit, duplicate, removeOne, showRun],
  );

  const dnd = useDnD(addStep);

  const focusStep = (id: string) => {
    setNodes((current) => current.map((n) => ({ ...n, selected: n.id === id })));
    const node = nodesRef.current.find((n) => n.id === id);
    if (node) flow.setCenter(node.position.x + 110, node.position.y + 35, { zoom: Math.max(flow.getZoom(), 1), duration: 200 });
    edit(id);
  };

  const editingStep = editing ? nodes.find((n) => n.id === editing)?.data.step : undefined;
  const drawer = editingStep && (
    <StepDrawer
      key={editingStep.id}
      slug={slug}
      step={editingStep}
      catalog={catalog}
      otherNames={nodes.filter((n) => n.id !== editingStep.id).map((n) => n.data.step.name)}
      upstream={[...upstreamOf(editingStep.id, graph().edges)].map((id) => {
        const name = nameOf(id);
        return { id, name, expression: `steps.${referenceKey(name)}` };
      })}
      savedStepIds={savedIds}
      problems={problemsByStep[editingStep.id] ?? []}
      readOnly={readOnly}
      onClose={() => setEditing(null)}
      onSave={(step) => {
        commit((g) => ({ ...g, steps: g.steps.map((s) => (s.id === step.id ? { ...step, position: s.position } : s)) }), new Set([step.id]));
        setEditing(null);
      }}
    />
  );
  const runPanel = runView && execution && (
    <StepRunPanel
      name={nameOf(runView)}
      run={execution.steps?.find((s) => s.step_id === runView)}
      execution={execution}
      onClose={() => setRunView(null)}
    />
  );
  const hasSelection = nodes.some((n) => n.selected) || edges.some((e) => e.selected);
  const graphProblems = problems.filter((p) => !p.step);

  if (loadError) return <p className="field-error" role="alert">{loadError}</p>;

  return (
    <CanvasContext.Provider value={canvasInfo}>
      <div className="editor-shell" data-ready={loading ? "false" : "true"}>
        <Toolbar
          dirty={dirty}
          busy={busy}
          readOnly={readOnly}
          canRun={canRun}
          canUndo={history.current.canUndo}
          canRedo={history.current.canRedo}
          hasSelection={hasSelection}
          hasClip={clip.current !== null}
          environments={environments}
          links={config.links}
          onSave={() => void save()}
          onValidate={() => void validate()}
          onPublish={(m) => void publish(m)}
          onDeploy={(e) => void deploy(e)}
          onRun={(p) => void run(p)}
          onUndo={undo}
          onRedo={redo}
          onCopy={copySelection}
          onPaste={() => clip.current && pasteClip(clip.current)}
          onDelete={deleteSelection}
          onLayout={layout}
        />
        <div className="editor-main">
          <Sidebar catalog={catalog} loading={loading} readOnly={readOnly} onAdd={addInView} onDragStart={dnd.onDragStart} />
          <div className="canvas" onDrop={dnd.onDrop} onDragOver={dnd.onDragOver}>
            {!loading && (
              <ReactFlow
                nodes={nodes}
                edges={edges}
                nodeTypes={nodeTypes}
                onNodesChange={onNodesChange}
                onEdgesChange={onEdgesChange}
                onConnect={onConnect}
                isValidConnection={isValidConnection}
                onNodeDragStart={onNodeDragStart}
                onNodeDragStop={onNodeDragStop}
                onNodeDoubleClick={(_, node) => (execution ? showRun(node.id) : edit(node.id))}
                nodesDraggable={!readOnly}
                nodesConnectable={!readOnly}
                deleteKeyCode={null}
                snapToGrid
                snapGrid={SNAP}
                fitView={startedWithSteps.current}
                fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
                minZoom={0.1}
                defaultEdgeOptions={{ type: "smoothstep" }}
                proOptions={{ hideAttribution: true }}
              >
                <Background gap={16} />
                <Controls />
                <MiniMap pannable zoomable ariaLabel="Overview of the flow" />
              </ReactFlow>
            )}
            {!loading && nodes.length === 0 && (
              <div className="empty-canvas">
                <h2>Start your flow</h2>
                <p>Drag a connector from the palette onto the canvas, or click it to add it here.</p>
                <p>Then connect the bottom dot of one step to the top dot of the next; steps run from top to bottom.</p>
              </div>
            )}
            {hint && (
              <p className="hint" role="alert">
                {hint}
              </p>
            )}
            {notice && (
              <p className={`notice notice-${notice.kind}`} role="status" onClick={() => setNotice(null)}>
                {notice.text}
              </p>
            )}
            {problems.length > 0 && (
              <section className="problems-panel" aria-label="Problems">
                <header>
                  <strong>
                    {problems.length} problem{problems.length === 1 ? "" : "s"}
                  </strong>
                  <button type="button" className="link" onClick={() => setProblems([])}>
                    hide
                  </button>
                </header>
                <ul>
                  {graphProblems.map((p, i) => (
                    <li key={`g${i}`}>{p.message}</li>
                  ))}
                  {problems
                    .filter((p) => p.step)
                    .map((p, i) => (
                      <li key={i}>
                        <button type="button" className="link" onClick={() => focusStep(p.step as string)}>
                          {nameOf(p.step as string)}
                        </button>
                        : {p.message}
                      </li>
                    ))}
                </ul>
              </section>
            )}
          </div>
          {drawer || runPanel}
        </div>
      </div>
    </CanvasContext.Provider>
  );
}

export function App({ config }: { config: EditorConfig }) {
  return (
    <ReactFlowProvider>
      <DnDProvider>
        <Editor config={config} />
      </DnDProvider>
    </ReactFlowProvider>
  );
}
