import { ByteSink } from "./byte-sink";

/**
 * JSON read the way Go's encoding/json Decoder reads it, because Docker's messages quote
 * Go's errors verbatim ("invalid character 'x' looking for beginning of value",
 * "unexpected EOF", "json: cannot unmarshal number into Go struct field
 * ConfigFile.credsStore of type string") and because Go keeps decoding after a type
 * mismatch. The Decoder reads the FIRST value only: trailing text is ignored. Positions
 * are byte offsets, reported to users as line:column.
 */

export type GoValue =
  | { t: "object"; entries: [string, GoValue][]; off: number }
  | { t: "array"; items: GoValue[]; off: number }
  | { t: "string"; v: string; off: number }
  | { t: "number"; raw: string; off: number }
  | { t: "bool"; v: boolean; off: number }
  | { t: "null"; off: number };

export class GoJsonError extends Error {
  /** Byte offset of the offending character (or of the end for "unexpected EOF"). */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  constructor(message: string, bytes: Uint8Array, offset: number) {
    super(message);
    this.name = "GoJsonError";
    this.offset = offset;
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) [line, lineStart] = [line + 1, i + 1];
    this.line = line;
    this.column = offset - lineStart + 1;
  }
}

/** Go's quoteChar: how a byte is shown inside an error message. */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const esc: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 92: "\\\\" };
  if (esc[c]) return `'${esc[c]}'`;
  // Go turns the byte into the rune of the same number (0xEF shows as 'ï').
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u00${c.toString(16).padStart(2, "0")}'`;
  return `'${String.fromCharCode(c)}'`;
}

/**
 * encoding/json's maxNestingDepth: Go refuses the 10,001st nested `[` or `{` with
 * "invalid character '[' exceeded max depth". It also keeps this recursive parser far from
 * the JS stack limit (a 100,000-deep config.json crashed the doctor before).
 */
export const MAX_NESTING_DEPTH = 10000;

/** The one-character escapes of a JSON string, by the byte after the backslash. */
const SIMPLE_ESCAPES: Record<number, number> = { 34: 0x22, 92: 0x5c, 47: 0x2f, 98: 8, 102: 12, 110: 10, 114: 13, 116: 9 };
const utf8 = new TextEncoder();

const isWs = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined) => c !== undefined && (isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

export interface GoDecodeResult {
  /** null when the input held only whitespace (Go: io.EOF) or a syntax error occurred. */
  value: GoValue | null;
  /** Offset just after the first value: Docker checks for "more than one JSON object" there. */
  end: number;
  error: GoJsonError | null;
}

/** Decoder.Decode's syntax pass over the first value of `input`. */
export function decodeFirstValue(input: Uint8Array | string): GoDecodeResult {
  const sc = new Scanner(typeof input === "string" ? new TextEncoder().encode(input) : input);
  sc.skipWs();
  if (sc.i >= sc.b.length) return { value: null, end: sc.i, error: null };
  try {
    const v = sc.value();
    return { value: v, end: sc.i, error: null };
  } catch (e) {
    if (e instanceof GoJsonError) return { value: null, end: sc.i, error: e };
    throw e;
  }
}

/** encoding/json's scanner over bytes: each method reads one construct at `i` and leaves `i` just after it. */
class Scanner {
  i = 0;
  depth = 0;
  constructor(readonly b: Uint8Array) {}

  fail(msg: string, at: number): never {
    throw new GoJsonError(msg, this.b, at);
  }
  eof(): never {
    return this.fail("unexpected EOF", this.b.length);
  }
  bad(ctx: string): never {
    return this.fail(`invalid character ${goQuoteChar(this.b[this.i]!)} ${ctx}`, this.i);
  }
  skipWs(): void {
    while (isWs(this.b[this.i])) this.i++;
  }
  /** Skip whitespace; the input may not end there. */
  next(): number {
    this.skipWs();
    if (this.i >= this.b.length) this.eof();
    return this.b[this.i]!;
  }

  value(): GoValue {
    const c = this.next();
    const off = this.i;
    if ((c === 0x7b || c === 0x5b) && ++this.depth > MAX_NESTING_DEPTH) this.bad("exceeded max depth");
    if (c === 0x7b) return this.object(off);
    if (c === 0x5b) return this.array(off);
    if (c === 0x22) return { t: "string", v: this.str(), off };
    if (c === 0x2d || isDigit(c)) return this.num();
    if (c === 0x74) return this.literal("true", { t: "bool", v: true, off });
    if (c === 0x66) return this.literal("false", { t: "bool", v: false, off });
    if (c === 0x6e) return this.literal("null", { t: "null", off });
    return this.bad("looking for beginning of value");
  }

  // object and array recurse through value() only (no callbacks): Go accepts 10,000 levels.
  object(off: number): GoValue {
    const entries: [string, GoValue][] = [];
    if (this.open(0x7d))
      do {
        if (this.next() !== 0x22) this.bad("looking for beginning of object key string");
        const key = this.str();
        if (this.next() !== 0x3a) this.bad("after object key");
        this.i++;
        entries.push([key, this.value()]);
      } while (this.more(0x7d, "after object key:value pair"));
    return { t: "object", entries, off };
  }

  array(off: number): GoValue {
    const items: GoValue[] = [];
    if (this.open(0x5d))
      do items.push(this.value());
      while (this.more(0x5d, "after array element"));
    return { t: "array", items, off };
  }

  /** Past an opening bracket: false when `close` follows at once (then past it too). */
  open(close: number): boolean {
    this.i++;
    return this.next() !== close || this.closed();
  }

  /** After an element: true past a comma, false past `close`. */
  more(close: number, after: string): boolean {
    const c = this.next();
    if (c === 0x2c) {
      this.i++;
      return true;
    }
    if (c !== close) this.bad(after);
    return this.closed();
  }

  closed(): false {
    this.i++;
    this.depth--;
    return false;
  }

  literal(word: string, v: GoValue): GoValue {
    for (let k = 1; k < word.length; k++) {
      this.i++;
      if (this.i >= this.b.length) this.eof();
      if (this.b[this.i] !== word.charCodeAt(k)) this.bad(`in literal ${word} (expecting ${goQuoteChar(word.charCodeAt(k))})`);
    }
    this.i++;
    return v;
  }

  str(): string {
    const b = this.b;
    this.i++;
    // Plain runs are copied in one go, escapes byte by byte, into one growing buffer: a
    // per-byte JS array made a 16 MiB string cost gigabytes.
    let out: ByteSink | null = null;
    let run = this.i;
    for (;;) {
      if (this.i >= b.length) this.eof();
      const c = b[this.i]!;
      if (c === 0x22) break;
      if (c < 0x20) this.bad("in string literal");
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out ??= new ByteSink();
      out.append(b.subarray(run, this.i));
      this.i++;
      if (this.i >= b.length) this.eof();
      const simple = SIMPLE_ESCAPES[b[this.i]!];
      if (simple !== undefined) {
        out.push(simple);
        this.i++;
      } else {
        if (b[this.i] !== 0x75) this.bad("in string escape code");
        out.append(utf8.encode(this.unicodeEscape()));
      }
      run = this.i;
    }
    const last = b.subarray(run, this.i);
    this.i++;
    if (out === null) return new TextDecoder().decode(last);
    out.append(last);
    return new TextDecoder().decode(out.bytes());
  }

  /** \uXXXX at `i` (on the u). A surrogate pair written as two escapes is one character; a lone surrogate is U+FFFD (as Go). */
  unicodeEscape(): string {
    let code = this.hex4();
    const b = this.b;
    if (code >= 0xd800 && code < 0xdc00 && b[this.i] === 0x5c && b[this.i + 1] === 0x75) {
      const save = this.i;
      this.i++;
      const low = this.hex4();
      if (low >= 0xdc00 && low < 0xe000) code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      else this.i = save;
    }
    return code >= 0xd800 && code < 0xe000 ? "\uFFFD" : String.fromCodePoint(code);
  }

  hex4(): number {
    let code = 0;
    for (let k = 0; k < 4; k++) {
      this.i++;
      if (this.i >= this.b.length) this.eof();
      if (!isHex(this.b[this.i])) this.bad("in \\u hexadecimal character escape");
      code = code * 16 + parseInt(String.fromCharCode(this.b[this.i]!), 16);
    }
    this.i++;
    return code;
  }

  num(): GoValue {
    const b = this.b;
    const off = this.i;
    if (b[this.i] === 0x2d) {
      this.i++;
      if (this.i >= b.length) this.eof();
      if (!isDigit(b[this.i])) this.bad("in numeric literal");
    }
    if (b[this.i] === 0x30) this.i++;
    else while (isDigit(b[this.i])) this.i++;
    if (b[this.i] === 0x2e) {
      this.i++;
      if (this.i >= b.length) this.eof();
      if (!isDigit(b[this.i])) this.bad("after decimal point in numeric literal");
      while (isDigit(b[this.i])) this.i++;
    }
    if (b[this.i] === 0x65 || b[this.i] === 0x45) {
      this.i++;
      if (b[this.i] === 0x2b || b[this.i] === 0x2d) this.i++;
      if (this.i >= b.length) this.eof();
      if (!isDigit(b[this.i])) this.bad("in exponent of numeric literal");
      while (isDigit(b[this.i])) this.i++;
    }
    return { t: "number", raw: new TextDecoder().decode(b.subarray(off, this.i)), off };
  }
}

/** Whether anything but whitespace follows `end` (Go's Decoder.More at top level). */
export function hasMore(input: Uint8Array | string, end: number): boolean {
  const b = typeof input === "string" ? new TextEncoder().encode(input) : input;
  for (let k = end; k < b.length; k++) if (!isWs(b[k])) return true;
  return false;
}
