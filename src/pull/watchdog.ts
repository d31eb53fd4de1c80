/**
 * The time rules of one blob attempt. Inactivity timers (undici's bodyTimeout, a "no data for
 * N ms" check) restart on every byte, so a host that drips a byte a second keeps a transfer
 * alive forever. Two rules end an attempt instead, both from --timeout (T):
 *
 * - the response head must arrive within T of the request (a silent host, a head dripped
 *   byte by byte);
 * - then the body must move: no byte for T, or fewer than LOW_SPEED_BYTES within any
 *   window of T (windows start at the head and follow each other), ends it as stalled.
 *
 * The low-speed floor is deliberately tiny: 1 KiB per window is 68 B/s at the default 15 s,
 * 512 B/s at --timeout 2. A link that moves at all (a congested VPN at a few KiB/s) is never
 * cut; only a drip that would take days for a layer is. Like curl's --speed-limit/--speed-time.
 */
export const LOW_SPEED_BYTES = 1024;

export interface Watchdog {
  /** Call with the running byte count each time bytes arrive. */
  progress(total: number): void;
  /** The body is over (or failed): stop the timers. */
  stop(): void;
  /** Why the attempt was ended, once it was. */
  reason(): string | null;
}

/** Headers within `timeoutMs`: aborts `abort` otherwise. Returns the cancel function. */
export function headDeadline(timeoutMs: number, abort: AbortController, setReason: (why: string) => void): () => void {
  const t = setTimeout(() => {
    setReason(`no response within ${timeoutMs} ms (the connection was accepted, the answer never came)`);
    abort.abort(new Error(`no response within ${timeoutMs} ms`));
  }, timeoutMs);
  return () => clearTimeout(t);
}

export function bodyWatchdog(timeoutMs: number, start: number, abort: AbortController, now: () => number = Date.now): Watchdog {
  let total = start;
  let last = now();
  let windowStart = last;
  let windowBytes = start;
  let why: string | null = null;
  const end = (msg: string) => {
    why = msg;
    abort.abort(new Error(msg));
  };
  const timer = setInterval(
    () => {
      const t = now();
      if (t - last > timeoutMs) return end(`no data for ${timeoutMs} ms`);
      if (t - windowStart >= timeoutMs) {
        const moved = total - windowBytes;
        if (moved === 0) return end(`no data for ${timeoutMs} ms`);
        if (moved < LOW_SPEED_BYTES)
          return end(
            `only ${moved} bytes in ${timeoutMs} ms (below the ${LOW_SPEED_BYTES} bytes per --timeout window pulldoctor requires)`,
          );
        windowStart = t;
        windowBytes = total;
      }
    },
    Math.max(50, Math.min(1000, timeoutMs / 4)),
  );
  return {
    progress(n) {
      if (n > total) last = now();
      total = n;
    },
    stop: () => clearInterval(timer),
    reason: () => why,
  };
}
