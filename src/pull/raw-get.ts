import { HeadReader, isHeaderField, parseHead } from "../registry/h1-parse";

/*
 * A blob GET on a raw HTTP/1.1 connection (Bun.connect), for the blob Workers (blob-worker.ts).
 * Bun's fetch body stream costs more CPU per 600 MiB than a socket's data callback (≈40–200 ms
 * on the two machines measured; ≈190 KiB chunks through a ReadableStream vs ≈505 KiB receives),
 * holds ≈10–30 MiB more memory, and drops chunks still queued when the peer cuts the link;
 * docs/performance.md, "Receive loop experiments" and "The raw receive loop". It answers only the one framing blobs come in: HTTP/1.x, a final status, one
 * decimal Content-Length, no Transfer-Encoding, the head parsed by the diagnosis's strict parser
 * (registry/h1-parse.ts). For anything else, and for any failure before the server could have
 * answered (a header fetch would refuse, connect, TLS), it resolves null and the caller sends the
 * same GET with fetch, so those outcomes are fetch's exactly as before.
 */

type Chunk = { done: false; value: Uint8Array } | { done: true; value?: undefined };

/** The part of fetch's Response that blob-worker.ts reads; a Response is one. */
export interface BlobResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly bodyUsed: boolean;
  readonly body: {
    getReader(): { read(): Promise<Chunk>; cancel(): Promise<void> };
    cancel(): Promise<void>;
  } | null;
}

/** A longer head goes to fetch (which takes one of 70 KB): registries send under 2 KB. */
const MAX_HEAD = 64 * 1024;
/** Received but unread bytes above which the socket pauses (TCP back-pressure, not this Worker's memory). */
const HIGH_WATER = 1024 * 1024;
/** fetch's words for a connection closed before the response ended (Bun 1.4.5), so a finding reads as before. */
const closed = () => Object.assign(new Error("ECONNRESET: The socket connection was closed unexpectedly."), { code: "ECONNRESET" });

/** PULLDOCTOR_PULL_RAW=0 keeps every blob body on fetch (for comparison). */
export function rawEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return env.PULLDOCTOR_PULL_RAW !== "0";
}

/** Direct http/https GETs only: through a proxy fetch does the CONNECT (request.ts sets `proxy: false` without one). */
export function rawEligible(url: string, init: BunFetchRequestInit): boolean {
  return !init.proxy && /^https?:\/\//.test(url) && (init.method ?? "GET") === "GET";
}

/** The GET on its own connection; null: send it with fetch instead. Rejects like fetch once the request is out. */
export function rawGet(
  url: string,
  headers: Record<string, string>,
  init: BunFetchRequestInit,
  signal: AbortSignal,
): Promise<BlobResponse | null> {
  if (!rawEligible(url, init)) return Promise.resolve(null);
  const u = new URL(url);
  const request = requestBytes(u, headers);
  if (!request) return Promise.resolve(null);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => new Conn(u, request, init, signal, resolve, reject).connect());
}

/** The request's bytes; null when a name is not a token or a value holds CR, LF, NUL or another control (written raw they could split the request; fetch refuses them its own way). */
function requestBytes(u: URL, given: Record<string, string>): Buffer | null {
  const fields = new Map<string, [string, string]>();
  const set = (k: string, v: string) => fields.set(k.toLowerCase(), [k, v]);
  set("Host", u.host);
  for (const [k, v] of Object.entries(given)) set(k, v);
  if (!fields.has("accept")) set("Accept", "*/*");
  if (!fields.has("user-agent")) set("User-Agent", navigator.userAgent);
  set("Connection", "close");
  let text = `GET ${u.pathname}${u.search} HTTP/1.1\r\n`;
  for (const [k, v] of fields.values()) {
    if (!isHeaderField(k, v)) return null;
    text += `${k}: ${v}\r\n`;
  }
  return Buffer.from(`${text}\r\n`, "latin1");
}

/** One connection: connect, write the request, read the head, then hand the body to one reader. */
class Conn {
  private state: "connecting" | "head" | "body" | "over" = "connecting";
  private sock: Bun.Socket | null = null;
  private out: Buffer;
  private readonly heads = new HeadReader();
  private headBytes = 0;
  private body: Body | null = null;
  /** An unverified handshake (insecure): if it closes before any answer, fetch tries and words why. */
  private tlsDoubt = false;
  private readonly onAbort = () => this.stop(this.signal.reason ?? new Error("aborted"));

  constructor(
    private readonly u: URL,
    request: Buffer,
    private readonly init: BunFetchRequestInit,
    private readonly signal: AbortSignal,
    private readonly resolve: (r: BlobResponse | null) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.out = request;
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  connect(): void {
    const secure = this.u.protocol === "https:";
    const t = this.init.tls;
    const verify = t?.rejectUnauthorized !== false;
    Bun.connect({
      hostname: this.u.hostname.replace(/^\[|\]$/g, ""),
      port: Number(this.u.port || (secure ? 443 : 80)),
      ...(secure ? { tls: { serverName: t?.serverName, ca: t?.ca, cert: t?.cert, key: t?.key, rejectUnauthorized: verify } } : {}),
      socket: {
        // Bun.connect opens before the TLS handshake; a write then is lost (Bun 1.4.5), so TLS writes in `handshake`.
        open: (s) => {
          this.sock = s;
          if (!secure) this.ready(s);
        },
        // A refused certificate: nothing was sent; fetch tries and words the refusal as before.
        // --insecure-registry: an unverified certificate is accepted (ok is false then, as fetch accepts it).
        handshake: (s, ok, err) => {
          this.tlsDoubt = !ok;
          if ((ok && !err) || !verify) this.ready(s);
          else this.stop(null);
        },
        drain: (s) => this.flush(s),
        data: (_s, d) => (this.state === "body" ? this.body?.push(d) : this.state === "head" ? this.onHead(d) : undefined),
        close: () => this.stop(closed()),
        error: () => this.stop(closed()),
        connectError: () => this.stop(null),
      },
    }).catch(() => this.stop(null));
  }

  private ready(s: Bun.Socket): void {
    if (this.state !== "connecting") return void s.terminate();
    this.state = "head";
    this.flush(s);
  }

  private flush(s: Bun.Socket): void {
    if (this.state === "head" && this.out.length) this.out = this.out.subarray(Math.max(0, s.write(this.out)));
  }

  private onHead(chunk: Buffer): void {
    this.headBytes += chunk.length;
    let got: { head: Buffer; rest: Buffer } | null;
    try {
      got = this.heads.push(chunk);
    } catch {
      got = null;
    }
    if (!got && this.headBytes <= MAX_HEAD) return;
    const parsed = (() => {
      if (!got || got.head.length > MAX_HEAD) return null;
      try {
        return parseHead(got.head, "GET");
      } catch {
        return null;
      }
    })();
    if (!parsed || parsed.status < 200 || parsed.framing.kind !== "length") {
      this.stop(null);
      return;
    }
    const rest = got!.rest;
    this.state = "body";
    this.body = new Body(parsed.framing.bytes, this.sock!, (e) => this.stop(e));
    this.resolve(this.body.response(parsed.status, parsed.statusText, parsed.headers));
    if (rest.length) this.body.push(rest);
    this.body.start();
  }

  /** The end of this connection: null before the head means "use fetch"; an error fails the open or the body. */
  stop(e: Error | null): void {
    const was = this.state;
    if (was === "over") return;
    this.state = "over";
    this.signal.removeEventListener("abort", this.onAbort);
    this.sock?.terminate();
    if (was === "body") this.body?.end(e);
    else if (this.signal.aborted) this.reject(this.signal.reason);
    else if (e && was === "head" && !(this.tlsDoubt && !this.headBytes)) this.reject(e);
    else this.resolve(null);
  }
}

/** The body's bytes as a reader, in order, each received chunk as Bun gave it (no copy). */
class Body {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private received = 0;
  private outcome: Error | null | undefined;
  private waiting: { ok: (r: Chunk) => void; err: (e: Error) => void } | null = null;
  private paused = false;

  constructor(
    private readonly length: number,
    private readonly sock: Bun.Socket,
    private readonly stop: (e: Error | null) => void,
  ) {}

  /** After the head: nothing read yet, so the rest waits in the kernel until a reader asks. */
  start(): void {
    if (this.received === this.length) this.stop(null);
    else if (!this.waiting) this.pause(true);
  }

  push(d: Uint8Array): void {
    // Bytes past Content-Length are not this response (the connection closes after it).
    const b = d.length > this.length - this.received ? d.subarray(0, this.length - this.received) : d;
    this.received += b.length;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.ok({ done: false, value: b });
    } else {
      this.queue.push(b);
      this.queued += b.length;
      if (this.queued >= HIGH_WATER) this.pause(true);
    }
    if (this.received === this.length) this.stop(null);
  }

  /** The connection ended: null once Content-Length bytes arrived, else why. Queued bytes are still read first. */
  end(e: Error | null): void {
    if (this.outcome !== undefined) return;
    this.outcome = this.received === this.length ? null : (e ?? closed());
    const w = this.waiting;
    this.waiting = null;
    if (w && this.outcome) w.err(this.outcome);
    else w?.ok({ done: true, value: undefined });
  }

  read(): Promise<Chunk> {
    const b = this.queue.shift();
    if (b) {
      this.queued -= b.length;
      if (!this.queue.length) this.pause(false);
      return Promise.resolve({ done: false, value: b });
    }
    if (this.outcome !== undefined) return this.outcome ? Promise.reject(this.outcome) : Promise.resolve({ done: true, value: undefined });
    this.pause(false);
    return new Promise((ok, err) => {
      this.waiting = { ok, err };
    });
  }

  cancel(): Promise<void> {
    this.stop(new Error("cancelled"));
    return Promise.resolve();
  }

  private pause(on: boolean): void {
    if (on === this.paused || this.outcome !== undefined) return;
    this.paused = on;
    if (on) this.sock.pause();
    else this.sock.resume();
  }

  response(status: number, statusText: string, fields: Record<string, string | string[]>): BlobResponse {
    const headers = new Headers();
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
    const reader = { read: () => this.read(), cancel: () => this.cancel() };
    const flag = { used: false };
    return {
      status,
      statusText,
      headers,
      get bodyUsed() {
        return flag.used;
      },
      body: {
        getReader: () => {
          flag.used = true;
          return reader;
        },
        cancel: () => this.cancel(),
      },
    };
  }
}
