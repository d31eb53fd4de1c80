import type { Lines, Value } from "./tree";

export type JsonResult = { ok: true; value: Value } | { ok: false; message: string; line: number };

/**
 * A JSON parser that notes the line of each object, array and key it builds (JSON.parse
 * keeps none). Strings are decoded by JSON.parse itself, so escapes mean exactly what they
 * mean to every other JSON reader.
 */
export function parseJsonWithLines(text: string, lines: Lines): JsonResult {
  let pos = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new JsonSyntax(message, line);
  };
  const space = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      pos++;
    }
  };
  const stringAt = (): string => {
    const start = pos++;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c) || c === 10) fail("unterminated string");
      if (c === 92) pos += 2;
      else if (c === 34) break;
      else pos++;
    }
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return fail("invalid string escape");
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (depth: number): Value => {
    if (depth > 512) fail("nested too deeply");
    space();
    const c = text[pos];
    if (c === "{") {
      const o: { [k: string]: Value } = {};
      lines.setObject(o, line);
      pos++;
      space();
      if (text[pos] === "}") {
        pos++;
        return o;
      }
      for (;;) {
        space();
        if (text[pos] !== '"') fail("expected a string key");
        const keyLine = line;
        const k = stringAt();
        space();
        if (text[pos++] !== ":") fail("expected ':' after a key");
        o[k] = value(depth + 1);
        lines.setKey(o, k, keyLine);
        space();
        const d = text[pos++];
        if (d === "}") return o;
        if (d !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      const a: Value[] = [];
      lines.setObject(a, line);
      pos++;
      space();
      if (text[pos] === "]") {
        pos++;
        return a;
      }
      for (;;) {
        space();
        lines.setKey(a, a.length, line);
        a.push(value(depth + 1));
        space();
        const d = text[pos++];
        if (d === "]") return a;
        if (d !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"') return stringAt();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) return fail(c === undefined ? "unexpected end of input" : `unexpected character ${JSON.stringify(c)}`);
    pos += m[0].length;
    return Number(m[0]);
  };
  try {
    const v = value(0);
    space();
    if (pos < text.length) fail("unexpected text after the JSON value");
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof JsonSyntax) return { ok: false, message: e.message, line: e.line };
    throw e;
  }
}

class JsonSyntax extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}
