/** Small items beyond the count limit: more may run while their bytes in flight fit `bytes`, up to `maxCount`. */
export interface PoolBudget {
  bytes: number;
  maxCount: number;
}

/**
 * Runs `fn` over items, largest first so the longest transfer starts at once and small blobs
 * fill the gaps (the wall time of a pull is bounded by its biggest layer). At most `limit` run
 * at once, and with a `budget` more small ones may join while the bytes in flight stay within
 * it: a hundred 1 MiB layers are bound by per-request latency, not by bandwidth, so the limit
 * that suits 100 MiB layers would leave them waiting in line (docs/performance.md, "Start-up,
 * diagnosis and small blobs", Pulls). Every item runs even when another fails: bytes that did
 * arrive stay in the store.
 */
export function runPool<T, R>(
  items: readonly T[],
  limit: number,
  size: (t: T) => number,
  fn: (t: T) => Promise<R>,
  budget?: PoolBudget,
): Promise<PromiseSettledResult<R>[]> {
  const order = items.map((t, i) => ({ t, i })).sort((a, b) => size(b.t) - size(a.t));
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  const max = Math.max(1, limit);
  let next = 0;
  let running = 0;
  let bytes = 0;
  const fits = (n: number) => running < max || (budget !== undefined && running < budget.maxCount && bytes + n <= budget.bytes);
  return new Promise((resolve) => {
    const pump = () => {
      for (let item = order[next]; item !== undefined && fits(size(item.t)); item = order[next]) {
        next++;
        const { t, i } = item;
        const n = size(t);
        running++;
        bytes += n;
        Promise.resolve()
          .then(() => fn(t))
          .then(
            (value) => {
              results[i] = { status: "fulfilled", value };
            },
            (reason) => {
              results[i] = { status: "rejected", reason };
            },
          )
          .finally(() => {
            running--;
            bytes -= n;
            pump();
          });
      }
      if (running === 0 && next >= order.length) resolve(results);
    };
    pump();
  });
}

/**
 * The default budget of small blobs beyond --concurrency: up to 24 transfers while at most
 * 16 MiB are in flight. Larger layers keep the count limit alone.
 */
export const SMALL_BLOB_BUDGET: PoolBudget = { bytes: 16 << 20, maxCount: 24 };

/**
 * Parallel blob transfers when --concurrency is not given. Docker and containerd use 3,
 * skopeo 6; on loopback with 2 cores 6 measured fastest for a 6-layer image (see
 * docs/performance.md), and more than 6 only adds connections a real registry may throttle.
 */
export const DEFAULT_CONCURRENCY = 6;

export interface RetryTuning {
  /** Attempts per source (docker's max-download-attempts is 5). */
  attempts: number;
  /** First backoff; doubles each retry with ±20% jitter, capped at maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryTuning = { attempts: 5, backoffMs: 500, maxBackoffMs: 8000 };

export function backoffDelay(t: RetryTuning, retry: number, random: () => number = Math.random): number {
  const base = Math.min(t.maxBackoffMs, t.backoffMs * 2 ** (retry - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** A sleep that ends early (rejecting) when the pull is cancelled. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
