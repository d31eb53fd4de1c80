import type { Wire } from "../net/bun-wire";
import { ChunkedDecoder, type Framing, type Head, HeadReader, isHeaderField, parseHead } from "./h1-parse";

/*
 * The diagnosis's HTTP/1.1 client, direct or through an http(s):// proxy (http.ts picks it; only
 * a SOCKS route keeps undici's ProxyAgent). It exists for start-up time: evaluating undici and compiling its
 * llhttp WebAssembly cost ≈ 20 ms of every `check` (docs/performance.md, "A lean HTTP client").
 * Sockets come from the caller's connector (the addresses the dns stage resolved, TLS as the
 * transport policy says); this module frames requests and answers and keeps sockets alive
 * between them, as Go's transport does. Errors carry the codes undici used, so
 * http-errors.ts classifies them as before.
 */

export interface H1Request {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal: AbortSignal;
  /** From the request to the end of the head (undici's headersTimeout). */
  headersTimeout?: number;
  /** No body byte for this long (undici's bodyTimeout). */
  bodyTimeout?: number;
}

export interface H1Response {
  statusCode: number;
  statusText: string;
  headers: Record<string, string | string[]>;
  body: H1Body;
}

const KEEP_ALIVE_MS = 4_000;
const BACKSTOP_MS = 1_000;
/** Bytes a body may hold unread before the socket is paused (the kernel's buffers then hold the rest). */
const HIGH_WATER = 256 * 1024;

export const socketError = (message: string) => Object.assign(new Error(message), { code: "UND_ERR_SOCKET", name: "SocketError" });
export const abortError = (signal: AbortSignal) =>
  signal.reason instanceof Error ? signal.reason : Object.assign(new Error("This operation was aborted"), { name: "AbortError" });

/** A response body: an async iterable of chunks that pauses the socket while nobody reads. */
export class H1Body implements AsyncIterable<Uint8Array> {
  #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  constructor(
    private readonly socket: Wire,
    private readonly onDestroy: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (!chunk.length) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued > HIGH_WATER) this.socket.pause();
    this.#notify();
  }
  end(): void {
    this.#ended = true;
    this.#notify();
  }
  fail(err: Error): void {
    if (this.#ended) return;
    this.#error ??= err;
    this.#notify();
  }
  /** Stop reading: the rest is not wanted, so the connection cannot carry another request. */
  destroy(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue = [];
    this.onDestroy();
    this.#notify();
  }
  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
  async #next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk) {
        this.#queued -= chunk.length;
        if (this.#queued <= HIGH_WATER && this.socket.isPaused()) this.socket.resume();
        return { done: false, value: chunk };
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
      return: async () => {
        this.destroy();
        return { done: true, value: undefined };
      },
    };
  }
}

/** One socket and the exchange it carries, if any (h1-pool.ts keeps them). */
export class Conn {
  busy = false;
  dead = false;
  #idle: ReturnType<typeof setTimeout> | null = null;
  #onData: ((chunk: Buffer) => void) | null = null;
  /** The socket ended (fatal: with an error rather than the peer's close). */
  #onGone: ((err: Error, fatal: boolean) => void) | null = null;

  constructor(
    readonly socket: Wire,
    private readonly release: (c: Conn) => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => (this.#onData ? this.#onData(chunk) : this.#stray()));
    socket.on("error", (err) => this.#gone(err, true));
    socket.on("end", () => this.#gone(socketError("other side closed"), false));
    socket.on("close", () => this.#gone(socketError("other side closed"), false));
  }

  /** Bytes while idle: no answer is owed, so the server is not speaking HTTP with us. Not reusable. */
  #stray(): void {
    this.kill();
  }
  #gone(err: Error, fatal: boolean): void {
    this.dead = true;
    const g = this.#onGone;
    this.#onGone = null;
    this.#onData = null;
    g?.(err, fatal);
    if (!this.busy) this.release(this);
  }
  kill(): void {
    this.dead = true;
    if (this.#idle) clearTimeout(this.#idle);
    this.socket.destroy();
  }

  /** Send the request and resolve with its head; the body then streams into the response's H1Body. */
  exchange(req: H1Request, host: string): Promise<H1Response> {
    this.busy = true;
    if (this.#idle) clearTimeout(this.#idle);
    this.socket.ref();
    return new Promise<H1Response>((resolve, reject) => {
      let body: H1Body | null = null;
      let done = false;
      const finish = (err: Error | null) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        req.signal.removeEventListener("abort", onAbort);
        this.#onData = null;
        this.#onGone = null;
        if (err) {
          this.kill();
          if (body) body.fail(err);
          else reject(err);
        } else body?.end();
        this.busy = false;
        this.release(this);
      };
      const onAbort = () => finish(abortError(req.signal));
      // undici's two inactivity timers, with its codes: the head must come within headersTimeout,
      // and no gap in the body may last bodyTimeout. They are backstops: the request's own
      // deadline (http.ts) and a reader's own (the blob probe's "stalled") decide first, as they
      // did with undici, whose timers of 1 s or more tick every 500 ms and fire up to 1 s late
      // (lib/util/timers.js); so these fire BACKSTOP_MS late too.
      let timer: ReturnType<typeof setTimeout> | null = null;
      const arm = (ms: number | undefined, code: string, message: string) => {
        if (timer) clearTimeout(timer);
        timer = ms ? setTimeout(() => finish(Object.assign(new Error(message), { code })), ms + BACKSTOP_MS) : null;
      };
      const bodyTimer = () => arm(req.bodyTimeout, "UND_ERR_BODY_TIMEOUT", "Body Timeout Error");
      arm(req.headersTimeout, "UND_ERR_HEADERS_TIMEOUT", "Headers Timeout Error");
      if (req.signal.aborted) return finish(abortError(req.signal));
      req.signal.addEventListener("abort", onAbort, { once: true });
      this.#onGone = (err) => finish(err);
      let framing: Framing | null = null;
      let left = 0;
      let chunked: ChunkedDecoder | null = null;
      let keepAlive = false;
      let reader = new HeadReader();
      const complete = (rest: Buffer) => {
        if (!keepAlive || rest.length) this.kill();
        finish(null);
      };
      const onBody = (chunk: Buffer) => {
        bodyTimer();
        if (framing?.kind === "length") {
          const take = chunk.subarray(0, left);
          left -= take.length;
          body!.push(take);
          if (left === 0) complete(chunk.subarray(take.length));
        } else if (framing?.kind === "chunked") {
          const r = chunked!.push(chunk);
          for (const d of r.data) body!.push(d);
          if (r.done) complete(r.rest);
        } else body!.push(chunk);
      };
      this.#onData = (chunk) => {
        try {
          if (framing) return onBody(chunk);
          const got = reader.push(chunk);
          if (!got) return;
          const head = parseHead(got.head, req.method);
          const rest = got.rest;
          // 1xx answers (100 Continue) precede the real one.
          if (head.status < 200) {
            reader = new HeadReader();
            return this.#onData?.(rest);
          }
          ({ framing, keepAlive } = head);
          left = framing.kind === "length" ? framing.bytes : 0;
          if (framing.kind === "chunked") chunked = new ChunkedDecoder();
          body = new H1Body(this.socket, () => finish(socketError("body not read to its end")));
          bodyTimer();
          resolve(response(head, body));
          if (framing.kind === "none" || (framing.kind === "length" && left === 0)) return complete(rest);
          // A body that ends with the connection: the 'end' is its end, not an error.
          if (framing.kind === "close") this.#onGone = (err, fatal) => finish(fatal ? err : null);
          if (rest.length) onBody(rest);
        } catch (e) {
          finish(e as Error);
        }
      };
      try {
        this.socket.write(requestBytes(req, host));
      } catch (e) {
        finish(e as Error);
      }
    });
  }

  /** Back in the pool: unref'd so an idle socket never holds the process open, closed after a while. */
  idle(onExpire: () => void): void {
    this.socket.unref();
    this.#idle = setTimeout(onExpire, KEEP_ALIVE_MS);
    this.#idle.unref?.();
  }
}

function response(head: Head, body: H1Body): H1Response {
  return { statusCode: head.status, statusText: head.statusText, headers: head.headers, body };
}

/** A header value that could end the line would let a hostile value (a token) add headers: refused, as undici refuses it. */
function checkedValue(name: string, value: string): string {
  if (!isHeaderField(name, value))
    throw Object.assign(new Error(`invalid ${name} header`), { code: "UND_ERR_INVALID_ARG", name: "InvalidArgumentError" });
  return value;
}

function requestBytes(req: H1Request, host: string): Buffer {
  const body = req.body === undefined ? null : typeof req.body === "string" ? Buffer.from(req.body) : Buffer.from(req.body);
  let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
  if (!("host" in req.headers)) head += `host: ${host}\r\n`;
  for (const [k, v] of Object.entries(req.headers)) head += `${k}: ${checkedValue(k, v)}\r\n`;
  if (body) head += `content-length: ${body.length}\r\n`;
  const bytes = Buffer.from(`${head}\r\n`, "latin1");
  return body ? Buffer.concat([bytes, body]) : bytes;
}
