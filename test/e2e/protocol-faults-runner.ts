import { readFileSync, readlinkSync, realpathSync } from "node:fs";
import { pinClient, requireBinaryBuilt } from "../helpers/binary";

/**
 * Running the compiled binary for the fault e2e tests (protocol-faults-registry.test.ts): wall
 * time, and the binary's own memory high-water mark, which wait4's maxrss cannot give (it counts
 * the test runner's pages the child had before exec).
 */
export interface BinaryRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  maxRss: number;
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function readlinkSafe(file: string): string {
  try {
    return readlinkSync(file);
  } catch {
    return "";
  }
}

export async function runBinary(args: string[], env: Record<string, string>, cwd: string): Promise<BinaryRun> {
  const started = performance.now();
  const proc = Bun.spawn([requireBinaryBuilt(), ...pinClient(args)], {
    env,
    cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  // The kernel's high-water mark of the binary's own memory (VmHWM starts afresh at exec; wait4's
  // maxrss would count the test runner's pages the child had before exec). Sampled until exit.
  let maxRss = 0;
  const binary = realpathSync(requireBinaryBuilt());
  const sample = () => {
    // Before exec the child is still a copy of this runner: only the binary's own pages count.
    if (readlinkSafe(`/proc/${proc.pid}/exe`) !== binary) return;
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSafe(`/proc/${proc.pid}/status`));
    if (m) maxRss = Math.max(maxRss, Number(m[1]) * 1024);
  };
  // Every 2 ms: a check that fails at its first request now exits within 20 ms, before a slower sampler looked once.
  const sampler = setInterval(sample, 2);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearInterval(sampler);
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - started, maxRss };
}

/** A small pool: every job starts at once, `width` at a time; each caller awaits its own promise. */
export function schedule<T>(jobs: [string, () => Promise<T>][], width: number): Map<string, Promise<T>> {
  const out = new Map<string, Promise<T>>();
  const queue = [...jobs];
  const waiters = new Map<string, { resolve: (r: T) => void; reject: (e: unknown) => void }>();
  for (const [key] of jobs) out.set(key, new Promise<T>((resolve, reject) => waiters.set(key, { resolve, reject })));
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const w = waiters.get(job[0])!;
      await job[1]().then(w.resolve, w.reject);
    }
  };
  for (let i = 0; i < width; i++) void worker();
  return out;
}
