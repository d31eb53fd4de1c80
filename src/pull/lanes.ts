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
  private workers: { w: Worker; busy: number; pending: Map<number, Pending>; answered: boolean }[] = [];
  private nextId = 1;
  /** A Worker that failed before answering (its module could not load): the rest go inline. */
  private broken = false;

  constructor(private readonly count: number) {}

  /** One GET in a Worker; the body stays there until `toFile` (or `cancel`). */
  open(url: string, o: OpenOptions): Promise<Opened> {
    if (this.broken) return openWithFetch(url, o);
    const lane = this.lane();
    const id = this.nextId++;
    const post = (m: object) => lane.w.postMessage({ ...m, id });
    return new Promise<Opened>((resolve, reject) => {
      const onAbort = () => post({ type: "cancel" });
      if (o.signal.aborted) return reject(o.signal.reason);
      o.signal.addEventListener("abort", onAbort, { once: true });
      const finish = () => {
        lane.pending.delete(id);
        lane.busy--;
        o.signal.removeEventListener("abort", onAbort);
      };
      lane.busy++;
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

  /** The least busy Worker, started on first use. */
  private lane() {
    if (this.workers.length < this.count && this.workers.every((l) => l.busy > 0)) {
      const w = new Worker(workerUrl(), { smol: true } as WorkerOptions);
      const lane = { w, busy: 0, pending: new Map<number, Pending>(), answered: false };
      w.onmessage = (ev: MessageEvent) => {
        lane.answered = true;
        lane.pending.get(ev.data.id)?.message(ev.data);
      };
      // A Worker that dies fails its transfers as transport errors: the retry loop resumes them on the main thread.
      w.onerror = (ev: ErrorEvent) => {
        if (!lane.answered) this.broken = true;
        for (const p of [...lane.pending.values()]) p.fail(Object.assign(new Error(`blob worker: ${ev.message}`), { code: "EWORKER" }));
      };
      this.workers.push(lane);
      return lane;
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  close(): void {
    for (const l of this.workers) l.w.terminate();
    this.workers = [];
  }
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
