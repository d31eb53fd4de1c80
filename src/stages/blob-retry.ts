import type { Secret } from "../model/secret";
import type { StageContext } from "../model/stage";
import { type ClientPool, type FollowResult, followBlob, parseRetryAfter, RETRY_STATUS } from "../registry/blob";

/** Attempts of one probe on a retryable status (Docker: max-download-attempts 5); backoff from PROBE_BACKOFF_MS, doubling. */
const PROBE_ATTEMPTS = 5;
const PROBE_BACKOFF_MS = 200;

/**
 * followBlob, retried as Docker retries a blob download on 408/429/5xx: with backoff, waiting
 * a Retry-After up to --timeout, and never more than --timeout in all. A longer wait is not
 * made: the last answer stands, and `refused` says why.
 */
export async function followWithRetries(
  ctx: StageContext,
  pool: ClientPool,
  url: string,
  range: string,
  authorization: Secret | null,
): Promise<{ r: FollowResult; retries: { status: number; retryAfter: string | null; waitMs: number }[]; refused: string | null }> {
  const retries: { status: number; retryAfter: string | null; waitMs: number }[] = [];
  let waited = 0;
  let r = await followBlob(pool, url, range, authorization);
  for (let attempt = 1; attempt < PROBE_ATTEMPTS && r.kind === "response" && RETRY_STATUS.has(r.res.status); attempt++) {
    const retryAfter = r.res.headers["retry-after"] ?? null;
    const askedMs = parseRetryAfter(retryAfter);
    if (askedMs !== null && askedMs > ctx.options.timeoutMs) {
      return {
        r,
        retries,
        refused: `Retry-After ${retryAfter!.slice(0, 40)} is beyond the --timeout of ${ctx.options.timeoutMs / 1000} s pulldoctor waits`,
      };
    }
    const waitMs = Math.max(PROBE_BACKOFF_MS * 2 ** (attempt - 1), askedMs ?? 0);
    // All the waiting of one probe fits in one --timeout: the diagnosis stays bounded however often the host says "later".
    if (waited + waitMs > ctx.options.timeoutMs) {
      return {
        r,
        retries,
        refused: retries.length
          ? `still ${r.res.status} after ${retries.length} ${retries.length === 1 ? "retry" : "retries"} (pulldoctor waits at most --timeout, ${ctx.options.timeoutMs / 1000} s, in all)`
          : null,
      };
    }
    waited += waitMs;
    retries.push({ status: r.res.status, retryAfter: retryAfter === null ? null : retryAfter.slice(0, 40), waitMs });
    await r.res.body.cancel().catch(() => undefined);
    const slept = await new Promise<boolean>((resolve) => {
      const signal = ctx.deps.signal;
      if (signal.aborted) return resolve(false);
      const t = setTimeout(() => resolve(true), waitMs);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve(false);
        },
        { once: true },
      );
    });
    if (!slept) break;
    r = await followBlob(pool, url, range, authorization);
  }
  return { r, retries, refused: null };
}
