import type { Descriptor } from "../model/facts";
import type { Trace } from "../model/trace";
import { dropWarmLanes, Lanes, prewarmLanes, SPREAD_BYTES } from "./lanes";
import { BlobFailure, type BlobRecord, pullBlob } from "./pull-blob";
import { type RetryTuning, runPool, SMALL_BLOB_BUDGET } from "./schedule";
import type { BlobSource } from "./source";
import type { BlobStore } from "./store";

/** Progress of the blobs in flight, for the renderers. */
export type BlobEvent =
  | { type: "progress"; digest: string; bytes: number; total: number }
  | { type: "done"; digest: string; bytes: number; durationMs: number; resumedFrom: number; retries: number; host: string }
  | { type: "retry"; digest: string; attempt: number; error: string };

export interface FetchAllInput {
  blobs: Descriptor[];
  store: BlobStore;
  sources: readonly BlobSource[];
  concurrency: number;
  /** Small blobs may run beyond `concurrency` while their bytes in flight fit SMALL_BLOB_BUDGET (schedule.ts). */
  smallBlobs?: boolean;
  retry: RetryTuning;
  idleTimeoutMs: number;
  signal: AbortSignal;
  trace: Trace;
  /** Blob Workers: tuning, else PULLDOCTOR_PULL_WORKERS, else 2 (0: everything on this thread). */
  workers: number | undefined;
  workersEnv: string | undefined;
  emit: (e: BlobEvent) => void;
}

/** Every blob into the store, largest first, each with its retries; one record per blob, failed or not. */
export async function fetchAll(x: FetchAllInput): Promise<{ records: BlobRecord[]; failures: BlobFailure[] }> {
  const lanes = blobWorkers(x.workers, x.workersEnv);
  // Blobs that can never have SPREAD_BYTES in flight run on one Worker (lanes.ts): a second pre-started one would only idle.
  if (!lanes) dropWarmLanes();
  else if (maxInFlight(x) < SPREAD_BYTES) dropWarmLanes(1);
  const results = await runPool(
    x.blobs,
    x.concurrency,
    (b) => b.size,
    (d) => fetchOne(x, d, lanes),
    x.smallBlobs ? SMALL_BLOB_BUDGET : undefined,
  ).finally(() => lanes?.close());
  const records: BlobRecord[] = [];
  const failures: BlobFailure[] = [];
  for (const r of results) {
    if (r.status === "fulfilled") records.push(r.value);
    else if (r.reason instanceof BlobFailure) {
      failures.push(r.reason);
      records.push(r.reason.record);
    } else throw r.reason;
  }
  return { records, failures };
}

/** A bound on the blob bytes runPool can have in flight: the `concurrency` largest blobs, plus the small-blob budget. */
function maxInFlight(x: FetchAllInput): number {
  const largest = x.blobs
    .map((b) => b.size)
    .sort((a, b) => b - a)
    .slice(0, Math.max(1, x.concurrency));
  return largest.reduce((n, s) => n + s, 0) + (x.smallBlobs ? SMALL_BLOB_BUDGET.bytes : 0);
}

async function fetchOne(x: FetchAllInput, d: Descriptor, lanes: Lanes | null): Promise<BlobRecord> {
  let lastEmit = 0;
  const rec = await pullBlob(d, x.store, x.sources, {
    signal: x.signal,
    idleTimeoutMs: x.idleTimeoutMs,
    retry: x.retry,
    trace: x.trace,
    // At most ten progress events a second per blob, and always the last one.
    onProgress: (bytes) => {
      const now = performance.now();
      if (now - lastEmit >= 100 || bytes === d.size) {
        lastEmit = now;
        x.emit({ type: "progress", digest: d.digest, bytes, total: d.size });
      }
    },
    onRetry: (attempt, error) => x.emit({ type: "retry", digest: d.digest, attempt, error }),
    lanes: lanes ?? undefined,
  });
  x.emit({
    type: "done",
    digest: d.digest,
    bytes: rec.downloadedBytes,
    durationMs: rec.durationMs,
    resumedFrom: rec.resumedFrom,
    retries: rec.retries,
    host: rec.host ?? "store",
  });
  return rec;
}

/**
 * Two blob Workers by default: through the binary on 2 cores they measured 4–9 % faster
 * than fetching and hashing every blob on the main thread, with ~30 MiB less peak RSS
 * (docs/performance.md, run 4); the second starts only for large blobs (lanes.ts,
 * SPREAD_BYTES). PULLDOCTOR_PULL_WORKERS=0 (or tuning.workers) keeps everything on the
 * main thread, for comparison.
 */
const DEFAULT_WORKERS = 2;
function workerCount(tuned: number | undefined, env: string | undefined): number {
  return tuned ?? (env !== undefined && /^\d+$/.test(env) ? Number(env) : DEFAULT_WORKERS);
}
function blobWorkers(tuned: number | undefined, env: string | undefined): Lanes | null {
  const n = workerCount(tuned, env);
  return n > 0 ? new Lanes(n) : null;
}

/**
 * `pull`: the blob Workers the pull will use, started while the diagnosis runs so their
 * start-up is not between the diagnosis and the first blob byte (docs/performance.md,
 * "Small blobs and the first byte"). Returns what stops those the pull did not take.
 */
export function prewarmBlobWorkers(env: string | undefined): () => void {
  prewarmLanes(workerCount(undefined, env));
  return dropWarmLanes;
}
