/** Inserting text into the instruction where its caret was (the properties tree, the fx builder), then focusing it there. */
import { useRef } from "react";
import { insertAt } from "../highlight";

export function useCaretInsert(text: string, setText: (text: string) => void) {
  // Where the caret was when the textarea last reported it; before that, at the end of the text.
  const selection = useRef({ start: text.length, end: text.length });
  const textarea = useRef<HTMLTextAreaElement>(null);

  const insert = (inserted: string) => {
    const { start, end } = selection.current;
    const next = insertAt(text, start, end, inserted);
    setText(next.text);
    selection.current = { start: next.caret, end: next.caret };
    requestAnimationFrame(() => {
      textarea.current?.focus();
      textarea.current?.setSelectionRange(next.caret, next.caret);
    });
  };
  const onSelect = (start: number, end: number) => {
    selection.current = { start, end };
  };
  return { textarea, insert, onSelect };
}
