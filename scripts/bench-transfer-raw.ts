/**
 * The raw HTTP/1.1 receive loops of scripts/bench-transfer.ts (candidates C, D and the
 * decomposition runs P0–P2): a GET written by hand on a Bun.connect or node:net/node:tls
 * socket, the head parsed once, then each received chunk written and hashed in the
 * socket's data callback.
 */
import { closeSync, openSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { BOTH, type Done, type Head, type Loop, type Parts, tooLong, writeAll } from "./bench-transfer-loops";

/** A byte stream as the raw HTTP/1.1 loop needs it: data in order, then one close. */
interface Wire {
  write(b: string): void;
  destroy(): void;
}
interface WireEvents {
  data(b: Uint8Array): void;
  close(err?: Error): void;
}
type Connector = (host: string, port: number, secure: boolean, ev: WireEvents) => Promise<Wire>;

/** Bun.connect: uSockets with a `data` callback per receive, no stream objects in between. */
export const bunConnect: Connector = (host, port, secure, ev) =>
  new Promise((resolve, reject) => {
    // Bun.connect resolves at TCP open, before the TLS handshake; a write then returns 0
    // and the bytes are gone (Bun 1.4.5). So the request goes out at `handshake` (TLS) or
    // `open` (plain), and the rest of a partial write at `drain`.
    let out = Buffer.alloc(0);
    const flush = (s: Bun.Socket) => {
      if (out.length) out = out.subarray(s.write(out));
    };
    let sock: Bun.Socket | null = null;
    const ready = (s: Bun.Socket) => {
      sock = s;
      resolve({ write: (b) => ((out = Buffer.concat([out, Buffer.from(b, "latin1")])), flush(s)), destroy: () => s.terminate() });
    };
    Bun.connect({
      hostname: host,
      port,
      // The benchmark's certificate is self-signed; adoption must pass ca/serverName and check `handshake`'s verdict.
      ...(secure ? { tls: { rejectUnauthorized: false } } : {}),
      socket: {
        open: (s) => void (secure ? null : ready(s)),
        handshake: (s, ok, err) => (ok ? ready(s) : (reject(err), s.terminate())),
        drain: (s) => flush(s),
        data: (_s, d) => ev.data(d),
        close: (_s, err) => (sock ? ev.close(err ?? undefined) : reject(err ?? new Error("closed before the connection was ready"))),
        error: (_s, err) => (sock ? ev.close(err) : reject(err)),
        connectError: (_s, err) => reject(err),
      },
    }).catch(reject);
  });

/** node:net / node:tls: the same bytes through Node's stream layer (Bun implements it over Bun.connect). */
export const nodeNet: Connector = (host, port, secure, ev) =>
  new Promise((resolve, reject) => {
    const s = secure ? tls.connect({ host, port, rejectUnauthorized: false }) : net.connect({ host, port });
    let err: Error | undefined;
    s.once(secure ? "secureConnect" : "connect", () => {
      s.off("error", reject);
      s.on("error", (e) => (err = e));
      s.on("data", (d: Buffer) => ev.data(d));
      s.on("close", () => ev.close(err));
      resolve({ write: (b) => void s.write(b), destroy: () => s.destroy() });
    });
    s.once("error", reject);
  });

const CRLF2 = Buffer.from("\r\n\r\n");
const MAX_HEAD = 64 * 1024;

/**
 * C/D: GET over a raw HTTP/1.1 connection (Connection: close). The head is parsed once;
 * after it every received chunk is the body, framed by Content-Length only: a response
 * without one, or with Transfer-Encoding, is refused (code EFALLBACK: the caller would use
 * fetch instead). Bytes past Content-Length are dropped and the connection closed, as any
 * HTTP client does; the descriptor-size check ("too-long") is the caller's, as with fetch.
 * Body bytes that arrive before toFile are kept (copied: the socket may reuse its buffer).
 */
export function rawLoop(connect: Connector, parts: Parts = BOTH): Loop {
  return (url, headers) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const secure = u.protocol === "https:";
      let state: "head" | "body" | "done" | "failed" = "head";
      let headBuf: Buffer = Buffer.alloc(0);
      let length = 0;
      let received = 0;
      const early: Uint8Array[] = [];
      let sink: ((b: Uint8Array) => void) | null = null;
      let settle: ((err?: Error) => void) | null = null;
      let ended: Error | null | undefined; // undefined: still open; null: body complete
      let wire: Wire | null = null;
      const finish = (err: Error | null) => {
        if (ended !== undefined) return;
        ended = err;
        state = err ? "failed" : "done";
        wire?.destroy();
        settle?.(err ?? undefined);
      };
      const body = (b: Uint8Array) => {
        if (b.length > length - received) b = b.subarray(0, length - received);
        received += b.length;
        if (sink) sink(b);
        else early.push(new Uint8Array(b));
        if (received === length) finish(null);
      };
      const ev: WireEvents = {
        data(chunk) {
          if (state === "body") return body(chunk);
          if (state !== "head") return;
          headBuf = headBuf.length ? Buffer.concat([headBuf, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
          const end = headBuf.indexOf(CRLF2);
          if (end < 0) {
            if (headBuf.length > MAX_HEAD) fail(new Error("response head over 64 KiB"));
            return;
          }
          let head: Head;
          try {
            head = parseHead(headBuf.subarray(0, end).toString("latin1"));
          } catch (e) {
            return fail(e as Error);
          }
          const rest = new Uint8Array(headBuf.subarray(end + 4)); // a copy: headBuf may view the socket's buffer
          headBuf = Buffer.alloc(0);
          length = Number(head.headers["content-length"]);
          state = "body";
          resolve({ head, cancel: () => finish(new Error("cancelled")), toFile });
          if (length === 0) finish(null);
          else if (rest.length) body(rest);
        },
        close(err) {
          if (state === "head") fail(err ?? new Error("the connection closed before a response"));
          else
            finish(
              Object.assign(err ?? new Error(`the connection was closed after ${received} of ${length} bytes`), { code: "ECONNRESET" }),
            );
        },
      };
      const fail = (e: Error) => {
        state = "failed";
        wire?.destroy();
        reject(e);
      };
      const toFile = (path: string, size: number, onProgress: (t: number) => void) =>
        new Promise<Done>((done, failed) => {
          const hasher = new Bun.CryptoHasher("sha256");
          const fd = parts.write ? openSync(path, "w") : -1;
          let total = 0;
          let chunks = 0;
          settle = (err) => {
            if (fd >= 0) closeSync(fd);
            if (err) failed(Object.assign(err, { total }));
            else done({ total, digest: hasher.digest("hex"), chunks });
          };
          sink = (b) => {
            if (total + b.length > size) return finish(tooLong());
            try {
              if (parts.write) writeAll(fd, b);
            } catch (e) {
              return finish(Object.assign(e as Error, { kind: "io" }));
            }
            if (parts.hash) hasher.update(b);
            total += b.length;
            chunks++;
            onProgress(total);
          };
          for (const b of early.splice(0)) sink(b);
          if (ended !== undefined) {
            const s = settle;
            settle = null;
            s(ended ?? undefined);
          }
        });
      const request = `GET ${u.pathname}${u.search} HTTP/1.1\r\n${Object.entries({ Host: u.host, ...headers, Connection: "close" })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("")}\r\n`;
      connect(u.hostname.replace(/^\[|\]$/g, ""), Number(u.port || (secure ? 443 : 80)), secure, ev).then((w) => {
        wire = w;
        w.write(request);
      }, reject);
    });
}

/** Status line and headers; refuses what Content-Length framing cannot carry. */
function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) throw new Error("malformed header line");
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  const status = Number(m[1]);
  const fallback = (why: string) => Object.assign(new Error(why), { code: "EFALLBACK" });
  if (status < 200) throw fallback("an interim 1xx response");
  if (headers["transfer-encoding"]) throw fallback(`Transfer-Encoding: ${headers["transfer-encoding"]}`);
  if (!/^\d{1,15}$/.test(headers["content-length"] ?? "")) throw fallback("no single Content-Length");
  return { status, headers };
}
