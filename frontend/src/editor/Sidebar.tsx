/** The palette: the connectors the user may use, grouped by type with their icons, then the other step kinds (``kinds.ts``). */
import { useReactFlow } from "@xyflow/react";
import { useMemo, useState } from "react";
import type { PaletteItem } from "./dnd/DnDContext";
import { useDnD } from "./dnd/useDnD";
import { StepIcon } from "./icons";
import { PALETTE_KINDS } from "./kinds";
import { useEditor, useEditorStore } from "./useEditor";

const KIND_ITEMS = PALETTE_KINDS.map(([kind, info]) => ({
  item: { kind, label: info.label, icon: info.icon, category: info.category } as PaletteItem,
  group: info.group,
  keywords: info.keywords,
}));

function matches(item: PaletteItem, query: string, typeLabel: string): boolean {
  const text = `${item.label} ${typeLabel} ${item.connector?.description ?? ""}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .every((word) => text.includes(word));
}

/** A click adds the step in view: a third of the way down the canvas, each new one shifted a little. */
function useAddInView() {
  const store = useEditorStore();
  const flow = useReactFlow();
  return (item: PaletteItem) => {
    const pane = document.querySelector(".canvas")?.getBoundingClientRect();
    const centre = pane ? flow.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 3 }) : { x: 0, y: 0 };
    const { nodes, addStep } = store.getState();
    const shift = (nodes.length % 6) * 24;
    addStep(item, { x: Math.round(centre.x - 110 + shift), y: Math.round(centre.y + shift) });
  };
}

export function Sidebar() {
  const catalog = useEditor((s) => s.catalog);
  const loading = useEditor((s) => s.loading);
  const readOnly = useEditor((s) => s.readOnly);
  const addStep = useEditor((s) => s.addStep);
  const { onDragStart } = useDnD(addStep);
  const onAdd = useAddInView();
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const byType = new Map<string, PaletteItem[]>();
    for (const connector of catalog.connectors) {
      const type = catalog.types.get(connector.type);
      const item: PaletteItem = {
        kind: "connector",
        label: connector.name,
        icon: type?.icon ?? connector.type,
        category: type?.category ?? "database",
        connector,
      };
      byType.set(connector.type, [...(byType.get(connector.type) ?? []), item]);
    }
    const result = [...byType.entries()].map(([key, items]) => ({
      key,
      label: catalog.types.get(key)?.label ?? key,
      items: items.filter((item) => matches(item, query, catalog.types.get(key)?.label ?? key)),
    }));
    for (const { item, group, keywords } of KIND_ITEMS) {
      if (!matches(item, query, keywords)) continue;
      const existing = result.find((g) => g.key === `kind:${group}`);
      if (existing) existing.items.push(item);
      else result.push({ key: `kind:${group}`, label: group, items: [item] });
    }
    return result.filter((group) => group.items.length);
  }, [catalog, query]);

  return (
    <aside className="palette" aria-label="Step palette">
      <label className="visually-hidden" htmlFor="palette-search">
        Search steps
      </label>
      <input
        id="palette-search"
        type="search"
        placeholder="Search connectors…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {loading && <p className="muted small">Loading connectors…</p>}
      {!loading && groups.length === 0 && <p className="muted small">Nothing matches “{query}”.</p>}
      {!loading && catalog.connectors.length === 0 && !query && (
        <p className="muted small">
          No connectors you may use yet. <a href="/connectors/">Register one</a> to call a database or an ERP.
        </p>
      )}
      {groups.map((group) => (
        <section key={group.key} className="palette-group">
          <h3>{group.label}</h3>
          <ul>
            {group.items.map((item) => (
              <li key={item.connector ? `c${item.connector.id}` : item.kind}>
                <button
                  type="button"
                  className="palette-item"
                  draggable={!readOnly}
                  disabled={readOnly}
                  onDragStart={(event) => onDragStart(event, item)}
                  onClick={() => onAdd(item)}
                  title={`Drag onto the canvas, or click to add ${item.label}`}
                  data-testid={item.connector ? `palette-${item.connector.name}` : `palette-${item.kind}`}
                >
                  <StepIcon icon={item.icon} category={item.category} size={22} />
                  <span>{item.label}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <p className="palette-hint muted small">Drag a step onto the canvas or click it. Connect a step’s bottom dot to the next step’s top dot.</p>
    </aside>
  );
}
