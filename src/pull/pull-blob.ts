import type { Descriptor } from "../model/facts";
import type { Trace } from "../model/trace";
import { TransferError } from "./attempt";
import { fetchBlobOnce } from "./fetch-blob";
import { LostOwnership } from "./ingest-lock";
import type { Lanes } from "./lanes";
import { backoffDelay, type RetryTuning, sleep } from "./schedule";
import type { BlobSource } from "./source";
import type { BlobStore } from "./store";

export interface BlobRecord {
  digest: string;
  mediaType: string;
  size: number;
  /** Bytes received over the network in this run (all attempts). */
  downloadedBytes: number;
  /** Bytes already on disk: the whole blob, or the partial a resume started from. */
  reusedBytes: number;
  reused: boolean;
  durationMs: number;
  resumedFrom: number;
  retries: number;
  /** Each failed attempt that was retried (at most MAX_RETRY_LOG): what it saw and how long the pull waited. */
  retryLog: { attempt: number; error: string; status: number | null; waitMs: number }[];
  host: string | null;
  /** The source's base URL with the scheme actually used (http:// for a plain-HTTP registry), not the endpoint's name. */
  endpoint: string | null;
  /** What the store's copy hashed to when it was found corrupt, discarded and downloaded again. */
  storeMismatch?: string;
  /** Times another pulldoctor took this blob over while this one was paused or stalled. */
  takenOver?: number;
}

/** A blob that could not be fetched; `last` says what the final attempt saw. */
export class BlobFailure extends Error {
  constructor(
    readonly kind: "mismatch" | "interrupted" | "no-space" | "aborted",
    readonly record: BlobRecord,
    readonly last: TransferError,
    readonly attempts: number,
  ) {
    super(last.message);
  }
}

export interface BlobContext {
  signal: AbortSignal;
  idleTimeoutMs: number;
  retry: RetryTuning;
  trace: Trace;
  onProgress: (bytes: number) => void;
  onRetry: (attempt: number, error: string) => void;
  /** Blob Workers for first attempts (see lanes.ts). */
  lanes?: Lanes;
}

/**
 * The longest Retry-After the pull waits (429/503 on a blob). Longer, the source is given up at
 * once with the server's value in the error: waiting an hour inside a pull helps nobody, and
 * Docker itself does not wait at all (it retries on its own backoff).
 */
export const RETRY_AFTER_CAP_MS = 60_000;
const MAX_RETRY_LOG = 10;

/**
 * A blob from the first source that delivers it: retries with backoff on transient
 * failures (resuming from the bytes kept), then the next source (mirror → upstream,
 * as Docker falls back between endpoints). A digest mismatch is not retried on the
 * same source unless it followed a resume (docker retries once from scratch then).
 */
export async function pullBlob(d: Descriptor, store: BlobStore, sources: readonly BlobSource[], ctx: BlobContext): Promise<BlobRecord> {
  const t0 = performance.now();
  const rec: BlobRecord = {
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    downloadedBytes: 0,
    reusedBytes: 0,
    reused: false,
    durationMs: 0,
    resumedFrom: 0,
    retries: 0,
    retryLog: [],
    host: null,
    endpoint: null,
  };
  const reused = () => ({ ...rec, reused: true, reusedBytes: d.size, durationMs: Math.round(performance.now() - t0) });
  for (let round = 1; ; round++) {
    // A stored blob is re-hashed before it is reused (docs/security.md); a corrupt one is dropped and fetched again.
    if (store.has(d)) {
      const actual = await store.verifyStored(d);
      if (actual === null) return reused();
      rec.storeMismatch = actual;
    }
    const lock = await waitForLock(d, store, ctx, rec);
    if (lock === null) continue;
    try {
      if (await store.adoptComplete(d)) return reused();
      return await fetchLocked(d, store, sources, ctx, rec, t0);
    } catch (e) {
      if (!(e instanceof LostOwnership)) throw e;
      // Paused (Ctrl-Z, a suspended VM or CI job) while another pull took the blob over: wait for it, or take the blob back.
      rec.takenOver = (rec.takenOver ?? 0) + 1;
      if (round >= MAX_TAKEOVERS)
        throw new BlobFailure(
          "interrupted",
          rec,
          new TransferError("transport", e.message, { host: rec.host ?? "", bytes: 0, resumedFrom: 0 }),
          0,
        );
    } finally {
      lock.release();
    }
  }
}

/** Rounds of losing a blob to another pull before this one gives up on it (each round waits for the other). */
const MAX_TAKEOVERS = 5;

/**
 * Another pulldoctor fetching this blob into the same store is waited for rather than
 * interleaved with in one partial. An owner whose partial stops growing for the idle timeout
 * is taken over (it hangs, is paused, or its pid was reused). Null: the blob appeared meanwhile.
 */
async function waitForLock(d: Descriptor, store: BlobStore, ctx: BlobContext, rec: BlobRecord): Promise<{ release: () => void } | null> {
  let lock = store.tryLock(d.digest);
  let seen = store.partialSize(d.digest);
  let lastGrowth = Date.now();
  while ("owner" in lock) {
    try {
      await sleep(200, ctx.signal);
    } catch {
      throw new BlobFailure("aborted", rec, new TransferError("aborted", "interrupted", { host: "", bytes: 0, resumedFrom: 0 }), 0);
    }
    if (store.has(d)) return null;
    const now = store.partialSize(d.digest);
    if (now !== seen) [seen, lastGrowth] = [now, Date.now()];
    lock = store.tryLock(d.digest, Date.now() - lastGrowth > ctx.idleTimeoutMs);
  }
  return lock;
}

async function fetchLocked(
  d: Descriptor,
  store: BlobStore,
  sources: readonly BlobSource[],
  ctx: BlobContext,
  rec: BlobRecord,
  t0: number,
): Promise<BlobRecord> {
  const have = Math.min(store.partialSize(d.digest), d.size);
  let last: TransferError | null = null;
  let attempts = 0;
  let first = true;
  let intact = true;
  for (const src of sources) {
    let restartedAfterResume = false;
    for (let attempt = 1; attempt <= ctx.retry.attempts; attempt++) {
      // Before every attempt: a pull resumed after a pause may find the blob taken over (then LostOwnership).
      store.assertOwner(d.digest);
      attempts++;
      try {
        const r = await fetchBlobOnce(d, store, src, {
          signal: ctx.signal,
          idleTimeoutMs: ctx.idleTimeoutMs,
          trace: ctx.trace,
          onBytes: ctx.onProgress,
          fresh: attempt > 1,
          lanes: ctx.lanes,
        });
        rec.downloadedBytes += r.bytes;
        if (first) rec.resumedFrom = r.resumedFrom;
        // The bytes found on disk count as reused only if they survived to the final attempt.
        rec.reusedBytes = intact && r.resumedFrom >= have ? have : 0;
        rec.host = r.host;
        rec.endpoint = src.baseUrl;
        rec.durationMs = Math.round(performance.now() - t0);
        return rec;
      } catch (e) {
        if (!(e instanceof TransferError)) throw e;
        if (first) rec.resumedFrom = e.info.resumedFrom;
        first = false;
        rec.downloadedBytes += e.info.bytes;
        rec.host = e.info.host;
        rec.endpoint = src.baseUrl;
        last = e;
        rec.durationMs = Math.round(performance.now() - t0);
        // A failure after a pause may only mean another pull has the blob now: no retry, no finding.
        store.assertOwner(d.digest);
        if (e.kind === "aborted" || ctx.signal.aborted) throw new BlobFailure("aborted", rec, e, attempts);
        if (e.kind === "no-space") throw new BlobFailure("no-space", rec, e, attempts);
        if (e.kind === "mismatch" || e.kind === "too-long" || e.kind === "range") intact = false;
        if (e.kind === "mismatch" || e.kind === "too-long") {
          if (e.info.resumedFrom > 0 && !restartedAfterResume) {
            restartedAfterResume = true;
            continue;
          }
          break;
        }
        if (!e.retryable || attempt === ctx.retry.attempts) break;
        const retryAfter = e.info.retryAfterMs;
        if (retryAfter !== undefined && retryAfter > RETRY_AFTER_CAP_MS) {
          last = new TransferError(
            e.kind,
            `${e.message} — Retry-After ${e.info.retryAfter} is beyond the ${RETRY_AFTER_CAP_MS / 1000} s pulldoctor waits`,
            e.info,
          );
          break;
        }
        rec.retries++;
        // The server's Retry-After (capped above) when it asks for more than our backoff.
        const waitMs = Math.max(backoffDelay(ctx.retry, rec.retries), retryAfter ?? 0);
        if (rec.retryLog.length < MAX_RETRY_LOG)
          rec.retryLog.push({ attempt: attempts, error: e.message.slice(0, 300), status: e.info.status ?? null, waitMs });
        ctx.onRetry(attempts, e.message);
        try {
          await sleep(waitMs, ctx.signal);
        } catch {
          throw new BlobFailure("aborted", rec, e, attempts);
        }
      }
    }
  }
  rec.durationMs = Math.round(performance.now() - t0);
  const kind = last && (last.kind === "mismatch" || last.kind === "too-long") ? "mismatch" : "interrupted";
  throw new BlobFailure(
    kind,
    rec,
    last ?? new TransferError("transport", "no source to fetch from", { host: "", bytes: 0, resumedFrom: 0 }),
    attempts,
  );
}
