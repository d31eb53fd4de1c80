import { activeRateLimit } from "./rate-limit";
import { type Opened, type OpenOptions, openWithFetch } from "./transport";

/**
 * Blob transfers in Bun Workers (blob-worker.ts): the main thread keeps every decision
 * (tokens, redirects, retries, trace, progress) and a Worker only moves bytes, so on a
 * 2-core machine hashing no longer queues on the one JS thread that also drives the
 * diagnosis and the UI (docs/performance.md, "Workers"). Used for first attempts only,
 * where Bun's fetch is the transport anyway; retries stay on the main thread's
 * node:http path, which keeps every received byte when a link is cut.
 */
export class Lanes {
  private workers: Lane[] = [];
  private nextId = 1;

  constructor(private readonly count: number) {}

  /** One GET in a Worker; the body stays there until `toFile` (or `cancel`). `bytes`: the blob bytes it is to move. */
  open(url: string, o: OpenOptions, bytes = 0): Promise<Opened> {
    // A Worker that failed before answering (its module could not load): the rest go inline.
    if (this.workers.some((l) => l.broken)) return openWithFetch(url, o);
    const lane = this.lane(bytes);
    const id = this.nextId++;
    const post = (m: object) => lane.w.postMessage({ ...m, id });
    return new Promise<Opened>((resolve, reject) => {
      const onAbort = () => post({ type: "cancel" });
      if (o.signal.aborted) return reject(o.signal.reason);
      o.signal.addEventListener("abort", onAbort, { once: true });
      const finish = () => {
        lane.pending.delete(id);
        lane.busy--;
        lane.bytes -= bytes;
        o.signal.removeEventListener("abort", onAbort);
      };
      lane.busy++;
      lane.bytes += bytes;
      lane.pending.set(id, {
        fail: (e) => {
          finish();
          reject(e);
        },
        message: (m) => {
          if (m.type === "error") {
            finish();
            reject(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
            return;
          }
          if (m.type !== "head") return;
          const headers = m.headers;
          const hasBody = m.status === 200 || m.status === 206;
          // Without a body to move the Worker is done with this request.
          if (!hasBody) finish();
          resolve({
            status: m.status,
            statusText: m.statusText,
            header: (n) => headers[n.toLowerCase()] ?? null,
            consume: () => Promise.reject(new Error("a Worker's body goes to a file: use toFile")),
            cancel: () => {
              if (!hasBody || !lane.pending.has(id)) return;
              post({ type: "cancel" });
              finish();
            },
            text: async () => m.text,
            toFile: (job) =>
              new Promise((done, failed) => {
                lane.pending.set(id, {
                  fail: (e) => {
                    finish();
                    failed(Object.assign(e, { total: job.offset }));
                  },
                  message: (r) => {
                    if (r.type === "progress") return job.onBytes(r.total);
                    finish();
                    if (r.type === "end") done({ total: r.total, digest: r.digest });
                    else if (r.type === "head") failed(new Error("the blob Worker answered a second head"));
                    else
                      failed(
                        Object.assign(
                          new Error(r.message),
                          r.type === "fail" ? { kind: r.kind, total: r.total } : {},
                          r.code ? { code: r.code } : {},
                        ),
                      );
                  },
                });
                // --limit-rate: the Worker takes from the same shared bucket (rate-limit.ts).
                post({
                  type: "consume",
                  path: job.path,
                  offset: job.offset,
                  size: job.size,
                  algorithm: job.algorithm,
                  owner: job.owner,
                  limit: activeRateLimit()?.buffer ?? null,
                });
              }),
          });
        },
      });
      post({ type: "open", url, headers: o.headers, init: o.init });
    });
  }

  /**
   * The least busy Worker. Another is started when every one is busy and the blob bytes in
   * flight, these included, reach SPREAD_BYTES: on 2 cores a second Worker halves the hashing
   * of large layers, but for small blobs it is only more threads contending for the cores
   * (docs/performance.md, "Small blobs and the first byte").
   */
  private lane(bytes: number): Lane {
    const inFlight = this.workers.reduce((n, l) => n + l.bytes, bytes);
    const more = this.workers.length === 0 || (inFlight >= SPREAD_BYTES && this.workers.every((l) => l.busy > 0));
    if (more && this.workers.length < this.count) {
      // A pre-started Worker that failed while idle had no transfer to fail: a new one fails its first (then inline).
      let lane = warm.shift() ?? startLane();
      if (lane.broken) {
        lane.w.terminate();
        lane = startLane();
      }
      lane.w.ref();
      this.workers.push(lane);
      return lane;
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  /** Workers this Lanes runs now. */
  get started(): number {
    return this.workers.length;
  }

  close(): void {
    for (const l of this.workers) l.w.terminate();
    this.workers = [];
  }
}

/** Blob bytes in flight from which a second Worker is started (32 MiB: never for a pull of 1 MiB layers, at once for 100 MiB ones). */
export const SPREAD_BYTES = 32 << 20;

interface Lane {
  w: Worker;
  /** Transfers and their blob bytes on this Worker now. */
  busy: number;
  bytes: number;
  pending: Map<number, Pending>;
  answered: boolean;
  /** It failed before answering anything: its module could not load. */
  broken: boolean;
}

function startLane(): Lane {
  const w = new Worker(workerUrl(), { smol: true } as WorkerOptions);
  const lane: Lane = { w, busy: 0, bytes: 0, pending: new Map(), answered: false, broken: false };
  w.onmessage = (ev: MessageEvent) => {
    lane.answered = true;
    lane.pending.get(ev.data.id)?.message(ev.data);
  };
  // A Worker that dies fails its transfers as transport errors: the retry loop resumes them on the main thread.
  w.onerror = (ev: ErrorEvent) => {
    if (!lane.answered) lane.broken = true;
    for (const p of [...lane.pending.values()]) p.fail(Object.assign(new Error(`blob worker: ${ev.message}`), { code: "EWORKER" }));
  };
  return lane;
}

/** Workers started before the pull needs them (while `pull`'s diagnosis runs), for the next Lanes. */
const warm: Lane[] = [];

/**
 * Start `count` blob Workers now, so their start-up overlaps whatever runs before the pull
 * (docs/performance.md, "Small blobs and the first byte"). Unreferenced until a Lanes takes
 * one: an idle pre-started Worker never keeps the process alive.
 */
export function prewarmLanes(count: number): void {
  while (warm.length < count) {
    const lane = startLane();
    lane.w.unref();
    warm.push(lane);
  }
}

/** Pre-started Workers waiting for a Lanes. */
export function warmLanes(): number {
  return warm.length;
}

/** Stop pre-started Workers no Lanes took beyond `keep` (no pull happened, it runs without Workers, or on fewer). */
export function dropWarmLanes(keep = 0): void {
  for (const l of warm.splice(keep)) l.w.terminate();
}

/**
 * Where blob-worker.ts is. From source: beside this file. In the `bun build --compile`
 * executable every module's import.meta.url is the executable's (file:///$bunfs/root/pulldoctor)
 * and the Worker entry, listed in scripts/compile.ts, is embedded under its path relative to src/.
 * A Windows executable names the same virtual root B:/~BUN/root/ (its strings say so).
 */
function workerUrl(): URL {
  return import.meta.url.includes("/$bunfs/") || import.meta.url.includes("/~BUN/")
    ? new URL("./pull/blob-worker.ts", import.meta.url)
    : new URL("./blob-worker.ts", import.meta.url);
}

/** What a blob Worker answers (blob-worker.ts posts exactly these). */
type FromWorker =
  | { type: "head"; id: number; status: number; statusText: string; headers: Record<string, string>; text: string }
  | { type: "error"; id: number; message: string; code: string | null }
  | { type: "progress"; id: number; total: number }
  | { type: "end"; id: number; total: number; digest: string }
  | { type: "fail"; id: number; kind: "too-long" | "io" | "body"; message: string; code: string | null; total: number };

interface Pending {
  message: (m: FromWorker) => void;
  fail: (e: Error) => void;
}
