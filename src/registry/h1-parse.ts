import { MAX_RESPONSE_HEADER_BYTES } from "./http-errors";

/*
 * HTTP/1.1 response framing for the diagnosis's client (h1-client.ts), as strict as undici's
 * llhttp was before it (RFC 9112): a head that breaks the grammar is an error with llhttp's
 * code (HPE_*), so http-errors.ts classifies it exactly as it did. Pure functions on bytes.
 */

/** A framing error, coded as undici coded it (HPE_* from llhttp, UND_ERR_* for its own limits). */
export class H1Error extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "H1Error";
  }
}

/** How a response's body ends (RFC 9112 §6.3). */
export type Framing = { kind: "none" } | { kind: "length"; bytes: number } | { kind: "chunked" } | { kind: "close" };

export interface Head {
  status: number;
  statusText: string;
  /** Lower-case names; a repeated header becomes an array, each value as its bytes (latin1), as undici gave them. */
  headers: Record<string, string | string[]>;
  framing: Framing;
  /** The connection may carry another request after this answer. */
  keepAlive: boolean;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** tchar (RFC 9110 §5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** field-value bytes: HTAB, SP, VCHAR, obs-text; llhttp refuses other controls (an ESC, a NUL, a bare CR). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A header line HTTP allows, in either direction: a token name and a value of field-value bytes.
 * Requests are checked with it too (h1-client.ts, pull/raw-get.ts): written raw, a CR or LF in a
 * value (a hostile token) would end the line and add headers of its own.
 */
export function isHeaderField(name: string, value: string): boolean {
  return TOKEN.test(name) && FIELD_VALUE.test(value);
}
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

/**
 * Collects a head as it arrives, without copying what came before on every arrival (a hostile
 * server could drip a 1 MiB head a byte at a time): the blank line is looked for in the new
 * bytes plus the three before them, and the parts are joined once, when it is found. Past the
 * limit without one, the head is refused as undici refused it.
 */
export class HeadReader {
  #parts: Buffer[] = [];
  #length = 0;
  #tail: Buffer = Buffer.alloc(0);

  /** The whole head (blank line included) and what followed it, once complete; null before. */
  push(chunk: Buffer): { head: Buffer; rest: Buffer } | null {
    const window = this.#tail.length ? Buffer.concat([this.#tail, chunk]) : chunk;
    const at = window.indexOf(CRLFCRLF);
    const before = this.#length - this.#tail.length;
    this.#parts.push(chunk);
    this.#length += chunk.length;
    if (at < 0) {
      if (this.#length > MAX_RESPONSE_HEADER_BYTES) throw overflow();
      this.#tail = window.subarray(Math.max(0, window.length - 3));
      return null;
    }
    const end = before + at + 4;
    if (end > MAX_RESPONSE_HEADER_BYTES) throw overflow();
    const all = this.#parts.length === 1 ? chunk : Buffer.concat(this.#parts, this.#length);
    this.#parts = [];
    this.#length = 0;
    this.#tail = Buffer.alloc(0);
    return { head: all.subarray(0, end), rest: all.subarray(end) };
  }
}

const overflow = () => new H1Error("Headers Overflow Error", "UND_ERR_HEADERS_OVERFLOW");

/** The head (status line and header lines, blank line included) of an answer to `method`. */
export function parseHead(head: Buffer, method: string): Head {
  const lines = head.toString("latin1", 0, head.length - 4).split("\r\n");
  const status = STATUS_LINE.exec(lines[0] ?? "");
  if (!status)
    throw new H1Error(`Invalid status line`, (lines[0] ?? "").startsWith("HTTP/") ? "HPE_INVALID_STATUS" : "HPE_INVALID_CONSTANT");
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    // A line starting with whitespace is obs-fold, which llhttp refuses too.
    if (!TOKEN.test(name)) throw new H1Error("Invalid header token", "HPE_INVALID_HEADER_TOKEN");
    const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, "");
    if (!FIELD_VALUE.test(value)) throw new H1Error("Invalid header value char", "HPE_INVALID_HEADER_TOKEN");
    const key = name.toLowerCase();
    const had = headers[key];
    headers[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  const code = Number(status[2]);
  const http10 = status[1] === "0";
  const connection = list(headers.connection);
  return {
    status: code,
    statusText: status[3] ?? "",
    headers,
    framing: framingOf(code, method, headers),
    keepAlive: connection.includes("close") ? false : !http10 || connection.includes("keep-alive"),
  };
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v.join(",") : v)
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

function framingOf(status: number, method: string, headers: Head["headers"]): Framing {
  if (method === "HEAD" || status === 204 || status === 304 || status < 200) return { kind: "none" };
  const te = list(headers["transfer-encoding"]);
  const cl = headers["content-length"];
  if (te.length) {
    // A message with both is how request smuggling starts; llhttp refuses it unless lenient.
    if (cl !== undefined) throw new H1Error("Content-Length can't be present with Transfer-Encoding", "HPE_UNEXPECTED_CONTENT_LENGTH");
    return te[te.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "close" };
  }
  if (cl === undefined) return { kind: "close" };
  if (Array.isArray(cl)) throw new H1Error("Duplicate Content-Length", "HPE_UNEXPECTED_CONTENT_LENGTH");
  if (!/^\d{1,15}$/.test(cl)) throw new H1Error("Invalid character in Content-Length", "HPE_INVALID_CONTENT_LENGTH");
  return { kind: "length", bytes: Number(cl) };
}

/**
 * Chunked transfer coding, fed as bytes arrive. `push` returns the data bytes in what it was
 * given and, once the last chunk and the trailers have passed, `done` and whatever followed.
 */
export class ChunkedDecoder {
  #state: "size" | "data" | "data-crlf" | "trailers" = "size";
  #left = 0;
  #line = "";

  push(buf: Buffer): { data: Buffer[]; done: boolean; rest: Buffer } {
    const data: Buffer[] = [];
    let i = 0;
    while (i < buf.length) {
      if (this.#state === "data") {
        const n = Math.min(this.#left, buf.length - i);
        data.push(buf.subarray(i, i + n));
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = "data-crlf";
        continue;
      }
      const nl = buf.indexOf(10, i);
      const end = nl < 0 ? buf.length : nl + 1;
      this.#line += buf.toString("latin1", i, end);
      i = end;
      if (this.#line.length > 16 * 1024) throw new H1Error("Chunk line too long", "HPE_INVALID_CHUNK_SIZE");
      if (nl < 0) break;
      const line = this.#line;
      this.#line = "";
      if (!line.endsWith("\r\n")) throw new H1Error("Expected CRLF", "HPE_CR_EXPECTED");
      if (this.#step(line.slice(0, -2))) return { data, done: true, rest: buf.subarray(i) };
    }
    return { data, done: false, rest: Buffer.alloc(0) };
  }

  /** One line outside a chunk's data; true when the message has ended. */
  #step(line: string): boolean {
    if (this.#state === "data-crlf") {
      if (line !== "") throw new H1Error("Expected CRLF after chunk", "HPE_STRICT");
      this.#state = "size";
      return false;
    }
    if (this.#state === "trailers") return line === "";
    const size = /^([0-9A-Fa-f]{1,12})(?:[\t ]*;.*)?$/.exec(line);
    if (!size) throw new H1Error("Invalid character in chunk size", "HPE_INVALID_CHUNK_SIZE");
    this.#left = Number.parseInt(size[1]!, 16);
    this.#state = this.#left === 0 ? "trailers" : "data";
    return false;
  }
}
