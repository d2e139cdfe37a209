/**
 * The step form, a drawer beside the canvas: name, connector (of the step's type), the settings of the
 * step's kind (``kinds.ts``), timeout checked as you type, options the connector's type declares, the
 * instruction with its properties and the fx builder, the retry policy, Ignore Errors. Save puts the values
 * on the canvas; "Save draft" then stores the graph.
 */
import { useEffect, useMemo, useState } from "react";
import { api, type Problem, type Properties } from "../api";
import type { Catalog } from "../context";
import { referenceKey, timeoutProblem, type Step } from "../graph";
import { kindOf } from "../kinds";
import { problemsOf, type Values } from "../kindValues";
import { readRetry, retryForm } from "../retry";
import { sizeProblem, type Sample } from "../samples";
import { ExpressionBuilder } from "./ExpressionBuilder";
import { KindFields } from "./KindFields";
import { RetryFields } from "./RetryFields";
import { InstructionEditor } from "./InstructionEditor";
import { OptionInput } from "./OptionInput";
import { useCaretInsert } from "./useCaretInsert";
import { allExpressions, PropertiesTree, type UpstreamStep } from "./PropertiesTree";

interface Props {
  slug: string;
  step: Step;
  catalog: Catalog;
  otherNames: string[];
  upstream: UpstreamStep[];
  sample: Sample | null;
  savedStepIds: Set<string>;
  problems: Problem[];
  /** Outputs of the steps upstream by reference key (pinned samples, else the watched run's). */
  outputs: Record<string, unknown>;
  readOnly: boolean;
  onSave: (step: Step) => void;
  onClose: () => void;
}

const IGNORE_MEANING = {
  on: "On: if this step fails, the error is logged and the following steps still run.",
  off: "Off: if this step fails, the execution stops here and no following step runs.",
};

/** The pinned sample output as the form shows it, and what its text holds (undefined: none pinned). */
function readSampleOutput(text: string): { value?: unknown; error?: string } {
  if (!text.trim()) return {};
  const size = sizeProblem(text.length, "sample output");
  if (size) return { error: size };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `The sample output is not JSON: ${(error as Error).message}` };
  }
}

/** The kind's own settings of the step, as the form edits them. */
function kindValues(step: Step, names: string[]): Values {
  const values: Values = {};
  for (const name of [...names, "connector", "until"]) if (name in step) values[name] = structuredClone(step[name]);
  return values;
}

export function StepDrawer({ slug, step, catalog, otherNames, upstream, sample, savedStepIds, problems, outputs, readOnly, onSave, onClose }: Props) {
  const [name, setName] = useState(step.name);
  const [connector, setConnector] = useState<number | null>(step.connector ?? null);
  const [timeout, setTimeoutText] = useState(String(step.timeout_ms));
  const [instruction, setInstruction] = useState(step.instruction);
  const [ignoreErrors, setIgnoreErrors] = useState(step.ignore_errors);
  const [options, setOptions] = useState<Record<string, unknown>>({ ...(step.options ?? {}) });
  const [properties, setProperties] = useState<Properties | null>(null);
  const [propertiesError, setPropertiesError] = useState<string | null>(null);
  const [fxOpen, setFxOpen] = useState(false);
  const [sampleOutput, setSampleOutput] = useState(step.sample_output === undefined ? "" : JSON.stringify(step.sample_output, null, 2));
  const pinned = readSampleOutput(sampleOutput);
  const kind = kindOf(step);
  const [values, setValues] = useState<Values>(() => kindValues(step, kind.fields.map((f) => f.name)));
  const kindProblems = problemsOf(kind.fields, values);
  const [retry, setRetry] = useState(() => retryForm(step.retry));
  const retryRead = readRetry(retry);
  const [formatError, setFormatError] = useState<string | null>(null);
  const { textarea, insert, onSelect } = useCaretInsert(instruction, setInstruction);

  const current = connector != null ? catalog.connectorById.get(connector) : undefined;
  const type = current ? catalog.types.get(current.type) : undefined;
  const language = kind.language ?? type?.language ?? "sql";
  const sameType = catalog.connectors.filter((c) => !current || c.type === current.type);

  useEffect(() => {
    let cancelled = false;
    api
      .properties(slug, savedStepIds.has(step.id) ? step.id : null)
      .then((answer) => !cancelled && setProperties(answer))
      .catch((error: Error) => !cancelled && setPropertiesError(`Could not load the properties: ${error.message}`));
    return () => {
      cancelled = true;
    };
  }, [slug, step.id, savedStepIds]);

  const nameError = useMemo(() => {
    if (!name.trim()) return "Give the step a name.";
    if (!referenceKey(name)) return "The name needs at least one letter or digit.";
    const clash = otherNames.find((other) => referenceKey(other) === referenceKey(name));
    return clash ? `Another step is already called “${clash}”; names must be unique.` : null;
  }, [name, otherNames]);
  const timeoutError = timeoutProblem(timeout);
  const connectorError = kind.connectors === "any" && connector == null ? "Choose a connector." : null;
  const invalid = Boolean(
    nameError || timeoutError || connectorError || pinned.error || Object.keys(kindProblems).length || Object.keys(retryRead.problems).length,
  );

  // Formatting is an edit like typing: it goes into the step when saved, and the store's undo takes it back.
  const formatNow = async () => {
    try {
      setInstruction((await api.formatInstruction(language, instruction)).text);
      setFormatError(null);
    } catch (error) {
      setFormatError(`Not formatted: ${(error as Error).message}`);
    }
  };

  const save = () => {
    if (invalid) return;
    const { sample_output: _before, retry: _retry, ...rest } = step;
    const saved: Step = { ...rest, ...values, name: name.trim(), timeout_ms: Number(timeout), instruction, ignore_errors: ignoreErrors };
    if (kind.retries && retryRead.retry) saved.retry = retryRead.retry;
    if (pinned.value !== undefined) saved.sample_output = pinned.value;
    if (step.kind === "connector") {
      saved.connector = connector;
      saved.options = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== null && v !== ""));
    }
    onSave(saved);
  };

  return (
    <div className="drawer" role="form" aria-label={`Step form: ${step.name}`} onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <p className="drawer-kind muted small">{kind.title}</p>
      {problems.length > 0 && (
        <ul className="drawer-problems" role="alert">
          {problems.map((p, i) => (
            <li key={i}>{p.message}</li>
          ))}
        </ul>
      )}
      <div className="drawer-body">
        <div className="field">
          <label htmlFor="step-name">Name</label>
          <input id="step-name" value={name} readOnly={readOnly} aria-invalid={!!nameError} onChange={(e) => setName(e.target.value)} />
          {nameError ? <p className="field-error">{nameError}</p> : <p className="help">Later steps read its output as <code>steps.{referenceKey(name)}</code>.</p>}
        </div>
        {kind.connectors === "any" && (
          <div className="field">
            <label htmlFor="step-connector">Connector</label>
            <select
              id="step-connector"
              value={connector ?? ""}
              disabled={readOnly}
              onChange={(e) => setConnector(e.target.value ? Number(e.target.value) : null)}
            >
              <option value="">Choose…</option>
              {sameType.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.environments.join(", ") || "no environment"})
                </option>
              ))}
            </select>
            {connectorError ? <p className="field-error">{connectorError}</p> : <p className="help">{type ? `${type.label}: instructions in ${type.language.toUpperCase()}.` : ""}</p>}
          </div>
        )}
        <KindFields
          fields={kind.fields}
          values={values}
          problems={kindProblems}
          readOnly={readOnly}
          catalog={catalog}
          outputs={outputs}
          onChange={(changes) => setValues((before) => ({ ...before, ...changes }))}
        />
        <div className="field">
          <label htmlFor="step-timeout">Timeout (ms)</label>
          <input
            id="step-timeout"
            inputMode="numeric"
            value={timeout}
            readOnly={readOnly}
            aria-invalid={!!timeoutError}
            aria-describedby="step-timeout-help"
            onChange={(e) => setTimeoutText(e.target.value)}
          />
          <p id="step-timeout-help" className={timeoutError ? "field-error" : "help"}>
            {timeoutError ?? "How long the step may take, waiting for a connection included: 1 to 60000 ms, 3000 by default."}
          </p>
        </div>
        {type && type.step_options.length > 0 && (
          <fieldset className="options">
            <legend>Options</legend>
            {type.step_options.map((field) => (
              <OptionInput key={field.name} field={field} value={options[field.name]} onChange={(v) => setOptions({ ...options, [field.name]: v })} />
            ))}
          </fieldset>
        )}
        {kind.hasInstruction && (
        <div className="field">
          <div className="label-row">
            <label htmlFor="step-instruction">{kind.instructionLabel}</label>
            {!readOnly && language === "bapi" && (
              <button type="button" className="format" title="Write the instruction in the canonical layout" onClick={formatNow}>
                Format
              </button>
            )}
            {!readOnly && (
              <button type="button" className="fx" title="Build an expression" aria-label="Expression builder" onClick={() => setFxOpen(!fxOpen)}>
                fx
              </button>
            )}
          </div>
          {fxOpen && (
            <ExpressionBuilder
              expressions={allExpressions(properties, upstream, sample)}
              onInsert={(text) => {
                insert(text);
                setFxOpen(false);
              }}
              onClose={() => setFxOpen(false)}
            />
          )}
          <InstructionEditor
            id="step-instruction"
            ref={textarea}
            language={language}
            connector={step.kind === "connector" ? connector : null}
            value={instruction}
            readOnly={readOnly}
            onChange={setInstruction}
            onSelect={onSelect}
          />
          {formatError && (
            <p className="field-error" role="alert">
              {formatError}
            </p>
          )}
          <p className="help">
            {kind.instructionHelp}
          </p>
        </div>
        )}
        {kind.hasInstruction && (
        <div className="field">
          <span className="label">Properties</span>
          <PropertiesTree properties={properties} upstream={upstream} sample={sample} error={propertiesError} onPick={(expression) => insert(`{{ ${expression} }}`)} />
        </div>
        )}
        <div className="field">
          <label htmlFor="step-sample-output">Sample output (JSON, optional)</label>
          <textarea
            id="step-sample-output"
            className="code-input plain"
            rows={3}
            value={sampleOutput}
            readOnly={readOnly}
            aria-invalid={!!pinned.error}
            placeholder='{"rows": [{"code": "C-1000"}]}'
            onChange={(e) => setSampleOutput(e.target.value)}
          />
          <p className={pinned.error ? "field-error" : "help"}>
            {pinned.error ?? "What this step returns, pinned: later steps list its fields before it has run. The data panel can pin a run's output."}
          </p>
        </div>
        {kind.retries && <RetryFields form={retry} readOnly={readOnly} onChange={setRetry} />}
        <div className="field">
          <label className="switch-row" htmlFor="step-ignore">
            <input id="step-ignore" type="checkbox" role="switch" checked={ignoreErrors} disabled={readOnly} onChange={(e) => setIgnoreErrors(e.target.checked)} />
            Ignore Errors
          </label>
          <p className="help">{ignoreErrors ? IGNORE_MEANING.on : IGNORE_MEANING.off}</p>
        </div>
      </div>
      <footer className="drawer-foot">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        {!readOnly && (
          <button type="button" className="primary" disabled={invalid} onClick={save}>
            Save
          </button>
        )}
      </footer>
    </div>
  );
}
