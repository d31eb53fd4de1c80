import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * Which part of a pull dominates: the same blobs fetched in parallel with Bun's fetch,
 * (a) read and discarded, (b) read and hashed, (c) read, hashed and written (what the engine
 * does); then, with no network, (d) sha256 alone and (e) writing alone over the same bytes.
 */
export async function breakdown(base: string, repo: string, blobs: { digest: string; size: number }[], work: string): Promise<void> {
  const dir = path.join(work, "breakdown");
  const url = (d: string) => `${base}/v2/${repo}/blobs/${d}`;
  const runs = 3;
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const time = async (fn: () => Promise<void>) => {
    const xs: number[] = [];
    for (let i = 0; i < runs; i++) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      xs.push(performance.now() - t0);
      void c0;
    }
    return med(xs);
  };
  const fetchAll = (hash: boolean, write: boolean) =>
    Promise.all(
      blobs.map(async (b, i) => {
        const res = await fetch(url(b.digest));
        const h = hash ? new Bun.CryptoHasher("sha256") : null;
        const fd = write ? openSync(path.join(dir, String(i)), "w") : -1;
        for await (const c of res.body!) {
          h?.update(c);
          if (fd >= 0) writeSync(fd, c);
        }
        if (fd >= 0) closeSync(fd);
      }),
    ).then(() => {});
  const read = await time(() => fetchAll(false, false));
  const hashed = await time(() => fetchAll(true, false));
  const all = await time(() => fetchAll(true, true));
  // No network: one 64 MiB buffer hashed / written as many times as the image is large.
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const buf = new Uint8Array(64 << 20).fill(7);
  const reps = Math.ceil(total / buf.length);
  const hashOnly = await time(async () => {
    const h = new Bun.CryptoHasher("sha256");
    for (let i = 0; i < reps; i++) h.update(buf);
    h.digest();
  });
  const writeOnly = await time(async () => {
    const fd = openSync(path.join(dir, "w"), "w");
    for (let i = 0; i < reps; i++) writeSync(fd, buf);
    closeSync(fd);
  });
  rmSync(dir, { recursive: true, force: true });
  const mib = total / 2 ** 20;
  const line = (name: string, ms: number) =>
    console.log(`  ${name.padEnd(44)}${ms.toFixed(0).padStart(6)} ms  ${(mib / (ms / 1000)).toFixed(0).padStart(6)} MiB/s`);
  console.log(`\nbreakdown (${mib.toFixed(0)} MiB, in one bun process, median of ${runs}):`);
  line("(a) parallel fetch, bytes discarded", read);
  line("(b) parallel fetch + sha256", hashed);
  line("(c) parallel fetch + sha256 + write (engine)", all);
  line("(d) sha256 only, one thread, no network", hashOnly);
  line("(e) write only, one thread, no network", writeOnly);
}
