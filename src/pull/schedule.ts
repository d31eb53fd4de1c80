/**
 * Runs `fn` over items with at most `limit` in flight, largest first so the longest
 * transfer starts at once and small blobs fill the gaps (the wall time of a pull is
 * bounded by its biggest layer). Every item runs even when another fails: bytes that
 * did arrive stay in the store for the next run.
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  size: (t: T) => number,
  fn: (t: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const order = items.map((t, i) => ({ t, i })).sort((a, b) => size(b.t) - size(a.t));
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const { t, i } = order[next++];
      try {
        results[i] = { status: "fulfilled", value: await fn(t) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, order.length)) }, worker));
  return results;
}

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
