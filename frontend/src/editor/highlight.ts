/**
 * Syntax highlighting of instructions: a small tokenizer per language (SQL, the BAPI call format, the
 * HTTP request format, JSONata for mapping steps). ``{{ }}`` expressions are one token in every language,
 * so the user sees at a glance what is filled in at run time.
 */

export type TokenClass = "kw" | "str" | "num" | "com" | "tpl" | "fn" | "key" | "op" | "method" | "plain";

export interface Token {
  text: string;
  cls: TokenClass;
}

const SQL_KEYWORDS = new Set(
  (
    "select from where and or not in is null as join left right inner outer full on group by order having " +
    "limit offset insert into values update set delete returning with distinct union all case when then else " +
    "end between like ilike exists create table drop alter begin commit rollback call exec execute asc desc"
  ).split(" "),
);

const HTTP_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);

type Rule = [RegExp, TokenClass | ((match: string) => TokenClass)];

const TEMPLATE: Rule = [/^\{\{[\s\S]*?(\}\}|$)/, "tpl"];
const STRING_SQ: Rule = [/^'(?:[^'\\]|\\.|'')*'?/, "str"];
const STRING_DQ: Rule = [/^"(?:[^"\\]|\\.)*"?/, "str"];
const NUMBER: Rule = [/^\d+(?:\.\d+)?/, "num"];
const SPACE: Rule = [/^\s+/, "plain"];

const RULES: Record<string, Rule[]> = {
  sql: [
    TEMPLATE,
    [/^--[^\n]*/, "com"],
    [/^\/\*[\s\S]*?(\*\/|$)/, "com"],
    STRING_SQ,
    [/^"(?:[^"]|"")*"?/, "key"],
    NUMBER,
    [/^[A-Za-z_][\w$]*(?=\s*\()/, "fn"],
    [/^[A-Za-z_][\w$]*/, (word) => (SQL_KEYWORDS.has(word.toLowerCase()) ? "kw" : "plain")],
    [/^[=<>!*+\-/%,;().]+/, "op"],
    SPACE,
  ],
  bapi: [
    TEMPLATE,
    [/^(#|\/\/)[^\n]*/, "com"],
    STRING_DQ,
    STRING_SQ,
    NUMBER,
    [/^(BAPI|RFC|Z|Y)[A-Z0-9_]*/, "fn"],
    [/^[A-Z][A-Z0-9_]*(?=\s*[=:])/, "key"],
    [/^[A-Za-z_][\w-]*/, "plain"],
    [/^[=:{}[\],().]+/, "op"],
    SPACE,
  ],
  http: [
    TEMPLATE,
    [/^[A-Z]+(?= )/, (word) => (HTTP_METHODS.has(word) ? "method" : "plain")],
    [/^[A-Za-z][\w-]*(?=:\s)/, "key"],
    STRING_DQ,
    NUMBER,
    [/^(true|false|null)\b/, "kw"],
    [/^[^\s{"]+/, "plain"],
    [/^[{}[\],:]/, "op"],
    SPACE,
  ],
  jsonata: [
    TEMPLATE,
    [/^\/\*[\s\S]*?(\*\/|$)/, "com"],
    STRING_DQ,
    STRING_SQ,
    NUMBER,
    [/^\$[A-Za-z_]\w*(?=\s*\()/, "fn"],
    [/^\$[A-Za-z_]*\w*/, "key"],
    [/^(and|or|in|true|false|null|function)\b/, "kw"],
    [/^[A-Za-z_][\w]*/, "plain"],
    [/^[&=<>!*+\-/%,;().:?[\]{}]+/, "op"],
    SPACE,
  ],
};

/** The tokens of ``text`` in ``language`` (unknown languages still get their ``{{ }}`` marked); joined,
 * they give back ``text`` exactly. */
export function tokenize(text: string, language: string): Token[] {
  const rules = RULES[language] ?? [TEMPLATE, SPACE, [/^[^{\s]+|^\{/, "plain"] as Rule];
  const tokens: Token[] = [];
  let rest = text;
  while (rest.length) {
    let matched = false;
    for (const [pattern, cls] of rules) {
      const found = pattern.exec(rest);
      if (found && found[0].length) {
        const piece = found[0];
        const kind = typeof cls === "function" ? cls(piece) : cls;
        const last = tokens[tokens.length - 1];
        if (last && last.cls === kind && kind === "plain") last.text += piece;
        else tokens.push({ text: piece, cls: kind });
        rest = rest.slice(piece.length);
        matched = true;
        break;
      }
    }
    if (!matched) {
      const last = tokens[tokens.length - 1];
      if (last && last.cls === "plain") last.text += rest[0];
      else tokens.push({ text: rest[0], cls: "plain" });
      rest = rest.slice(1);
    }
  }
  return tokens;
}

/** The character offset of a 1-based line and column in ``text`` (the server's problem positions). */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) offset += lines[i].length + 1;
  return Math.min(offset + Math.max(column - 1, 0), text.length);
}

/** ``text`` with ``insert`` put in place of the selection ``[start, end)``; the caret lands after it. */
export function insertAt(text: string, start: number, end: number, insert: string): { text: string; caret: number } {
  return { text: text.slice(0, start) + insert + text.slice(end), caret: start + insert.length };
}

/** An ``fx`` concat expression from parts: property expressions as they are, literal text quoted. */
export function concatExpression(parts: { kind: "property" | "text"; value: string }[]): string {
  const args = parts
    .filter((p) => p.value !== "")
    .map((p) => (p.kind === "property" ? p.value : JSON.stringify(p.value)));
  return `{{ concat(${args.join(", ")}) }}`;
}
