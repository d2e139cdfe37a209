/**
 * The editor's state in one zustand store, with actions named for what the user did (``addStep``,
 * ``connect``, ``undo``, ``applyRunStatus``...). The graph lives in React Flow's nodes and edges; every change
 * the user makes goes through ``commit`` so undo and redo see it, and the saved revision tells whether there
 * are unsaved changes. Components select the slice they show: a step selects its own run status and
 * problems by id, so a status poll re-renders only the steps whose status changed. No side effects here:
 * loading, saving and polling are hooks (``hooks/``) that call these actions.
 */
import { applyEdgeChanges, applyNodeChanges, type Connection, type Edge, type EdgeChange, type NodeChange } from "@xyflow/react";
import { createStore, type StoreApi } from "zustand/vanilla";
import { ApiError, type Environment, type Execution, type Problem } from "./api";
import { emptyCatalog, type Catalog, type StepStatus } from "./context";
import type { PaletteItem } from "./dnd/DnDContext";
import { STEP_KINDS } from "./kinds";
import type { Sample } from "./samples";
import { containerAt, fromFlow, toEdges, toNodes, type StepNode } from "./flowGraph";
import {
  DEFAULT_TIMEOUT_MS,
  History,
  autoLayout,
  bodyOf,
  branchStates,
  connectionProblem,
  copySteps,
  nextId,
  pasteSteps,
  runStatuses,
  uniqueName,
  type Clip,
  type Graph,
  type GraphEdge,
  type Position,
  type Step,
} from "./graph";

export interface Notice {
  kind: "ok" | "error";
  text: string;
}

/** A notice in the toast stack near the toolbar; ``id`` tells one from another with the same text. */
export interface Toast extends Notice {
  id: number;
}

/** Where the problems list is, for the messages that point to it. */
export const PROBLEMS_PLACE = "listed in the Problems panel at the top left of the canvas";
const MAX_TOASTS = 3;

export interface EditorState {
  readOnly: boolean;
  loading: boolean;
  loadError: string | null;
  /** Whether the flow opened with steps: then the view fits them; an empty canvas keeps zoom 1. */
  fitOnOpen: boolean;
  catalog: Catalog;
  environments: Environment[];
  nodes: StepNode[];
  edges: Edge[];
  editing: string | null;
  runView: string | null;
  /** The edge whose form is open (``source->target``), a router's branch. */
  editingEdge: string | null;
  /** In a watched run: which of a router's edges were taken, by edge id. */
  branches: Record<string, "taken" | "untaken">;
  problems: Problem[];
  problemsByStep: Record<string, Problem[]>;
  execution: Execution | null;
  statuses: Record<string, StepStatus>;
  notice: Notice | null;
  toasts: Toast[];
  hint: string | null;
  /** The draft's sample trigger payload (``flows.samples``), or null. */
  sample: Sample | null;
  fullScreen: boolean;
  helpOpen: boolean;
  busy: string | null;
  revision: number;
  savedRevision: number;
  savedIds: Set<string>;
  canUndo: boolean;
  canRedo: boolean;
  clip: Clip | null;

  /** The graph as the API stores it, positions rounded. */
  graph: () => Graph;
  nameOf: (id: string) => string;

  loaded: (graph: Graph, catalog: Catalog, environments: Environment[]) => void;
  loadFailed: (message: string) => void;
  changeNodes: (changes: NodeChange<StepNode>[]) => void;
  changeEdges: (changes: EdgeChange[]) => void;
  checkConnection: (connection: Edge | Connection) => boolean;
  connect: (connection: Connection) => void;
  dragStarted: () => void;
  /** React Flow's onNodeDragStop: the moved nodes may join a for-each they were dropped on. */
  dragStopped: (event?: unknown, node?: unknown, moved?: { id: string }[]) => void;
  addStep: (item: PaletteItem, position: Position) => void;
  removeSteps: (ids: Set<string>, edgeIds?: Set<string>) => void;
  removeStep: (id: string) => void;
  deleteSelection: () => void;
  copySelection: () => void;
  paste: () => void;
  duplicate: (id: string) => void;
  duplicateSelection: () => void;
  undo: () => void;
  redo: () => void;
  arrange: () => void;
  saveStep: (step: Step) => void;
  editEdge: (id: string) => void;
  /** Sets a branch's fields (condition, otherwise, order, label); keys given as undefined are removed. */
  saveEdge: (id: string, fields: Record<string, unknown>) => void;
  edit: (id: string) => void;
  showRun: (id: string) => void;
  /** A click on a step: its data panel (its last run here, its pinned sample), unless its form is open. */
  inspect: (id: string) => void;
  openStep: (id: string) => void;
  focusStep: (id: string) => void;
  closePanels: () => void;
  say: (kind: Notice["kind"], text: string) => void;
  dismissNotice: () => void;
  dismissToast: (id: number) => void;
  setSample: (sample: Sample | null) => void;
  pinOutput: (id: string, output: unknown) => void;
  toggleFullScreen: () => void;
  toggleHelp: (open?: boolean) => void;
  dismissHint: () => void;
  setBusy: (what: string | null) => void;
  draftSaved: (atRevision: number, graph: Graph) => void;
  showProblems: (problems: Problem[]) => void;
  hideProblems: () => void;
  reportFailure: (error: unknown, what: string) => void;
  runStarted: (execution: Execution) => void;
  applyRunStatus: (execution: Execution) => void;
  /** Hide the last run: its statuses leave the steps. */
  clearRun: () => void;
}

export type EditorStore = StoreApi<EditorState>;

const plural = (n: number) => (n === 1 ? "" : "s");

function groupByStep(problems: Problem[]): Record<string, Problem[]> {
  const grouped: Record<string, Problem[]> = {};
  for (const problem of problems) if (problem.step) (grouped[problem.step] ??= []).push(problem);
  return grouped;
}

export function createEditorStore({ readOnly }: { readOnly: boolean }): EditorStore {
  // Kept outside the state: nothing renders them, and they change without a render.
  const history = new History<Graph>();
  let extra: Record<string, unknown> = {};
  let pastes = 0;
  let dragStart: Graph | null = null;

  return createStore<EditorState>()((set, get) => {
    const selectedIds = () => new Set(get().nodes.filter((n) => n.selected).map((n) => n.id));
    const show = (graph: Graph, selected?: Set<string>) =>
      set({ nodes: toNodes(graph, selected), edges: toEdges(graph), sample: (graph.sample as Sample | undefined) ?? null });
    const historyChanged = () => set((s) => ({ revision: s.revision + 1, canUndo: history.canUndo, canRedo: history.canRedo }));

    /** Apply a change the user made: remembered for undo, counted as unsaved. */
    const commit = (change: (current: Graph) => Graph, selected?: Set<string>) => {
      const before = get().graph();
      history.push(before);
      show(change(structuredClone(before)), selected);
      historyChanged();
    };

    const pasteClip = (source: Clip) => {
      if (get().readOnly) return;
      pastes += 1;
      const offset = 32 * pastes;
      const pasted = pasteSteps(get().graph(), source, { x: offset, y: offset });
      commit((g) => ({ ...g, steps: [...g.steps, ...pasted.steps], edges: [...g.edges, ...pasted.edges] }), new Set(pasted.steps.map((s) => s.id)));
      get().say("ok", `Pasted ${pasted.steps.length} step${plural(pasted.steps.length)} with their settings.`);
    };

    const groupOf = (id: string) => {
      const group = get().nodes.find((n) => n.id === id)?.data.step.group;
      return typeof group === "string" ? group : undefined;
    };
    const problemOf = (source: string, target: string) => connectionProblem(get().graph().edges, source, target, get().nameOf, groupOf);

    /** ``id`` moves into the body of ``group`` (undefined: out to the top level); its edges that would cross the border go. */
    const regroup = (graph: Graph, id: string, group: string | undefined, say: (dropped: number) => string): Graph => {
      const groups = new Map(graph.steps.map((s) => [s.id, typeof s.group === "string" ? s.group : undefined]));
      const other = (e: GraphEdge) => (e.source === id ? e.target : e.source);
      const edges = graph.edges.filter((e) => (e.source !== id && e.target !== id) || groups.get(other(e)) === group);
      const dropped = graph.edges.length - edges.length;
      if (dropped) get().say("ok", say(dropped));
      const moved = (s: Step): Step => {
        const { group: _left, ...rest } = s;
        return group ? { ...rest, group } : rest;
      };
      return { ...graph, edges, steps: graph.steps.map((s) => (s.id === id ? moved(s) : s)) };
    };
    const connections = (dropped: number) => `its ${dropped} connection${plural(dropped)}`;

    /** A step dropped on a for-each's box joins its body. */
    const joinGroup = (graph: Graph, id: string): Graph => {
      const step = graph.steps.find((s) => s.id === id);
      if (!step || step.group || STEP_KINDS[step.kind]?.container) return graph;
      const box = containerAt(graph.steps, { x: step.position.x + 20, y: step.position.y + 20 });
      if (!box) return graph;
      return regroup(graph, id, box.id, (n) => `${step.name} is now inside ${box.name}; ${connections(n)} to steps outside the loop went.`);
    };

    /** A body step dragged out of its for-each's box leaves the body (and may join another box). */
    const leaveGroup = (graph: Graph, id: string): Graph => {
      const step = graph.steps.find((s) => s.id === id);
      const box = graph.steps.find((s) => s.id === step?.group);
      if (!step || !box || containerAt([box], { x: step.position.x + 20, y: step.position.y + 20 })) return graph;
      return regroup(graph, id, undefined, (n) => `${step.name} is now outside ${box.name}; ${connections(n)} to steps inside the loop went.`);
    };

    const travel = (move: (current: Graph) => Graph | null) => {
      const target = move(get().graph());
      if (!target) return;
      show(target);
      historyChanged();
    };

    return {
      readOnly,
      loading: true,
      loadError: null,
      fitOnOpen: false,
      catalog: emptyCatalog,
      environments: [],
      nodes: [],
      edges: [],
      editing: null,
      runView: null,
      editingEdge: null,
      branches: {},
      problems: [],
      problemsByStep: {},
      execution: null,
      statuses: {},
      notice: null,
      toasts: [],
      hint: null,
      sample: null,
      fullScreen: false,
      helpOpen: false,
      busy: null,
      revision: 0,
      savedRevision: 0,
      savedIds: new Set(),
      canUndo: false,
      canRedo: false,
      clip: null,

      graph: () => {
        const { nodes, edges, sample } = get();
        return fromFlow(nodes, edges, sample ? { ...extra, sample } : extra);
      },
      nameOf: (id) => get().nodes.find((n) => n.id === id)?.data.step.name ?? id,

      loaded: (graph, catalog, environments) => {
        const { steps = [], edges = [], sample, ...rest } = graph;
        extra = rest;
        show({ steps, edges, sample });
        set({ catalog, environments, fitOnOpen: steps.length > 0, savedIds: new Set(steps.map((s) => s.id)), loading: false });
      },
      loadFailed: (message) => set({ loadError: message, loading: false }),

      // Moves and selection go straight to the nodes; removals go through removeSteps (the Delete key).
      changeNodes: (changes) => set((s) => ({ nodes: applyNodeChanges(changes.filter((c) => c.type !== "remove"), s.nodes) })),
      changeEdges: (changes) => set((s) => ({ edges: applyEdgeChanges(changes.filter((c) => c.type !== "remove"), s.edges) })),

      checkConnection: (connection) => {
        const reason = problemOf(connection.source, connection.target);
        if (reason) set({ hint: reason });
        return reason === null;
      },
      connect: (connection) => {
        const reason = problemOf(connection.source, connection.target);
        if (reason) {
          set({ hint: reason });
          return;
        }
        set({ hint: null });
        commit((g) => ({ ...g, edges: [...g.edges, { source: connection.source, target: connection.target }] }));
      },

      dragStarted: () => {
        dragStart = get().graph();
      },
      dragStopped: (_event, _node, movedNodes) => {
        const before = dragStart;
        dragStart = null;
        if (!before) return;
        const now = get().graph();
        const shape = (g: Graph) => JSON.stringify(g.steps.map((s) => [s.id, s.position, s.size]));
        if (shape(now) === shape(before)) return;
        history.push(before);
        const moved = (movedNodes ?? []).map((n) => n.id);
        const joined = moved.reduce(joinGroup, moved.reduce(leaveGroup, now));
        if (joined !== now) show(joined, new Set(moved));
        historyChanged();
      },

      addStep: (item, position) => {
        const { readOnly, catalog } = get();
        if (readOnly) return;
        const current = get().graph();
        const id = nextId(current.steps.map((s) => s.id));
        const type = item.connector ? catalog.types.get(item.connector.type) : undefined;
        const defaults = Object.fromEntries((type?.step_options ?? []).filter((f) => f.default !== null).map((f) => [f.name, f.default]));
        const step: Step = {
          id,
          kind: item.kind,
          name: uniqueName(item.label, current.steps.map((s) => s.name)),
          timeout_ms: DEFAULT_TIMEOUT_MS,
          ignore_errors: false,
          instruction: STEP_KINDS[item.kind]?.instruction ?? "",
          position,
          ...structuredClone(STEP_KINDS[item.kind]?.defaults ?? {}),
          ...(item.kind === "connector" ? { connector: item.connector?.id ?? null, options: defaults } : {}),
        };
        commit((g) => joinGroup({ ...g, steps: [...g.steps, step] }, id), new Set([id]));
      },

      removeSteps: (ids, edgeIds = new Set()) => {
        if (get().readOnly || (!ids.size && !edgeIds.size)) return;
        // A for-each goes with the steps of its body.
        for (const id of [...ids]) for (const step of bodyOf(get().graph().steps, id)) ids.add(step.id);
        commit((g) => ({
          ...g,
          steps: g.steps.filter((s) => !ids.has(s.id)),
          edges: g.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target) && !edgeIds.has(`${e.source}->${e.target}`)),
        }));
        const { editing } = get();
        if (editing && ids.has(editing)) set({ editing: null });
      },
      removeStep: (id) => get().removeSteps(new Set([id])),
      deleteSelection: () => get().removeSteps(selectedIds(), new Set(get().edges.filter((e) => e.selected).map((e) => e.id))),

      copySelection: () => {
        const ids = selectedIds();
        if (!ids.size) return;
        pastes = 0;
        set({ clip: copySteps(get().graph(), ids) });
        get().say("ok", `Copied ${ids.size} step${plural(ids.size)}; paste with Ctrl+V.`);
      },
      paste: () => {
        const { clip } = get();
        if (clip) pasteClip(clip);
      },
      duplicate: (id) => {
        pastes = 0;
        pasteClip(copySteps(get().graph(), [id]));
      },
      duplicateSelection: () => {
        const ids = selectedIds();
        if (!ids.size) return;
        pastes = 0;
        pasteClip(copySteps(get().graph(), ids));
      },

      undo: () => travel((current) => history.undo(current)),
      redo: () => travel((current) => history.redo(current)),

      arrange: () => {
        const current = get().graph();
        // The flow's own steps are laid out; a loop's body moves with its box.
        const top = current.steps.filter((s) => !s.group);
        const positions = autoLayout(top, current.edges.filter((e) => top.some((s) => s.id === e.source)));
        const byId = new Map(current.steps.map((s) => [s.id, s]));
        const placed = (s: Step): Position => {
          const group = typeof s.group === "string" ? byId.get(s.group) : undefined;
          if (!group) return positions.get(s.id) ?? s.position;
          const moved = positions.get(group.id) ?? group.position;
          return { x: s.position.x + moved.x - group.position.x, y: s.position.y + moved.y - group.position.y };
        };
        commit((g) => ({ ...g, steps: g.steps.map((s) => ({ ...s, position: placed(s) })) }));
      },

      saveStep: (step) => {
        commit((g) => ({ ...g, steps: g.steps.map((s) => (s.id === step.id ? { ...step, position: s.position } : s)) }), new Set([step.id]));
        set({ editing: null });
      },

      editEdge: (id) => set({ editing: null, runView: null, editingEdge: id }),
      saveEdge: (id, fields) => {
        commit((g) => ({
          ...g,
          edges: g.edges.map((e) => {
            if (`${e.source}->${e.target}` !== id) return e;
            const next: Record<string, unknown> = { ...e, ...fields };
            for (const [key, value] of Object.entries(fields)) if (value === undefined) delete next[key];
            return next as typeof e;
          }),
        }));
        set({ editingEdge: null });
      },

      edit: (id) => set({ runView: null, editingEdge: null, editing: id }),
      showRun: (id) => set({ editing: null, editingEdge: null, runView: id }),
      inspect: (id) => {
        if (get().editing === null) get().showRun(id);
      },
      openStep: (id) => get().edit(id),
      focusStep: (id) => {
        set((s) => ({ nodes: s.nodes.map((n) => ({ ...n, selected: n.id === id })) }));
        get().edit(id);
      },
      closePanels: () => set({ editing: null, runView: null, editingEdge: null }),

      say: (kind, text) =>
        set((s) => ({ notice: { kind, text }, toasts: [...s.toasts, { id: (s.toasts.at(-1)?.id ?? 0) + 1, kind, text }].slice(-MAX_TOASTS) })),
      dismissNotice: () => set({ notice: null }),
      dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
      setSample: (sample) => {
        if (get().readOnly) return;
        commit((g) => {
          const { sample: _old, ...rest } = g;
          return sample ? { ...rest, steps: g.steps, edges: g.edges, sample } : { ...rest, steps: g.steps, edges: g.edges };
        });
      },
      pinOutput: (id, output) => {
        if (get().readOnly) return;
        commit((g) => ({
          ...g,
          steps: g.steps.map((s) => {
            if (s.id !== id) return s;
            const { sample_output: _old, ...rest } = s;
            return output === undefined ? (rest as Step) : { ...rest, sample_output: output };
          }),
        }));
      },
      toggleFullScreen: () => set((s) => ({ fullScreen: !s.fullScreen })),
      toggleHelp: (open) => set((s) => ({ helpOpen: open ?? !s.helpOpen })),
      dismissHint: () => set({ hint: null }),
      setBusy: (what) => set({ busy: what }),

      draftSaved: (atRevision, graph) => {
        set({ savedRevision: atRevision, savedIds: new Set(graph.steps.map((s) => s.id)) });
        get().hideProblems();
        get().say("ok", "Saved the draft.");
      },
      showProblems: (problems) => set({ problems, problemsByStep: groupByStep(problems) }),
      hideProblems: () => get().showProblems([]),
      reportFailure: (error, what) => {
        if (error instanceof ApiError && error.problems.length) {
          get().showProblems(error.problems);
          get().say("error", `${what}: ${error.problems.length} problem${plural(error.problems.length)} to fix, ${PROBLEMS_PLACE}.`);
        } else get().say("error", `${what}: ${(error as Error).message}`);
      },

      runStarted: (execution) => {
        get().applyRunStatus(execution);
        set({ runView: null });
        get().say("ok", `Execution #${execution.id} started in the sandbox.`);
      },
      /** Each step's status from the execution; a step whose status did not change keeps its object, so it does not re-render. */
      applyRunStatus: (execution) => {
        const { steps, edges } = get().graph();
        const previous = get().statuses;
        const statuses: Record<string, StepStatus> = {};
        for (const [id, now] of Object.entries(runStatuses(execution.status, execution.steps ?? [], steps, edges))) {
          const before = previous[id];
          statuses[id] = before && JSON.stringify(before) === JSON.stringify(now) ? before : now;
        }
        const branches = branchStates(execution.steps ?? [], edges);
        set({ execution, statuses, branches: JSON.stringify(branches) === JSON.stringify(get().branches) ? get().branches : branches });
      },
      clearRun: () => set({ execution: null, statuses: {}, branches: {} }),
    };
  });
}
