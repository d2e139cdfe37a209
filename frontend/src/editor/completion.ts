/**
 * Where BAPI completion applies at the caret: a function name after `CALL FUNCTION `, or a parameter
 * name first in one of a call's `( )` objects (not inside a structure's or a table row's, whose fields
 * the function's description does not list). Pure, so it is tested without a browser.
 */
export type CompletionContext =
  | { kind: "function"; prefix: string; start: number }
  | { kind: "parameter"; fn: string; prefix: string; start: number };

const HEAD = /CALL\s+FUNCTION\s+([A-Za-z0-9_/]+)(?:\s+AS\s+[A-Za-z0-9_]+)?\s*:/gi;

export function completionAt(text: string, caret: number): CompletionContext | null {
  const before = text.slice(0, caret);
  const typingName = before.match(/CALL\s+FUNCTION\s+([A-Za-z0-9_/]*)$/i);
  if (typingName) return { kind: "function", prefix: typingName[1], start: caret - typingName[1].length };
  let head: RegExpExecArray | null = null;
  for (const match of before.matchAll(HEAD)) head = match as RegExpExecArray;
  if (!head) return null;
  const word = before.match(/[(,]\s*([A-Za-z0-9_/]*)$/);
  if (!word) return null;
  const opened = openBrackets(before.slice(head.index + head[0].length));
  if (opened !== "[(") return null;
  return { kind: "parameter", fn: head[1].toUpperCase(), prefix: word[1], start: caret - word[1].length };
}

/** The brackets still open in `text`, outermost first, skipping strings, `{{ }}` and comments. */
function openBrackets(text: string): string {
  const stack: string[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char === '"' || char === "'") {
      const end = text.indexOf(char, i + 1);
      if (end < 0) return "";
      i = end + 1;
      continue;
    }
    if (text.startsWith("{{", i)) {
      const end = text.indexOf("}}", i + 2);
      if (end < 0) return "";
      i = end + 2;
      continue;
    }
    if (char === "#") {
      const end = text.indexOf("\n", i);
      if (end < 0) return "";
      i = end;
      continue;
    }
    if (char === "[" || char === "(") stack.push(char);
    else if (char === "]" || char === ")") stack.pop();
    i += 1;
  }
  return stack.join("");
}
