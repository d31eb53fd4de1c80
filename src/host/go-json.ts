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

/** A byte buffer that doubles as it fills (for decoded strings and base64). */
export class ByteSink {
  private buf = new Uint8Array(64);
  private len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(byte: number): void {
    this.room(1);
    this.buf[this.len++] = byte;
  }
  append(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

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
  const b = typeof input === "string" ? new TextEncoder().encode(input) : input;
  let i = 0;
  let depth = 0;
  const fail = (msg: string, at: number): never => {
    throw new GoJsonError(msg, b, at);
  };
  const eof = (): never => fail("unexpected EOF", b.length);
  const bad = (ctx: string): never => fail(`invalid character ${goQuoteChar(b[i]!)} ${ctx}`, i);
  const skipWs = () => {
    while (isWs(b[i])) i++;
  };
  const literal = (word: string, v: GoValue): GoValue => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= b.length) eof();
      if (b[i] !== word.charCodeAt(k)) bad(`in literal ${word} (expecting ${goQuoteChar(word.charCodeAt(k))})`);
    }
    i++;
    return v;
  };
  const str = (): string => {
    i++;
    // Plain runs are copied in one go, escapes byte by byte, into one growing buffer: a
    // per-byte JS array made a 16 MiB string cost gigabytes.
    let out: ByteSink | null = null;
    let run = i;
    for (;;) {
      if (i >= b.length) eof();
      const c = b[i]!;
      if (c === 0x22) break;
      if (c < 0x20) bad("in string literal");
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out ??= new ByteSink();
      out.append(b.subarray(run, i));
      i++;
      if (i >= b.length) eof();
      const e = b[i]!;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out.push(simple);
        i++;
        run = i;
        continue;
      }
      if (e !== 0x75) bad("in string escape code");
      const hex4 = (): number => {
        let code = 0;
        for (let k = 0; k < 4; k++) {
          i++;
          if (i >= b.length) eof();
          if (!isHex(b[i])) bad("in \\u hexadecimal character escape");
          code = code * 16 + parseInt(String.fromCharCode(b[i]!), 16);
        }
        i++;
        return code;
      };
      let code = hex4();
      // A surrogate pair written as two escapes is one character; a lone surrogate is U+FFFD (as Go).
      if (code >= 0xd800 && code < 0xdc00 && b[i] === 0x5c && b[i + 1] === 0x75) {
        const save = i;
        i++;
        const low = hex4();
        if (low >= 0xdc00 && low < 0xe000) code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        else i = save;
      }
      out.append(utf8.encode(code >= 0xd800 && code < 0xe000 ? "\uFFFD" : String.fromCodePoint(code)));
      run = i;
    }
    const last = b.subarray(run, i);
    i++;
    if (out === null) return new TextDecoder().decode(last);
    out.append(last);
    return new TextDecoder().decode(out.bytes());
  };
  const num = (): GoValue => {
    const off = i;
    if (b[i] === 0x2d) {
      i++;
      if (i >= b.length) eof();
      if (!isDigit(b[i])) bad("in numeric literal");
    }
    if (b[i] === 0x30) i++;
    else while (isDigit(b[i])) i++;
    if (b[i] === 0x2e) {
      i++;
      if (i >= b.length) eof();
      if (!isDigit(b[i])) bad("after decimal point in numeric literal");
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (i >= b.length) eof();
      if (!isDigit(b[i])) bad("in exponent of numeric literal");
      while (isDigit(b[i])) i++;
    }
    return { t: "number", raw: new TextDecoder().decode(b.subarray(off, i)), off };
  };
  const value = (): GoValue => {
    skipWs();
    if (i >= b.length) eof();
    const off = i;
    const c = b[i]!;
    if ((c === 0x7b || c === 0x5b) && ++depth > MAX_NESTING_DEPTH) bad("exceeded max depth");
    if (c === 0x7b) {
      i++;
      const entries: [string, GoValue][] = [];
      skipWs();
      if (i >= b.length) eof();
      if (b[i] === 0x7d) {
        i++;
        depth--;
        return { t: "object", entries, off };
      }
      for (;;) {
        skipWs();
        if (i >= b.length) eof();
        if (b[i] !== 0x22) bad("looking for beginning of object key string");
        const key = str();
        skipWs();
        if (i >= b.length) eof();
        if (b[i] !== 0x3a) bad("after object key");
        i++;
        entries.push([key, value()]);
        skipWs();
        if (i >= b.length) eof();
        if (b[i] === 0x2c) {
          i++;
          continue;
        }
        if (b[i] === 0x7d) {
          i++;
          depth--;
          return { t: "object", entries, off };
        }
        bad("after object key:value pair");
      }
    }
    if (c === 0x5b) {
      i++;
      const items: GoValue[] = [];
      skipWs();
      if (i >= b.length) eof();
      if (b[i] === 0x5d) {
        i++;
        depth--;
        return { t: "array", items, off };
      }
      for (;;) {
        items.push(value());
        skipWs();
        if (i >= b.length) eof();
        if (b[i] === 0x2c) {
          i++;
          continue;
        }
        if (b[i] === 0x5d) {
          i++;
          depth--;
          return { t: "array", items, off };
        }
        bad("after array element");
      }
    }
    if (c === 0x22) return { t: "string", v: str(), off };
    if (c === 0x2d || isDigit(c)) return num();
    if (c === 0x74) return literal("true", { t: "bool", v: true, off });
    if (c === 0x66) return literal("false", { t: "bool", v: false, off });
    if (c === 0x6e) return literal("null", { t: "null", off });
    return bad("looking for beginning of value");
  };
  skipWs();
  if (i >= b.length) return { value: null, end: i, error: null };
  try {
    const v = value();
    return { value: v, end: i, error: null };
  } catch (e) {
    if (e instanceof GoJsonError) return { value: null, end: i, error: e };
    throw e;
  }
}

/** Whether anything but whitespace follows `end` (Go's Decoder.More at top level). */
export function hasMore(input: Uint8Array | string, end: number): boolean {
  const b = typeof input === "string" ? new TextEncoder().encode(input) : input;
  for (let k = end; k < b.length; k++) if (!isWs(b[k])) return true;
  return false;
}
