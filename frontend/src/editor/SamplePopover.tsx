/**
 * The sample trigger payload: pasted JSON or XML, or the input of an earlier execution (copied, so it
 * stays when the execution is deleted). The properties tree then shows its fields with their types, and
 * a run without a payload uses it. It is part of the draft: Save draft keeps it, undo takes it back.
 */
import { useState } from "react";
import { api } from "./api";
import { sampleFields, type Sample } from "./samples";
import { useEditor } from "./useEditor";

type Format = Sample["format"];

export function SamplePopover({ onClose }: { onClose: () => void }) {
  const current = useEditor((s) => s.sample);
  const setSample = useEditor((s) => s.setSample);
  const say = useEditor((s) => s.say);
  const readOnly = useEditor((s) => s.readOnly);
  const [format, setFormat] = useState<Format>(current?.format ?? "json");
  const [text, setText] = useState(current && current.format !== "execution" ? current.text : "");
  const [number, setNumber] = useState(current?.format === "execution" ? String(current.execution) : "");
  const [problem, setProblem] = useState<string | null>(null);

  const use = async () => {
    let sample: Sample;
    if (format === "execution") {
      const id = Number(number);
      if (!Number.isInteger(id) || id < 1) return setProblem("Enter the number of an execution of this flow, as its page shows it (#12: 12).");
      try {
        const execution = await api.execution(id);
        sample = { format, execution: id, payload: execution.input?.payload ?? {} };
      } catch (error) {
        return setProblem(`Execution #${id}: ${(error as Error).message}`);
      }
    } else sample = { format, text };
    const read = sampleFields(sample);
    if ("error" in read) return setProblem(read.error);
    setSample(sample);
    say("ok", `Sample payload set: ${read.fields.length} field${read.fields.length === 1 ? "" : "s"} in the properties. Save the draft to keep it.`);
    onClose();
  };

  return (
    <form
      className="popover sample-popover"
      aria-label="Sample payload"
      onSubmit={(e) => {
        e.preventDefault();
        void use();
      }}
    >
      <fieldset className="choice-row">
        <legend>Sample trigger payload</legend>
        {(
          [
            ["json", "JSON"],
            ["xml", "XML"],
            ["execution", "Input of an execution"],
          ] as [Format, string][]
        ).map(([value, label]) => (
          <label key={value}>
            <input type="radio" name="sample-format" value={value} checked={format === value} onChange={() => (setFormat(value), setProblem(null))} /> {label}
          </label>
        ))}
      </fieldset>
      {format === "execution" ? (
        <>
          <label htmlFor="sample-execution">Execution number</label>
          <input id="sample-execution" inputMode="numeric" value={number} onChange={(e) => setNumber(e.target.value)} placeholder="12" />
        </>
      ) : (
        <>
          <label htmlFor="sample-text">{format === "xml" ? "XML document" : "JSON document"}</label>
          <textarea id="sample-text" rows={7} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={!!problem} />
        </>
      )}
      {problem ? (
        <p className="field-error" role="alert">
          {problem}
        </p>
      ) : (
        <p className="help">Steps read it as trigger.payload; a run without a payload uses it. At most 64 KB: a few representative records.</p>
      )}
      <div className="form-actions">
        {current && !readOnly && (
          <button
            type="button"
            onClick={() => {
              setSample(null);
              say("ok", "Sample payload removed.");
              onClose();
            }}
          >
            Remove the sample
          </button>
        )}
        {!readOnly && (
          <button type="submit" className="primary">
            Use this sample
          </button>
        )}
      </div>
    </form>
  );
}
