/**
 * A Bun Worker that moves blob bytes: GET (raw-get.ts, else Bun's fetch) → write to the partial file →
 * sha256, off the main JS thread. On 2 cores one JS thread hashing 600 MiB is the limit
 * (docs/performance.md, "Which part dominates"); two of these split that work.
 *
 * It knows nothing of tokens, redirects, retries, traces or progress bars: the main
 * thread (lanes.ts) sends it one request at a time with the headers it chose, reads the
 * status and headers back, and only then asks it to stream the body to the file. Every
 * decision stays in fetch-blob.ts. Messages (all structured-clone data):
 *   → {type:"open", id, url, headers, init}   ← {type:"head", id, status, statusText, headers, text}
 *                                              | {type:"error", id, message, code}
 *   → {type:"consume", id, path, offset, size, algorithm, owner, limit}   (limit: --limit-rate's shared bucket)
 *                                              ← {type:"progress", id, total} … then
 *                                                {type:"end", id, total, digest} | {type:"fail", id, kind, message, code, total}
 *   → {type:"cancel", id}
 */
import { closeSync, openSync } from "node:fs";
import { normalJit } from "../host/jit";
import { readToken } from "./ingest-lock";
import { writeAllSync } from "./outputs/safe-file";
import { RateLimit } from "./rate-limit";
import { type BlobResponse, rawEnabled, rawGet } from "./raw-get";
import { hashFilePrefix } from "./verify";

// This thread moves every byte of a pull: the normal JIT policy (host/jit.ts).
normalJit();

declare const self: Worker;

interface Job {
  abort: AbortController;
  res: BlobResponse | null;
}
const jobs = new Map<number, Job>();
/** Progress is coalesced: one message per PROGRESS_MS per blob at most (the UI redraws every 100 ms). */
const PROGRESS_MS = 25;
/** Error bodies are read for the message (fetch-blob.ts keeps 300 characters of them). */
const MAX_TEXT = 65536;
const RAW = rawEnabled();

self.onmessage = (ev: MessageEvent) => {
  const m = ev.data;
  if (m.type === "open") void open(m);
  else if (m.type === "consume") void consume(m);
  else if (m.type === "cancel") {
    const j = jobs.get(m.id);
    if (j) j.abort.abort(new Error("interrupted"));
    if (j && !j.res?.bodyUsed) void j.res?.body?.cancel().catch(() => {});
    jobs.delete(m.id);
  }
};

async function open(m: { id: number; url: string; headers: Record<string, string>; init: BunFetchRequestInit }): Promise<void> {
  const job: Job = { abort: new AbortController(), res: null };
  jobs.set(m.id, job);
  try {
    // The raw loop when it can frame the answer; everything else (proxy, chunked, a refused certificate) as before.
    const res =
      (RAW ? await rawGet(m.url, m.headers, m.init, job.abort.signal) : null) ??
      (await fetch(m.url, { ...m.init, headers: m.headers, signal: job.abort.signal }));
    job.res = res;
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    let text = "";
    // Only 200/206 bodies are blob bytes; any other body (a redirect's, a 401's, an error page) is read here, bounded.
    if (res.status !== 200 && res.status !== 206) {
      text = await readText(res).catch(() => "");
      jobs.delete(m.id);
    }
    self.postMessage({ type: "head", id: m.id, status: res.status, statusText: res.statusText, headers, text });
  } catch (e) {
    jobs.delete(m.id);
    self.postMessage({
      type: "error",
      id: m.id,
      message: (e as Error)?.message ?? String(e),
      code: (e as { code?: string })?.code ?? null,
    });
  }
}

async function readText(res: BlobResponse): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let s = "";
  for (;;) {
    const c = await reader.read();
    if (c.done) return s;
    s += dec.decode(c.value, { stream: true });
    if (s.length >= MAX_TEXT) {
      void reader.cancel().catch(() => {});
      return s;
    }
  }
}

async function consume(m: {
  id: number;
  path: string;
  offset: number;
  size: number;
  algorithm: "sha256" | "sha512";
  owner?: { lock: string; token: string };
  limit?: SharedArrayBuffer | null;
}): Promise<void> {
  const job = jobs.get(m.id);
  const limit = m.limit ? RateLimit.attach(m.limit) : null;
  let total = m.offset;
  let fd = -1;
  // Closed before the last message is posted: the main thread may terminate this Worker as soon as it reads it.
  const release = () => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
  };
  const failMsg = (kind: "too-long" | "io" | "body", e: unknown) => {
    release();
    self.postMessage({
      type: "fail",
      id: m.id,
      kind,
      message: (e as Error)?.message ?? String(e),
      code: (e as { code?: string })?.code ?? null,
      total,
    });
  };
  if (!job?.res) return failMsg("body", new Error("interrupted"));
  const hasher = new Bun.CryptoHasher(m.algorithm);
  try {
    // A resume hashes the bytes already on disk first (what fetch-blob.ts does inline).
    if (m.offset > 0) hashFilePrefix(hasher, m.path, m.offset);
    fd = openSync(m.path, m.offset > 0 ? "a" : "w");
    // Opened after another pull took the blob over (this one was paused meanwhile): the file is theirs; write nothing.
    if (m.owner && readToken(m.owner.lock) !== m.owner.token) {
      release();
      throw Object.assign(new Error("another pulldoctor took over this blob"), { code: "ELOSTLOCK" });
    }
  } catch (e) {
    void job.res.body?.cancel().catch(() => {});
    jobs.delete(m.id);
    return failMsg("io", e);
  }
  let posted = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    posted = performance.now();
    self.postMessage({ type: "progress", id: m.id, total });
  };
  try {
    if (job.res.body) {
      const reader = job.res.body.getReader();
      for (;;) {
        const c = await reader.read();
        if (c.done) break;
        const buf = c.value;
        if (total + buf.length > m.size) {
          void reader.cancel().catch(() => {});
          return failMsg("too-long", new Error("too long"));
        }
        try {
          writeAllSync(fd, buf);
        } catch (e) {
          void reader.cancel().catch(() => {});
          return failMsg("io", e);
        }
        hasher.update(buf);
        total += buf.length;
        if (limit) await limit.take(buf.length);
        if (performance.now() - posted >= PROGRESS_MS) flush();
        else timer ??= setTimeout(flush, PROGRESS_MS);
      }
    }
    if (timer) clearTimeout(timer);
    timer = null;
    release();
    self.postMessage({ type: "end", id: m.id, total, digest: hasher.digest("hex") });
  } catch (e) {
    failMsg("body", e);
  } finally {
    if (timer) clearTimeout(timer);
    release();
    jobs.delete(m.id);
  }
}
