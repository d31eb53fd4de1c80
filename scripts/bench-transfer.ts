/**
 * Receive-loop experiments (issue 5): which way of receiving, hashing and writing a blob
 * costs the least CPU? Starts a real docker-registry on loopback, pushes BLOBS random blobs
 * of MIB MiB, then runs each candidate RUNS times, alternating (the order rotates every
 * round), each run in its own process under GNU time (scripts/bench-transfer-child.ts) into
 * a fresh directory, all blobs at once. Every file is re-hashed here afterwards: a candidate
 * that is fast but wrong fails the benchmark.
 *
 *   bun scripts/bench-transfer.ts [--runs 5] [--blobs 6] [--mib 100] [--only A,C,curl] [--tls]
 *
 * --tls serves the registry over https (a self-signed certificate for 127.0.0.1): the raw
 * loops then run over Bun.connect({tls}) / node:tls.
 *
 * Per candidate, medians of: process wall, transfer wall (first GET to last digest, inside
 * the process), client CPU (user+sys), registry CPU (/proc/PID/stat), peak RSS. "start" is
 * the process with its Workers and no transfer: subtract it to get the loop's own cost.
 */
import { randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { selfSigned } from "../test/helpers/pki";
import { pushBlob } from "../test/helpers/push";
import { startRegistry } from "../test/peers/registry";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const RUNS = Number(opt("runs", "5"));
const BLOBS = Number(opt("blobs", "6"));
const MIB = Number(opt("mib", "100"));
const work = path.join(os.tmpdir(), `pd-bench-transfer-${process.pid}`);
const child = path.join(import.meta.dir, "bench-transfer-child.ts");

interface Candidate {
  name: string;
  what: string;
  loop?: string;
  workers?: number;
  /** A decomposition run doing only part of the work (nothing written ⇒ no file to check; no hash ⇒ only sizes). */
  partial?: { write: boolean; hash: boolean };
  /** Workers started without `smol` (lanes.ts starts them smol: a smaller heap, more frequent GC). */
  smol?: boolean;
  /** Extra environment for the child (allocator options). */
  env?: Record<string, string>;
  /** A shell command instead of the child (the reference). */
  sh?: (blobs: Blob[], dir: string) => string;
}
interface Blob {
  url: string;
  digest: string;
  size: number;
}
const CANDIDATES: Candidate[] = [
  { name: "start", what: "bun + 2 Workers started, nothing moved", loop: "none", workers: 2 },
  { name: "A", what: "fetch + reader + writeSync + hash, 2 Workers (today's blob-worker.ts)", loop: "fetch-writesync", workers: 2 },
  { name: "B", what: "fetch + reader + FileSink + hash, 2 Workers", loop: "fetch-filesink", workers: 2 },
  { name: "C", what: "raw HTTP/1.1 on Bun.connect, data callback: writeSync + hash, 2 Workers", loop: "raw-bunconnect", workers: 2 },
  { name: "D", what: "raw HTTP/1.1 on node:net, 'data' event: writeSync + hash, 2 Workers", loop: "raw-nodenet", workers: 2 },
  { name: "E1", what: "C on the main thread (no Workers)", loop: "raw-bunconnect", workers: 0 },
  { name: "E2", what: "A on the main thread (no Workers)", loop: "fetch-writesync", workers: 0 },
  { name: "E3", what: "fetch + Bun.write(path, response), then hash the file, 2 Workers", loop: "fetch-bunwrite", workers: 2 },
  { name: "E6", what: "C in 1 Worker (all 6 connections in one thread, the main thread idle)", loop: "raw-bunconnect", workers: 1 },
  { name: "E7", what: "C in 2 Workers started without smol", loop: "raw-bunconnect", workers: 2, smol: false },
  { name: "E8", what: "A in 2 Workers started without smol", loop: "fetch-writesync", workers: 2, smol: false },
  {
    name: "E4",
    what: "A with MIMALLOC_PURGE_DELAY=-1 (freed pages kept, not returned to the kernel)",
    loop: "fetch-writesync",
    workers: 2,
    env: { MIMALLOC_PURGE_DELAY: "-1" },
  },
  { name: "E5", what: "C with MIMALLOC_PURGE_DELAY=-1", loop: "raw-bunconnect", workers: 2, env: { MIMALLOC_PURGE_DELAY: "-1" } },
  { name: "P0", what: "part: Bun.connect receive only, 2 Workers", loop: "raw-recv", workers: 2, partial: { write: false, hash: false } },
  {
    name: "P1",
    what: "part: Bun.connect receive + hash, 2 Workers",
    loop: "raw-recv-hash",
    workers: 2,
    partial: { write: false, hash: true },
  },
  {
    name: "P2",
    what: "part: Bun.connect receive + writeSync, 2 Workers",
    loop: "raw-recv-write",
    workers: 2,
    partial: { write: true, hash: false },
  },
  { name: "F0", what: "part: fetch receive only, 2 Workers", loop: "fetch-recv", workers: 2, partial: { write: false, hash: false } },
  { name: "F1", what: "part: fetch receive + hash, 2 Workers", loop: "fetch-recv-hash", workers: 2, partial: { write: false, hash: true } },
  {
    name: "F2",
    what: "part: fetch receive + writeSync, 2 Workers",
    loop: "fetch-recv-write",
    workers: 2,
    partial: { write: true, hash: false },
  },
  {
    name: "curl",
    what: "reference: 6 parallel curl -o (no hash)",
    sh: (bs, dir) => `${bs.map((b) => `curl -ksS -o ${dir}/${b.digest.slice(7)} ${b.url} &`).join("\n")}\nwait`,
  },
];

interface Sample {
  wallMs: number;
  transferMs: number;
  cpuMs: number;
  userMs: number;
  sysMs: number;
  serverCpuMs: number;
  rssMiB: number;
  /** Mean bytes per chunk the loop saw (receive granularity). */
  chunkKiB: number;
  /** Minor page faults (fresh pages: allocation churn shows here) and involuntary context switches (load from others). */
  faults: number;
  preempted: number;
}

let serverPid: number | undefined;
function serverCpu(): number {
  const stat = readFileSync(`/proc/${serverPid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** sha256 of a file, read here after the candidate's process has ended. */
function fileDigest(file: string): string {
  const h = new Bun.CryptoHasher("sha256");
  const fd = openSync(file, "r");
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (let off = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, off);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${h.digest("hex")}`;
}

function run(c: Candidate, blobs: Blob[], i: number): Sample {
  const dir = path.join(work, `${c.name}-${i}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const jobFile = path.join(work, "job.json");
  writeFileSync(
    jobFile,
    JSON.stringify({ loop: c.loop, workers: c.workers, dir, blobs, smol: c.smol, check: !c.partial || c.partial.hash ? "digest" : "size" }),
  );
  const argv = c.sh ? ["sh", "-c", c.sh(blobs, dir)] : [process.execPath, child, jobFile];
  const timeFile = path.join(work, "time.txt");
  const s0 = serverCpu();
  const t0 = performance.now();
  const p = Bun.spawnSync(["/usr/bin/time", "-o", timeFile, "-f", "%U %S %M %R %c", ...argv], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...c.env },
  });
  const wallMs = performance.now() - t0;
  const serverCpuMs = serverCpu() - s0;
  if (p.exitCode !== 0) throw new Error(`${c.name} failed (${p.exitCode}):\n${p.stdout}\n${p.stderr}`);
  const [u, s, m, faults, preempted] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-5).map(Number);
  const out = c.sh ? { wallMs } : JSON.parse(p.stdout.toString().trim().split("\n").pop()!);
  if (c.loop !== "none" && (!c.partial || c.partial.write)) {
    for (const b of blobs) {
      const got = fileDigest(path.join(dir, b.digest.slice(7)));
      if (got !== b.digest) throw new Error(`${c.name}: the file for ${b.digest} hashes to ${got}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const chunkKiB = out.chunks ? out.bytes / out.chunks / 1024 : 0;
  return {
    wallMs,
    transferMs: out.wallMs,
    cpuMs: (u + s) * 1000,
    userMs: u * 1000,
    sysMs: s * 1000,
    serverCpuMs,
    rssMiB: m / 1024,
    chunkKiB,
    faults,
    preempted,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const only = opt("only", "");
  const cands = only ? CANDIDATES.filter((c) => only.split(",").includes(c.name)) : CANDIDATES;
  mkdirSync(work, { recursive: true });
  const cert = args.includes("--tls") ? selfSigned({ cn: "127.0.0.1", sans: ["IP:127.0.0.1"] }) : null;
  const reg = await startRegistry(cert ? { tls: { certificate: cert.certFile, key: cert.keyFile } } : {});
  serverPid = reg.pid;
  try {
    const blobs: Blob[] = [];
    for (let i = 0; i < BLOBS; i++) {
      const data = new Uint8Array(MIB << 20);
      randomFillSync(data);
      const digest = `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
      await pushBlob(reg.url, "bench/transfer", digest, data, {});
      blobs.push({ url: `${reg.url}/v2/bench/transfer/blobs/${digest}`, digest, size: data.length });
    }
    console.log(
      `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}); bun ${Bun.version}; ${BLOBS} blobs × ${MIB} MiB, registry ${reg.url}`,
    );
    const load0 = os.loadavg();
    for (const c of cands) run(c, blobs, -1); // warm-up: registry files in the page cache
    const results: Record<string, Sample[]> = Object.fromEntries(cands.map((c) => [c.name, []]));
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < cands.length; k++) {
        const c = cands[(i + k) % cands.length];
        results[c.name].push(run(c, blobs, i));
      }
    }
    const load1 = os.loadavg();
    // sha256 alone over the same number of bytes, on this thread (as bench-pull's CPU floor).
    const chunk = new Uint8Array(1 << 20);
    randomFillSync(chunk);
    const h0 = performance.now();
    const h = new Bun.CryptoHasher("sha256");
    for (let n = 0; n < BLOBS * MIB; n++) h.update(chunk);
    h.digest();
    console.log(`sha256 of ${BLOBS * MIB} MiB on one thread: ${(performance.now() - h0).toFixed(0)} ms`);
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    console.log(
      `\nmedian of ${RUNS} runs (load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${load1.map((x) => x.toFixed(2)).join(" ")})`,
    );
    console.log(
      `${"cand".padEnd(6)}${pad("wall", 7)}${pad("xfer", 7)}${pad("cpu", 7)}${pad("user", 6)}${pad("sys", 6)}${pad("cpu-start", 10)}${pad("registry", 9)}${pad("rss", 6)}${pad("chunk", 7)}${pad("faults", 8)}${pad("invcs", 7)}  what`,
    );
    const start = results.start ? median(results.start.map((x) => x.cpuMs)) : 0;
    const rows: string[] = [];
    for (const c of cands) {
      const xs = results[c.name];
      const med = (k: keyof Sample) => median(xs.map((x) => x[k]));
      console.log(
        `${c.name.padEnd(6)}${pad(med("wallMs").toFixed(0), 7)}${pad(c.sh ? "-" : med("transferMs").toFixed(0), 7)}${pad(med("cpuMs").toFixed(0), 7)}${pad(med("userMs").toFixed(0), 6)}${pad(med("sysMs").toFixed(0), 6)}${pad(c.sh || c.loop === "none" ? "-" : (med("cpuMs") - start).toFixed(0), 10)}${pad(med("serverCpuMs").toFixed(0), 9)}${pad(med("rssMiB").toFixed(0), 6)}${pad(med("chunkKiB").toFixed(0), 7)}${pad(med("faults").toFixed(0), 8)}${pad(med("preempted").toFixed(0), 7)}  ${c.what}`,
      );
      console.log(`      cpu ms of each run: ${xs.map((x) => x.cpuMs.toFixed(0)).join(", ")}`);
      rows.push(
        `| ${c.name} | ${c.what} | ${med("wallMs").toFixed(0)} | ${c.sh ? "–" : med("transferMs").toFixed(0)} | ${med("cpuMs").toFixed(0)} | ${med("userMs").toFixed(0)} | ${med("sysMs").toFixed(0)} | ${c.sh || c.loop === "none" ? "–" : (med("cpuMs") - start).toFixed(0)} | ${med("serverCpuMs").toFixed(0)} | ${med("rssMiB").toFixed(0)} | ${med("chunkKiB").toFixed(0) || "–"} | ${med("faults").toFixed(0)} |`,
      );
    }
    console.log(
      `\n| cand | loop | wall ms | transfer ms | client CPU ms | user | sys | CPU − start | registry CPU ms | peak RSS MiB | KiB/chunk | minor faults |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n${rows.join("\n")}`,
    );
  } finally {
    await reg.stop();
    cert?.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
