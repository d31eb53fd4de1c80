/**
 * The blob Worker of scripts/bench-transfer.ts: the message protocol of
 * src/pull/blob-worker.ts (open → head, consume → progress… → end | fail), with the
 * receive loop chosen per request, and the same progress coalescing (one message per
 * 25 ms per blob at most).
 */
import { LOOPS, type Opened } from "./bench-transfer-loops";

declare const self: Worker;
const jobs = new Map<number, Opened>();
const PROGRESS_MS = 25;

self.onmessage = async (ev: MessageEvent) => {
  const m = ev.data;
  if (m.type === "ping") return self.postMessage({ type: "pong" });
  if (m.type === "open") {
    try {
      const o = await LOOPS[m.loop](m.url, m.headers);
      jobs.set(m.id, o);
      self.postMessage({ type: "head", id: m.id, status: o.head.status, headers: o.head.headers });
    } catch (e) {
      self.postMessage({ type: "error", id: m.id, message: String((e as Error)?.message ?? e) });
    }
    return;
  }
  if (m.type !== "consume") return;
  const o = jobs.get(m.id)!;
  jobs.delete(m.id);
  let posted = 0;
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    posted = performance.now();
    self.postMessage({ type: "progress", id: m.id, total });
  };
  const onProgress = (t: number) => {
    total = t;
    if (performance.now() - posted >= PROGRESS_MS) flush();
    else timer ??= setTimeout(flush, PROGRESS_MS);
  };
  try {
    const r = await o.toFile(m.path, m.size, onProgress);
    self.postMessage({ type: "end", id: m.id, ...r });
  } catch (e) {
    self.postMessage({
      type: "fail",
      id: m.id,
      message: String((e as Error)?.message ?? e),
      total: (e as { total?: number }).total ?? total,
    });
  } finally {
    if (timer) clearTimeout(timer);
  }
};
