import http from "node:http";
import https from "node:https";
import { hostPort } from "../net/origin";
import { activeRateLimit } from "./rate-limit";

/** What the Worker is told to do with a 200/206 body; `total` counts from the start of the blob. */
export interface ToFileJob {
  path: string;
  offset: number;
  size: number;
  algorithm: "sha256" | "sha512";
  onBytes: (total: number) => void;
  /** The partial's lock and this pull's token: checked once the file is open, before any byte is written (ingest-lock.ts). */
  owner?: { lock: string; token: string };
}

/** A response whose body is pushed chunk by chunk into a synchronous sink. */
export interface Opened {
  status: number;
  statusText: string;
  header(name: string): string | null;
  /** Resolves at the end of the body; every byte that arrived reached `sink` first. */
  consume(sink: (chunk: Uint8Array) => void): Promise<void>;
  cancel(): void;
  text(): Promise<string>;
  /** A body held by a blob Worker (lanes.ts): written, hashed and counted there. */
  toFile?(job: ToFileJob): Promise<{ total: number; digest: string }>;
}

export interface OpenOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  /** Bun fetch options (proxy, tls) for the fast path. */
  init: BunFetchRequestInit;
  /** node:https TLS options for the careful path. */
  tls: { servername?: string; ca?: string[]; cert?: string; key?: string; rejectUnauthorized: boolean } | null;
}

/**
 * Bun's fetch: the fastest way to move bytes here (see docs/performance.md: ~1.4× node:http
 * on loopback). Its ReadableStream drops chunks still queued when the peer closes early, so
 * a cut transfer keeps less than it received; the careful path below is used for retries.
 */
export async function openWithFetch(url: string, o: OpenOptions): Promise<Opened> {
  const res = await fetch(url, { ...o.init, headers: o.headers, signal: o.signal });
  return {
    status: res.status,
    statusText: res.statusText,
    header: (n) => res.headers.get(n),
    async consume(sink) {
      if (!res.body) return;
      const reader = res.body.getReader();
      for (;;) {
        const c = await reader.read();
        if (c.done) return;
        sink(c.value);
        await activeRateLimit()?.take(c.value.length);
      }
    },
    cancel: () => void res.body?.cancel().catch(() => {}),
    text: () => res.text(),
  };
}

/**
 * node:http on a fresh connection, with the body consumed in flowing mode: each chunk is
 * written in its 'data' event, so when a proxy or registry cuts the connection every byte
 * received is on disk and the next Range starts exactly there (what resume needs).
 */
export function openWithNode(url: string, o: OpenOptions): Promise<Opened> {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        method: "GET",
        ...hostPort(u),
        path: u.pathname + u.search,
        headers: o.headers,
        agent: false,
        signal: o.signal,
        ...(u.protocol === "https:" && o.tls ? o.tls : {}),
      },
      (res) => {
        res.pause();
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          header: (n) => {
            const v = res.headers[n.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
          },
          consume: (sink) =>
            new Promise<void>((done, fail) => {
              let ended = false;
              const limit = activeRateLimit();
              res.on("data", (c: Buffer) => {
                try {
                  sink(c);
                } catch (e) {
                  req.destroy();
                  fail(e);
                  return;
                }
                // --limit-rate: stop reading until these bytes are due (rate-limit.ts).
                const wait = limit?.reserve(c.length) ?? 0;
                if (wait > 0) {
                  res.pause();
                  setTimeout(() => res.resume(), wait);
                }
              });
              res.on("end", () => {
                ended = true;
                done();
              });
              res.on("aborted", () =>
                fail(Object.assign(new Error("the connection was closed before the body ended"), { code: "ECONNRESET" })),
              );
              res.on("error", (e) => fail(e));
              res.on("close", () => {
                if (!ended)
                  fail(
                    o.signal.aborted
                      ? (o.signal.reason ?? new Error("aborted"))
                      : Object.assign(new Error("the connection was closed before the body ended"), { code: "ECONNRESET" }),
                  );
              });
              res.resume();
            }),
          cancel: () => req.destroy(),
          text: () =>
            new Promise((done) => {
              let s = "";
              res.setEncoding("utf8");
              res.on("data", (c: string) => {
                if (s.length < 65536) s += c;
              });
              res.on("end", () => done(s));
              res.on("error", () => done(s));
              res.resume();
            }),
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}
