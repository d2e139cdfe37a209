/**
 * The instruction field: a textarea over a highlighted copy of its text, with the server-side parser's
 * problems marked at their line and column (asked again a moment after each change).
 */
import { forwardRef, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, type InstructionProblem } from "../api";
import { offsetOf, tokenize } from "../highlight";

interface Props {
  id: string;
  language: string;
  connector: number | null;
  value: string;
  readOnly: boolean;
  onChange: (text: string) => void;
  onSelect: (start: number, end: number) => void;
}

const CHECK_DELAY_MS = 350;

function highlighted(text: string, language: string, marks: number[]): ReactNode[] {
  const out: ReactNode[] = [];
  const pending = [...new Set(marks)].sort((a, b) => a - b);
  let offset = 0;
  tokenize(text, language).forEach((token, index) => {
    let piece = token.text;
    let start = offset;
    while (pending.length && pending[0] >= start && pending[0] < start + piece.length) {
      const cut = (pending.shift() as number) - start;
      if (cut > 0) out.push(<span key={`${index}-${start}`} className={`tok-${token.cls}`}>{piece.slice(0, cut)}</span>);
      out.push(<mark key={`m${index}-${start}`} className="problem-at">{piece[cut]}</mark>);
      piece = piece.slice(cut + 1);
      start += cut + 1;
    }
    if (piece) out.push(<span key={`${index}-${start}`} className={`tok-${token.cls}`}>{piece}</span>);
    offset += token.text.length;
  });
  if (pending.length) out.push(<mark key="end" className="problem-at"> </mark>);
  out.push("\n");
  return out;
}

export const InstructionEditor = forwardRef<HTMLTextAreaElement, Props>(function InstructionEditor(
  { id, language, connector, value, readOnly, onChange, onSelect },
  ref,
) {
  const [problems, setProblems] = useState<InstructionProblem[]>([]);
  const [checkError, setCheckError] = useState<string | null>(null);
  const mirror = useRef<HTMLPreElement>(null);
  const local = useRef<HTMLTextAreaElement | null>(null);

  useEffect(() => {
    let cancelled = false;
    const timer = window.setTimeout(async () => {
      try {
        const answer = await api.checkInstruction(language, value, connector);
        if (!cancelled) {
          setProblems(answer.problems);
          setCheckError(null);
        }
      } catch (error) {
        if (!cancelled) setCheckError(`Could not check the instruction: ${(error as Error).message}`);
      }
    }, CHECK_DELAY_MS);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [language, connector, value]);

  const marks = useMemo(() => problems.map((p) => offsetOf(value, p.line, p.column)), [problems, value]);

  const goTo = (problem: InstructionProblem) => {
    const area = local.current;
    if (!area) return;
    const at = offsetOf(value, problem.line, problem.column);
    area.focus();
    area.setSelectionRange(at, at);
    onSelect(at, at);
  };

  return (
    <div className="instruction">
      <div className="code-box">
        <pre ref={mirror} className="code-mirror" aria-hidden="true">
          {highlighted(value, language, marks)}
        </pre>
        <textarea
          id={id}
          ref={(node) => {
            local.current = node;
            if (typeof ref === "function") ref(node);
            else if (ref) ref.current = node;
          }}
          className="code-input"
          spellCheck={false}
          value={value}
          readOnly={readOnly}
          aria-invalid={problems.length > 0}
          aria-describedby={`${id}-problems`}
          onChange={(e) => {
            onChange(e.target.value);
            onSelect(e.target.selectionStart, e.target.selectionEnd);
          }}
          onSelect={(e) => onSelect(e.currentTarget.selectionStart, e.currentTarget.selectionEnd)}
          onScroll={(e) => {
            if (mirror.current) {
              mirror.current.scrollTop = e.currentTarget.scrollTop;
              mirror.current.scrollLeft = e.currentTarget.scrollLeft;
            }
          }}
        />
      </div>
      <ul id={`${id}-problems`} className="instruction-problems" aria-live="polite">
        {problems.map((p, i) => (
          <li key={i}>
            <button type="button" className="link" onClick={() => goTo(p)}>
              line {p.line}, column {p.column}
            </button>
            : {p.message}
          </li>
        ))}
        {checkError && <li>{checkError}</li>}
      </ul>
    </div>
  );
});
