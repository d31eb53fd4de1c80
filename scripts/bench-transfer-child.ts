/**
 * One measured run of scripts/bench-transfer.ts, in its own process (so each candidate's
 * CPU and RSS are its own): moves every blob of the job file with one receive loop, either
 * in WORKERS Bun Workers (least busy first, as src/pull/lanes.ts picks; smol, as it starts
 * them) or on the main thread, all blobs at once. Prints one JSON line; exits 1 if any
 * digest or size is wrong.
 *
 *   bun scripts/bench-transfer-child.ts JOB.json
 *   JOB = {loop, workers, dir, blobs: [{url, digest, size}], check, smol}  (loop "none": start the Workers, move nothing)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { LOOPS } from "./bench-transfer-loops";

interface Blob {
  url: string;
  digest: string;
  size: number;
}
const job = JSON.parse(readFileSync(process.argv[2], "utf8")) as {
  loop: string;
  workers: number;
  dir: string;
  blobs: Blob[];
  check: "digest" | "size";
  smol?: boolean;
};
const HEADERS = { "Accept-Encoding": "identity" };
const fileOf = (b: Blob) => path.join(job.dir, b.digest.slice(7));

type Result = { total: number; digest: string; chunks: number };

/** The lanes: each Worker with its count of transfers in flight. */
const lanes: { w: Worker; busy: number; waiting: Map<number, (m: any) => void> }[] = [];
let nextId = 1;

async function startWorkers(n: number) {
  for (let i = 0; i < n; i++) {
    const w = new Worker(new URL("./bench-transfer-worker.ts", import.meta.url), { smol: job.smol !== false } as WorkerOptions);
    const lane = { w, busy: 0, waiting: new Map<number, (m: any) => void>() };
    w.onmessage = (ev: MessageEvent) => lane.waiting.get(ev.data.id ?? 0)?.(ev.data);
    lanes.push(lane);
    // Wait until it answers, so start-up is not counted in the transfer's wall time.
    await new Promise<void>((r) => {
      lane.waiting.set(0, () => (lane.waiting.delete(0), r()));
      w.postMessage({ type: "ping" });
    });
  }
}

function inWorker(b: Blob): Promise<Result> {
  const lane = lanes.reduce((a, x) => (x.busy < a.busy ? x : a));
  const id = nextId++;
  lane.busy++;
  return new Promise((resolve, reject) => {
    lane.waiting.set(id, (m) => {
      if (m.type === "head") {
        if (m.status !== 200) return reject(new Error(`HTTP ${m.status}`));
        return lane.w.postMessage({ type: "consume", id, path: fileOf(b), size: b.size });
      }
      if (m.type === "progress") return;
      lane.waiting.delete(id);
      lane.busy--;
      if (m.type === "end") resolve(m);
      else reject(new Error(m.message));
    });
    lane.w.postMessage({ type: "open", id, loop: job.loop, url: b.url, headers: HEADERS });
  });
}

async function inline(b: Blob): Promise<Result> {
  const o = await LOOPS[job.loop](b.url, HEADERS);
  if (o.head.status !== 200) throw new Error(`HTTP ${o.head.status}`);
  // The main thread's progress: the same 25 ms coalescing as the Worker, into a counter.
  let seen = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let posted = 0;
  let total = 0;
  const flush = () => ((timer = null), (posted = performance.now()), (seen = total));
  const r = await o.toFile(fileOf(b), b.size, (t) => {
    total = t;
    if (performance.now() - posted >= 25) flush();
    else timer ??= setTimeout(flush, 25);
  });
  if (timer) clearTimeout(timer);
  void seen;
  return r;
}

await startWorkers(job.workers);
const t0 = performance.now();
let results: Result[] = [];
if (job.loop !== "none") results = await Promise.all(job.blobs.map((b) => (job.workers > 0 ? inWorker(b) : inline(b))));
const wallMs = performance.now() - t0;
let bad = 0;
results.forEach((r, i) => {
  const b = job.blobs[i];
  if (r.total !== b.size || (job.check === "digest" && `sha256:${r.digest}` !== b.digest)) {
    bad++;
    console.error(`${job.loop}: ${b.digest}: got ${r.total} bytes, sha256:${r.digest}`);
  }
});
const chunks = results.reduce((n, r) => n + r.chunks, 0);
const bytes = results.reduce((n, r) => n + r.total, 0);
console.log(JSON.stringify({ wallMs, chunks, bytes, bad }));
for (const l of lanes) l.w.terminate();
process.exit(bad ? 1 : 0);
