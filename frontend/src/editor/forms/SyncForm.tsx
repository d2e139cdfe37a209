/**
 * The sync step's form: a database connector, a table from its live schema, the key columns, the mode, the
 * scope and soft delete, the field-assignment grid (each column of the table: an expression over the source
 * row, a constant, or nothing) and a preview of the first 5 sample rows as they would be written. Nothing
 * here touches the table: the preview is computed by the server without the database.
 */
import { useEffect, useMemo, useState } from "react";
import { api, type SyncPreview, type TableSchema } from "../api";
import type { Catalog } from "../context";
import type { Values } from "../kindValues";
import {
  SYNC_MODES,
  fieldRows,
  fieldsOf,
  keyHasIndex,
  readConstant,
  readScope,
  sampleRows,
  scopeText,
  showConstant,
  suggestedKey,
  type FieldRow,
  type SyncSettings,
} from "../syncForm";

interface Props {
  values: Values;
  catalog: Catalog;
  outputs: Record<string, unknown>;
  readOnly: boolean;
  onChange: (changes: Values) => void;
}

const EMPTY: SyncSettings = { rows: "", table: "", key: [], mode: "upsert", fields: [], batch_size: 500 };

function PreviewTable({ preview, columns }: { preview: SyncPreview; columns: string[] }) {
  return (
    <div className="preview-wrap">
      {preview.problems.length > 0 && (
        <ul className="field-error">
          {preview.problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      <table className="preview-table" aria-label="Preview of the rows as written">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {preview.rows.map((row, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td key={c} className={row.errors?.[c] ? "cell-error" : ""} title={row.errors?.[c]}>
                  {row.errors?.[c] ? `error: ${row.errors[c]}` : showConstant(row.values?.[c] ?? null)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SyncForm({ values, catalog, outputs, readOnly, onChange }: Props) {
  const sync = { ...EMPTY, ...((values.sync ?? {}) as Partial<SyncSettings>) };
  const connector = typeof values.connector === "number" ? values.connector : null;
  const databases = catalog.connectors.filter((c) => catalog.types.get(c.type)?.category === "database");
  const [tables, setTables] = useState<{ name: string; type: string }[] | null>(null);
  const [table, setTable] = useState<TableSchema | null>(null);
  const [schemaError, setSchemaError] = useState<string | null>(null);
  const [grid, setGrid] = useState<FieldRow[]>(() => fieldRows([], sync.fields));
  const [scope, setScope] = useState(() => scopeText(sync.scope));
  const [sample, setSample] = useState("");
  const [preview, setPreview] = useState<SyncPreview | null>(null);
  const [check, setCheck] = useState<{ problems: string[]; warnings: string[] } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const put = (changes: Partial<SyncSettings>) => onChange({ sync: { ...sync, ...changes } });

  useEffect(() => {
    setTables(null);
    setSchemaError(null);
    if (connector == null) return;
    api.schemaTables(connector).then(setTables, (e: Error) => setSchemaError(`Could not read the tables: ${e.message}`));
  }, [connector]);

  useEffect(() => {
    setTable(null);
    if (connector == null || !sync.table) return;
    api.schemaTable(connector, sync.table).then(
      (found) => {
        setTable(found);
        setGrid(fieldRows(found.columns, sync.fields));
      },
      (e: Error) => setSchemaError(`Could not read the table ${sync.table}: ${e.message}`),
    );
    // The grid is rebuilt when another table is chosen, not on each edit of the fields.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [connector, sync.table]);

  const suggested = useMemo(() => sampleRows(sync.rows, outputs), [sync.rows, outputs]);
  useEffect(() => {
    if (suggested && !sample) setSample(JSON.stringify(suggested.slice(0, 20), null, 2));
  }, [suggested, sample]);

  const editGrid = (index: number, change: Partial<FieldRow>) => {
    const next = grid.map((row, i) => (i === index ? { ...row, ...change } : row));
    setGrid(next);
    put({ fields: fieldsOf(next) });
  };
  const chooseTable = (name: string) => put({ table: name, key: [], fields: [] });
  const columns = table?.columns.map((c) => c.name) ?? [];
  const scopeRead = readScope(scope);

  const runPreview = async () => {
    if (connector == null) return;
    let rows: unknown;
    try {
      rows = JSON.parse(sample || "[]");
    } catch (error) {
      setPreview({ rows: [], problems: [`The sample rows are not JSON: ${(error as Error).message}`] });
      return;
    }
    setBusy("preview");
    try {
      setPreview(await api.syncPreview(connector, sync, Array.isArray(rows) ? rows.slice(0, 100) : [rows]));
    } catch (error) {
      setPreview({ rows: [], problems: [(error as Error).message] });
    } finally {
      setBusy(null);
    }
  };
  const runCheck = async () => {
    if (connector == null) return;
    setBusy("check");
    try {
      setCheck(await api.syncCheck(connector, sync));
    } catch (error) {
      setCheck({ problems: [(error as Error).message], warnings: [] });
    } finally {
      setBusy(null);
    }
  };

  return (
    <fieldset className="sync-form">
      <legend>Sync</legend>
      <div className="field">
        <label htmlFor="sync-connector">Database connector</label>
        <select id="sync-connector" value={connector ?? ""} disabled={readOnly} onChange={(e) => onChange({ connector: e.target.value ? Number(e.target.value) : null, sync: { ...sync, table: "", key: [], fields: [] } })}>
          <option value="">Choose…</option>
          {databases.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name} ({catalog.types.get(c.type)?.label ?? c.type})
            </option>
          ))}
        </select>
        {databases.length === 0 && <p className="help">No database connector yet: register one to sync rows into its tables.</p>}
      </div>
      <div className="field">
        <label htmlFor="sync-table">Table</label>
        <select id="sync-table" value={sync.table} disabled={readOnly || connector == null} onChange={(e) => chooseTable(e.target.value)}>
          <option value="">{connector == null ? "Choose a connector first" : tables ? "Choose a table…" : "Reading the tables…"}</option>
          {sync.table && !tables?.some((t) => t.name === sync.table) && <option value={sync.table}>{sync.table}</option>}
          {(tables ?? []).map((t) => (
            <option key={t.name} value={t.name}>
              {t.name}
              {t.type === "VIEW" ? " (view)" : ""}
            </option>
          ))}
        </select>
        {schemaError ? <p className="field-error">{schemaError}</p> : <p className="help">Read live from the sandbox's database.</p>}
      </div>
      <div className="field">
        <label htmlFor="sync-rows">Source rows</label>
        <input id="sync-rows" className="mono-input" placeholder="{{ steps.read.rows }}" value={sync.rows} readOnly={readOnly} onChange={(e) => put({ rows: e.target.value })} />
        <p className="help">A list of rows (or one object: one row), as one {"{{ }}"} expression or JSONata.</p>
      </div>
      {table && (
        <div className="field">
          <span className="label">Key columns</span>
          <div className="check-list" role="group" aria-label="Key columns">
            {table.columns.map((c) => (
              <label key={c.name}>
                <input
                  type="checkbox"
                  checked={sync.key.includes(c.name)}
                  disabled={readOnly}
                  onChange={(e) => put({ key: e.target.checked ? [...sync.key, c.name] : sync.key.filter((k) => k !== c.name) })}
                />{" "}
                {c.name}
              </label>
            ))}
          </div>
          {sync.key.length === 0 && suggestedKey(table).length > 0 && !readOnly && (
            <button type="button" className="link" onClick={() => put({ key: suggestedKey(table) })}>
              Use the unique index: {suggestedKey(table).join(", ")}
            </button>
          )}
          {sync.key.length > 0 && !keyHasIndex(table, sync.key) ? (
            <p className="field-warn">No unique index on {sync.key.join(", ")}: the upsert cannot find rows by it (add one, or choose other columns).</p>
          ) : (
            <p className="help">The columns that identify a row; every one must be assigned below.</p>
          )}
        </div>
      )}
      <div className="field">
        <label htmlFor="sync-mode">Mode</label>
        <select id="sync-mode" value={sync.mode} disabled={readOnly} onChange={(e) => put({ mode: e.target.value as SyncSettings["mode"] })}>
          {SYNC_MODES.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="sync-scope">Scope (optional)</label>
        <textarea
          id="sync-scope"
          className="code-input plain"
          rows={2}
          placeholder="source = SAP"
          value={scope}
          readOnly={readOnly}
          onChange={(e) => {
            setScope(e.target.value);
            const read = readScope(e.target.value);
            if (!read.problem) put({ scope: Object.keys(read.scope).length ? read.scope : undefined });
          }}
        />
        <p className={scopeRead.problem ? "field-error" : "help"}>{scopeRead.problem ?? "One column = value a line: delete and prune touch only the rows with all these values."}</p>
      </div>
      {sync.mode !== "upsert" && (
        <div className="field">
          <label className="switch-row" htmlFor="sync-soft">
            <input
              id="sync-soft"
              type="checkbox"
              checked={!!sync.soft_delete}
              disabled={readOnly}
              onChange={(e) => put({ soft_delete: e.target.checked ? { column: columns[0] ?? "deleted", value: true } : undefined })}
            />
            Mark rows instead of deleting them
          </label>
          {sync.soft_delete && (
            <div className="grid-row">
              <input aria-label="Soft delete column" value={sync.soft_delete.column} readOnly={readOnly} onChange={(e) => put({ soft_delete: { ...sync.soft_delete!, column: e.target.value } })} />
              <input aria-label="Soft delete value" value={showConstant(sync.soft_delete.value)} readOnly={readOnly} onChange={(e) => put({ soft_delete: { ...sync.soft_delete!, value: readConstant(e.target.value) } })} />
            </div>
          )}
        </div>
      )}
      {sync.mode === "upsert-prune-scope" && (
        <label className="switch-row">
          <input type="checkbox" checked={!!sync.prune_when_empty} disabled={readOnly} onChange={(e) => put({ prune_when_empty: e.target.checked })} />
          Prune the scope even when the input is empty
        </label>
      )}
      <div className="field">
        <label htmlFor="sync-batch">Rows per transaction</label>
        <input id="sync-batch" inputMode="numeric" value={String(sync.batch_size)} readOnly={readOnly} onChange={(e) => put({ batch_size: Number(e.target.value) || e.target.value as unknown as number })} />
      </div>
      <div className="field">
        <span className="label">Fields</span>
        {grid.length === 0 ? (
          <p className="help">Choose a table: its columns are listed here to assign.</p>
        ) : (
          <table className="field-grid" aria-label="Field assignments">
            <thead>
              <tr>
                <th>Column</th>
                <th>From</th>
                <th>Value</th>
                <th>Default</th>
              </tr>
            </thead>
            <tbody>
              {grid.map((row, index) => (
                <tr key={row.column} data-column={row.column}>
                  <td title={row.type}>
                    {row.column}
                    {sync.key.includes(row.column) && <span className="badge">key</span>}
                  </td>
                  <td>
                    <select aria-label={`Source of ${row.column}`} value={row.source} disabled={readOnly} onChange={(e) => editGrid(index, { source: e.target.value as FieldRow["source"] })}>
                      <option value="">—</option>
                      <option value="expression">expression</option>
                      <option value="constant">constant</option>
                    </select>
                  </td>
                  <td>
                    <input
                      aria-label={`Value of ${row.column}`}
                      className="mono-input"
                      disabled={!row.source}
                      placeholder={row.source === "constant" ? "SAP" : row.source ? "NAME1" : ""}
                      value={row.value}
                      readOnly={readOnly}
                      onChange={(e) => editGrid(index, { value: e.target.value })}
                    />
                  </td>
                  <td>
                    <input aria-label={`Default of ${row.column}`} disabled={row.source !== "expression"} value={row.default} readOnly={readOnly} onChange={(e) => editGrid(index, { default: e.target.value })} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="help">Columns with — are not written. An expression is JSONata over one source row (NAME1, address.city); a constant is written as typed (42, true, "text").</p>
      </div>
      <div className="field">
        <label htmlFor="sync-sample">Sample rows (JSON)</label>
        <textarea id="sync-sample" className="code-input plain" rows={3} placeholder='[{"KUNNR": "C-1000", "NAME1": "Nordwind"}]' value={sample} onChange={(e) => setSample(e.target.value)} />
        <p className="help">{suggested ? "Taken from the output of the step the rows come from." : "Paste a few source rows, or pin a sample output on the step the rows come from."}</p>
        <div className="form-actions">
          <button type="button" disabled={connector == null || busy !== null} onClick={runCheck}>
            Check against the table
          </button>
          <button type="button" disabled={connector == null || busy !== null} onClick={runPreview}>
            Preview 5 rows
          </button>
        </div>
        {check && (
          <div className="sync-check" role="status">
            {check.problems.length === 0 && check.warnings.length === 0 && <p className="help">The table and its columns are as the settings expect.</p>}
            {check.problems.map((p, i) => (
              <p key={`p${i}`} className="field-error">
                {p}
              </p>
            ))}
            {check.warnings.map((w, i) => (
              <p key={`w${i}`} className="field-warn">
                {w}
              </p>
            ))}
          </div>
        )}
        {preview && <PreviewTable preview={preview} columns={sync.fields.map((f) => f.column)} />}
      </div>
    </fieldset>
  );
}
