/**
 * The instruction field: a textarea over a highlighted copy of its text, with the server-side parser's
 * problems marked at their line and column (asked again a moment after each change). In a BAPI step, a list
 * under the field offers function names after `CALL FUNCTION ` and a call's parameters in its `( )`,
 * from the connector's `sap-functions` endpoints; a click or Enter takes one.
 */
import { forwardRef, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, type InstructionProblem } from "../api";
import { completionAt } from "../completion";
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

interface Suggestion {
  label: string;
  detail: string;
  insert: string;
}

/** Suggestions for the text at `caret`, and the offset their text replaces from. */
function useSuggestions(language: string, connector: number | null, value: string, caret: number) {
  const [found, setFound] = useState<{ start: number; items: Suggestion[] }>({ start: 0, items: [] });
  const context = language === "bapi" && connector != null ? completionAt(value, caret) : null;
  const key = context ? `${context.kind}:${context.kind === "parameter" ? context.fn : ""}:${context.prefix}:${context.start}` : "";
  useEffect(() => {
    if (!context || connector == null) {
      setFound({ start: 0, items: [] });
      return;
    }
    let cancelled = false;
    const prefix = context.prefix.toUpperCase();
    const ask =
      context.kind === "function"
        ? api.sapFunctions(connector, prefix).then((names) => names.map((f) => ({ label: f.name, detail: f.description, insert: f.name })))
        : api.sapFunction(connector, context.fn).then((described) =>
            described.parameters
              .filter((p) => p.direction !== "export" && p.name.startsWith(prefix))
              .map((p) => ({
                label: p.name,
                detail: `${p.direction}, ${p.type}${p.length ? ` ${p.length}` : ""}${p.optional ? ", optional" : ""}${p.description ? ` — ${p.description}` : ""}`,
                insert: `${p.name}: `,
              })),
          );
    ask.then((items) => !cancelled && setFound({ start: context.start, items })).catch(() => !cancelled && setFound({ start: 0, items: [] }));
    return () => {
      cancelled = true;
    };
    // `key` stands for the context, which is a new object on every render
  }, [key, connector]);
  return found;
}

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
  const [caret, setCaret] = useState(-1);
  const [dismissed, setDismissed] = useState(false);
  const [active, setActive] = useState(0);
  const suggestions = useSuggestions(language, connector, value, caret < 0 ? 0 : caret);
  const open = !readOnly && caret >= 0 && !dismissed && suggestions.items.length > 0;

  const follow = (area: HTMLTextAreaElement) => {
    setCaret(area.selectionStart === area.selectionEnd ? area.selectionStart : -1);
    setDismissed(false);
    setActive(0);
    onSelect(area.selectionStart, area.selectionEnd);
  };

  const pick = (item: Suggestion) => {
    const text = value.slice(0, suggestions.start) + item.insert + value.slice(caret);
    const at = suggestions.start + item.insert.length;
    onChange(text);
    setDismissed(true);
    window.setTimeout(() => {
      local.current?.focus();
      local.current?.setSelectionRange(at, at);
      onSelect(at, at);
    });
  };

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
            follow(e.target);
          }}
          onSelect={(e) => follow(e.currentTarget)}
          onBlur={() => window.setTimeout(() => setDismissed(true), 150)}
          onKeyDown={(e) => {
            if (!open) return;
            if (e.key === "ArrowDown" || e.key === "ArrowUp") {
              e.preventDefault();
              setActive((active + (e.key === "ArrowDown" ? 1 : -1) + suggestions.items.length) % suggestions.items.length);
            } else if (e.key === "Enter" || e.key === "Tab") {
              e.preventDefault();
              pick(suggestions.items[active] ?? suggestions.items[0]);
            } else if (e.key === "Escape") {
              e.stopPropagation();
              setDismissed(true);
            }
          }}
          aria-autocomplete="list"
          aria-controls={`${id}-suggestions`}
          onScroll={(e) => {
            if (mirror.current) {
              mirror.current.scrollTop = e.currentTarget.scrollTop;
              mirror.current.scrollLeft = e.currentTarget.scrollLeft;
            }
          }}
        />
      </div>
      {open && (
        <ul id={`${id}-suggestions`} className="completions" role="listbox" aria-label="Suggestions">
          {suggestions.items.map((item, index) => (
            <li
              key={item.label}
              role="option"
              aria-selected={index === active}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(item);
              }}
            >
              <code>{item.label}</code> <span className="help">{item.detail}</span>
            </li>
          ))}
        </ul>
      )}
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
