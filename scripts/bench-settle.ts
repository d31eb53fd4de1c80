/**
 * Waiting for the disk before a measured run (benchmarks only). A run that follows one that
 * wrote and deleted 600 MiB paid for that run's disk work: its pages written back, and, on an
 * ext4 mounted with `discard` (this machine's root), the freed blocks trimmed at the next journal
 * commit, seconds later. An A/A run of scripts/bench-pull (the same binary in two slots) put the
 * slot after `curl -o` at 1.20× the other, `sync` alone at 1.09×; waiting for the device to be
 * quiet as well, at 0.99× (docs/performance.md, "A benchmark slot that paid for the one before").
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

/** The counters of /proc/diskstats that move while a device writes, trims or flushes, and its I/Os in flight. */
function diskActivity(major: number, minor: number): string | null {
  for (const line of readFileSync("/proc/diskstats", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (Number(f[0]) !== major || Number(f[1]) !== minor) continue;
    // 7 writes completed, 9 sectors written, 11 I/Os in progress, 14 discards completed,
    // 16 sectors discarded, 18 flushes completed (Documentation/admin-guide/iostats.rst).
    return [7, 9, 11, 14, 16, 18].map((i) => f[i] ?? "").join(" ");
  }
  return null;
}

/**
 * `sync`, then wait until the device holding `dir` has had no write, trim or flush for `quietMs`
 * and nothing in flight (at most `maxMs`). Returns how long it waited, in ms.
 */
export function settleDisk(dir: string, quietMs = 300, maxMs = 15_000): number {
  const t0 = performance.now();
  Bun.spawnSync(["sync"]);
  const dev = statSync(dir).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff);
  let last = diskActivity(major, minor);
  if (last === null) return performance.now() - t0;
  let quietSince = performance.now();
  while (performance.now() - t0 < maxMs) {
    Bun.sleepSync(50);
    const now = diskActivity(major, minor);
    const busy = now !== last || now?.split(" ")[2] !== "0";
    last = now;
    if (busy) quietSince = performance.now();
    else if (performance.now() - quietSince >= quietMs) break;
  }
  return performance.now() - t0;
}

/**
 * What a run writes lands in the page cache, and on this machine (a VM whose guest returns free
 * memory to its host: virtio_balloon's free page reporting, and DAMON reclaim) the first touch of
 * a page that has been free for a couple of seconds is a fault in the host: `dd` of 600 MiB into
 * a file took 1.15 s of system time after 3 s idle and 0.10 s right after another file of that
 * size was deleted. So which run paid depended on how long the one before it had waited for the
 * disk: the big pull's CPU went from 0.85 to 1.3–2.0 s a run, all of it system time in write()
 * (docs/performance.md, "Pages the host had taken back"). This writes `bytes` into a file in
 * `dir` and deletes it at once, before any writeback, so that every measured run, whoever it is,
 * finds that much freshly freed page cache to write into, as on a machine of its own.
 */
export function warmPageCache(dir: string, bytes: number): void {
  const file = path.join(dir, `.warm-${process.pid}`);
  const chunk = Buffer.alloc(1 << 20, 1);
  const fd = openSync(file, "w");
  try {
    for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
}
