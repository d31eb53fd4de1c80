import type { Lines, Value } from "./tree";

export type JsonResult = { ok: true; value: Value } | { ok: false; message: string; line: number };

/**
 * A JSON parser that notes the line of each object, array and key it builds (JSON.parse
 * keeps none). Strings are decoded by JSON.parse itself, so escapes mean exactly what they
 * mean to every other JSON reader.
 */
export function parseJsonWithLines(text: string, lines: Lines): JsonResult {
  const reader = new LineReader(text, lines);
  try {
    const v = reader.value();
    reader.space();
    if (reader.pos < text.length) reader.fail("unexpected text after the JSON value");
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof JsonSyntax) return { ok: false, message: e.message, line: e.line };
    throw e;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 512;

/** One pass over the text: each method reads one construct at `pos` and counts the newlines it passes. */
class LineReader {
  pos = 0;
  line = 1;
  /** Objects and arrays open around `pos`. */
  private depth = 0;
  constructor(
    private readonly text: string,
    private readonly lines: Lines,
  ) {}

  fail(message: string): never {
    throw new JsonSyntax(message, this.line);
  }

  space(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 10) this.line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      this.pos++;
    }
  }

  value(): Value {
    if (this.depth > MAX_DEPTH) this.fail("nested too deeply");
    this.space();
    const c = this.text[this.pos];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail(c === undefined ? "unexpected end of input" : `unexpected character ${JSON.stringify(c)}`);
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private object(): Value {
    const o: { [k: string]: Value } = {};
    this.lines.setObject(o, this.line);
    this.members("}", () => {
      if (this.text[this.pos] !== '"') this.fail("expected a string key");
      const keyLine = this.line;
      const k = this.string();
      this.space();
      if (this.text[this.pos++] !== ":") this.fail("expected ':' after a key");
      // An own property, as JSON.parse makes it: `o["__proto__"] = …` would set the prototype instead.
      Object.defineProperty(o, k, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.lines.setKey(o, k, keyLine);
    });
    return o;
  }

  private array(): Value {
    const a: Value[] = [];
    this.lines.setObject(a, this.line);
    this.members("]", () => {
      this.lines.setKey(a, a.length, this.line);
      a.push(this.value());
    });
    return a;
  }

  /** Past the opening bracket to `close`; `member` reads one, starting at its first character. */
  private members(close: "}" | "]", member: () => void): void {
    this.pos++;
    this.space();
    if (this.text[this.pos] === close) {
      this.pos++;
      return;
    }
    this.depth++;
    for (;;) {
      this.space();
      member();
      this.space();
      const d = this.text[this.pos++];
      if (d === close) break;
      if (d !== ",") this.fail(`expected ',' or '${close}'`);
    }
    this.depth--;
  }

  private string(): string {
    const start = this.pos++;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c) || c === 10) this.fail("unterminated string");
      if (c === 92) this.pos += 2;
      else if (c === 34) break;
      else this.pos++;
    }
    this.pos++;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      return this.fail("invalid string escape");
    }
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
