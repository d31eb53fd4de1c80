import net from "node:net";
import tls from "node:tls";
import { parseHeaderLines } from "../net/header-lines";

/**
 * A minimal HTTP/1.1 server on a raw socket. The lab writes responses byte by byte
 * because its faults live below HTTP: a body cut after N bytes with the socket closed,
 * a body that stops mid-way and never ends, a connection reset. A framework server
 * would finish or reframe those; here the client sees exactly what a broken registry,
 * proxy or CDN would send.
 */
export interface WireRequest {
  method: string;
  /** Path without the query string, percent-decoded. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names; repeated headers joined with ", " (as Go and undici read them). */
  headers: Record<string, string>;
  body: Uint8Array;
  remoteAddress: string;
}

/** A Uint8Array value is written byte for byte (e.g. invalid UTF-8 a hostile server sends). */
export type Headers = Record<string, string | number | Uint8Array>;

export interface WireResponse {
  /** A whole response. For HEAD the body is omitted but Content-Length still describes it. */
  send(status: number, headers: Headers, body?: Uint8Array | string): void;
  /**
   * Headers announcing the whole body, then only `afterBytes` of it; then `close` ends the
   * socket (a truncated transfer), `reset` destroys it, `stall` keeps it open and silent.
   */
  sendCut(status: number, headers: Headers, body: Uint8Array, afterBytes: number, mode: "close" | "reset" | "stall"): void;
  /** The whole body, written in slices at about `bytesPerSecond` (a slow CDN or link). */
  sendPaced(status: number, headers: Headers, body: Uint8Array, bytesPerSecond: number): void;
  /**
   * Bytes the handler framed itself (a head that lies about Content-Length, a body longer
   * than announced), written at once or dripped at `bytesPerSecond` (head included); then
   * `close` ends the socket, `stall` keeps it open and silent, `keep-alive` reads the next request.
   */
  sendRaw(bytes: Uint8Array, after: "close" | "stall" | "keep-alive", bytesPerSecond?: number): void;
}

export type Handler = (req: WireRequest, res: WireResponse) => void | Promise<void>;

const REASONS: Record<number, string> = {
  200: "OK",
  206: "Partial Content",
  302: "Found",
  307: "Temporary Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  416: "Range Not Satisfiable",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const enc = new TextEncoder();
const HEAD_LIMIT = 64 * 1024;

function bytesOf(b: Uint8Array | string | undefined): Uint8Array {
  if (b === undefined) return new Uint8Array(0);
  return typeof b === "string" ? enc.encode(b) : b;
}

/** The response head; exported so a handler can frame a lying response for sendRaw. */
export function headBytes(status: number, headers: Headers, length: number, close: boolean): Uint8Array {
  const all: Headers = { "Content-Length": length, ...headers, Date: new Date().toUTCString() };
  if (close) all.Connection = "close";
  const parts: Uint8Array[] = [enc.encode(`HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n`)];
  for (const [k, v] of Object.entries(all)) {
    parts.push(enc.encode(`${k}: `), v instanceof Uint8Array ? v : enc.encode(String(v)), enc.encode("\r\n"));
  }
  parts.push(enc.encode("\r\n"));
  return Buffer.concat(parts);
}

function parseHead(text: string, remoteAddress: string): Omit<WireRequest, "body"> | null {
  const [first, ...rest] = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(first ?? "");
  if (!m) return null;
  const headers = parseHeaderLines(rest);
  const url = new URL(m[2]!, "http://lab.invalid");
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    /* keep the raw path: the router answers 404 */
  }
  return { method: m[1]!, path, query: url.searchParams, headers, remoteAddress };
}

export interface WireServer {
  port: number;
  close(): Promise<void>;
}

/** How the response to one request may go out on the connection, faithfully or broken as a fault asks. */
function responder(
  socket: net.Socket,
  c: { method: string; closeAfter: boolean; tls: boolean; closed: () => boolean; done: (keepOpen: boolean) => void },
): WireResponse {
  return {
    send(status, headers, b) {
      const bytes = bytesOf(b);
      socket.write(headBytes(status, headers, bytes.length, c.closeAfter));
      if (c.method !== "HEAD" && bytes.length > 0) socket.write(bytes);
      c.done(!c.closeAfter);
    },
    sendCut(status, headers, b, afterBytes, mode) {
      socket.write(headBytes(status, headers, b.length, false));
      const part = b.subarray(0, Math.max(0, Math.min(afterBytes, b.length)));
      if (part.length > 0) socket.write(part);
      if (mode === "close") socket.end();
      else if (mode === "reset")
        socket.write(new Uint8Array(0), () =>
          typeof socket.resetAndDestroy === "function" && !c.tls ? socket.resetAndDestroy() : socket.destroy(),
        );
      // A stall stays open and silent even when the client asked for Connection: close.
      if (mode !== "stall") c.done(false);
    },
    sendPaced(status, headers, b, bytesPerSecond) {
      socket.write(headBytes(status, headers, b.length, c.closeAfter));
      const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
      let off = 0;
      const tick = () => {
        if (c.closed()) return c.done(false);
        if (off >= b.length) return c.done(!c.closeAfter);
        socket.write(b.subarray(off, off + slice));
        off += slice;
        setTimeout(tick, 100);
      };
      tick();
    },
    sendRaw(bytes, after, bytesPerSecond) {
      const finish = () => {
        if (after === "close") {
          socket.end();
          c.done(false);
        } else if (after !== "stall") c.done(!c.closeAfter);
      };
      if (!bytesPerSecond) {
        socket.write(bytes);
        return finish();
      }
      const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
      const every = bytesPerSecond < 10 ? Math.round(1000 / bytesPerSecond) : 100;
      let off = 0;
      const tick = () => {
        if (c.closed()) return c.done(false);
        if (off >= bytes.length) return finish();
        socket.write(bytes.subarray(off, off + slice));
        off += slice;
        setTimeout(tick, every);
      };
      tick();
    },
  };
}

/**
 * Listens on host:port (0 = any free port); one request at a time per connection,
 * keep-alive. With `tlsOptions` the listener speaks HTTPS only.
 */
export function startWire(host: string, port: number, handler: Handler, tlsOptions?: { key: string; cert: string }): Promise<WireServer> {
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let busy = false;
    let closed = false;
    socket.on("close", () => (closed = true));

    const pump = async (): Promise<void> => {
      if (busy || closed) return;
      // Not HTTP (a TLS ClientHello starts with 0x16): answer as Go's net/http does, a
      // plain 400, which a TLS client reports as "server gave HTTP response to HTTPS client".
      if (!tlsOptions && buf.length > 0 && (buf[0]! < 0x41 || buf[0]! > 0x5a)) {
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request");
        closed = true;
        return;
      }
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > HEAD_LIMIT) socket.destroy();
        return;
      }
      const head = parseHead(buf.subarray(0, end).toString("latin1"), socket.remoteAddress ?? "");
      if (!head) return void socket.destroy();
      const len = Number(head.headers["content-length"] ?? 0);
      if (buf.length < end + 4 + len) return;
      const body = new Uint8Array(buf.subarray(end + 4, end + 4 + len));
      buf = buf.subarray(end + 4 + len);
      busy = true;
      const closeAfter = head.headers.connection?.toLowerCase() === "close";
      let done!: (keepOpen: boolean) => void;
      const finished = new Promise<boolean>((r) => (done = r));
      const res = responder(socket, {
        method: head.method,
        closeAfter,
        tls: tlsOptions !== undefined,
        closed: () => closed,
        done: (keepOpen) => done(keepOpen),
      });
      try {
        await handler({ ...head, body }, res);
      } catch (err) {
        res.send(500, { "Content-Type": "text/plain" }, `lab handler error: ${String(err)}`);
      }
      const keepOpen = await finished;
      busy = false;
      if (!keepOpen) {
        if (closeAfter) socket.end();
        return;
      }
      await pump();
    };

    socket.on("data", (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      void pump();
    });
  };
  const server = tlsOptions ? tls.createServer({ key: tlsOptions.key, cert: tlsOptions.cert }, onSocket) : net.createServer(onSocket);
  // A plain-HTTP or broken client on the TLS port: its problem, not the lab's.
  server.on("tlsClientError", () => {});
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const actual = typeof addr === "object" && addr ? addr.port : port;
      resolve({
        port: actual,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/**
 * The distribution spec's paginated tags/list ("Listing Tags"): `n` tags after `last`, and a
 * `Link: <…?last=…&n=…>; rel="next"` header while more remain (distribution v3 answers so;
 * Debian's docker-registry 2.8 ignores `n` and sends every tag in one page).
 */
export function tagsPage(sorted: string[], query: URLSearchParams, path: string): { tags: string[]; headers: Record<string, string> } {
  const last = query.get("last");
  const after = last === null ? sorted : sorted.filter((t) => t > last);
  const n = Number(query.get("n"));
  if (!query.has("n") || !Number.isInteger(n) || n <= 0 || after.length <= n) return { tags: after, headers: {} };
  const tags = after.slice(0, n);
  const next = `${path}?last=${encodeURIComponent(tags[tags.length - 1]!)}&n=${n}`;
  return { tags, headers: { Link: `<${next}>; rel="next"` } };
}
