/**
 * `pull --limit-rate RATE`: one budget for the whole pull, shared by every blob in flight on
 * the main thread and in the blob Workers (lanes.ts, blob-worker.ts). The state is one
 * SharedArrayBuffer, so a Worker takes from the same bucket without a message round trip:
 *
 *   [0] the rate in bytes per second, [1] the theoretical arrival time (µs since the epoch)
 *
 * It is the generic cell rate algorithm (a token bucket kept as one number): taking n bytes
 * moves the arrival time n/rate later (never earlier than now minus the burst), by
 * compare-and-swap so two threads never take the same budget; the taker then waits until
 * its bytes are due. An idle bucket keeps at most BURST_US of budget. Reading waits, so
 * TCP's window closes and the sender slows: the cap holds on the wire, not only in the file.
 * Measured through the binary (test/e2e/pull-limit-rate.test.ts): 19.9 MiB/s at 20M over
 * 100 MiB in two Workers, 49.4 MiB/s at 50M on the main thread.
 */
export class RateLimit {
  private readonly cells: BigInt64Array;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new BigInt64Array(buffer);
  }

  static create(bytesPerSecond: number): RateLimit {
    const r = new RateLimit(new SharedArrayBuffer(16));
    Atomics.store(r.cells, 0, BigInt(Math.max(1, Math.round(bytesPerSecond))));
    return r;
  }

  /** The same bucket, in a Worker that was sent `buffer`. */
  static attach(buffer: SharedArrayBuffer): RateLimit {
    return new RateLimit(buffer);
  }

  get bytesPerSecond(): number {
    return Number(Atomics.load(this.cells, 0));
  }

  /** Reserve `n` bytes; the milliseconds to wait before they are due (0: now). */
  reserve(n: number, nowUs = epochMicros()): number {
    const cost = (BigInt(n) * 1_000_000n) / Atomics.load(this.cells, 0);
    for (;;) {
      const tat = Atomics.load(this.cells, 1);
      const start = tat > nowUs - BURST_US ? tat : nowUs - BURST_US;
      const next = start + cost;
      if (Atomics.compareExchange(this.cells, 1, tat, next) === tat) {
        return next > nowUs ? Number(next - nowUs) / 1000 : 0;
      }
    }
  }

  /** Wait until `n` more bytes may be read. */
  async take(n: number): Promise<void> {
    const ms = this.reserve(n);
    if (ms > 0) await Bun.sleep(ms);
  }
}

/** 20 ms of budget may be used at once: a chunk is not delayed by its own size alone, and a pull of a few seconds is not 5 % over its cap. */
const BURST_US = 20_000n;

/** Wall-clock microseconds, the same in every thread (performance.now() counts from each thread's own origin). */
function epochMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

let active: RateLimit | null = null;

/**
 * The process's one limiter: a pull command caps all its downloads together (`pull -f` pulls
 * several images under one cap), so it is set once per rate and shared, never per blob.
 */
export function useRateLimit(bytesPerSecond: number | null): RateLimit | null {
  if (bytesPerSecond === null) active = null;
  else if (active?.bytesPerSecond !== Math.round(bytesPerSecond)) active = RateLimit.create(bytesPerSecond);
  return active;
}

export function activeRateLimit(): RateLimit | null {
  return active;
}

/**
 * `10M`, `500k`, `1.5G`, `300000`: bytes per second, the suffixes binary as curl's and wget's
 * --limit-rate read them (1k = 1024 bytes). Null when it does not parse or is not positive.
 */
export function parseRate(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG])?[bB]?$/.exec(s.trim());
  if (!m) return null;
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? "").toLowerCase() as "k" | "m" | "g"] ?? 1;
  const n = Math.floor(Number(m[1]) * mult);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}
