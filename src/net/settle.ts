/**
 * How a probe ends: with the first of its own result, its deadline or the caller's abort.
 * The returned `settle` resolves once, after clearing the timer and the abort listener and
 * running `cleanup` (destroy the socket); later calls do nothing. A signal already aborted
 * settles at once (the caller checks `signal.aborted` before starting work).
 */
export function settleOnce<T>(
  resolve: (v: T) => void,
  o: { timeoutMs: number; signal?: AbortSignal; onTimeout: () => T; onAbort: () => T; cleanup?: () => void },
): (v: T) => void {
  let done = false;
  const settle = (v: T) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    o.cleanup?.();
    resolve(v);
  };
  const onAbort = () => settle(o.onAbort());
  const timer = setTimeout(() => settle(o.onTimeout()), o.timeoutMs);
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener("abort", onAbort, { once: true });
  return settle;
}
