/**
 * The pull benchmark of issue 5 (a benchmark, not a test). Starts a real docker-registry on
 * loopback, pushes an image of LAYERS incompressible layers of LAYER_MIB each, then runs,
 * alternating, RUNS times each with a fresh destination (and a fresh blob store):
 *   pulldoctor  dist/pulldoctor pull … --output oci:DIR (or, with --engine or without the
 *               binary, the engine alone: bun scripts/bench-pull-entry.ts)
 *   skopeo      skopeo copy docker://… oci:DIR
 *   curl        every blob in parallel: curl | tee FILE | sha256sum (the machine's limit)
 *   curl-nohash every blob in parallel: curl -o FILE (transfer and write only, no hashing)
 * and prints median wall, CPU (user+sys) and peak RSS of each, and the ratios. It also reads
 * the registry's own CPU time from /proc for each run: on a 2-core machine the server shares
 * the cores with the client, so (client CPU + server CPU) / cores is a floor on the wall time.
 *
 *   scripts/bench-pull [--runs 5] [--layers 6] [--layer-mib 100] [--engine]
 *                      [--scale 4] [--sweep 1,2,3,4,6] [--breakdown] [--resume]
 *                      [--compare-workers]  (also runs pulldoctor with PULLDOCTOR_PULL_WORKERS=0)
 *                      [--baseline PATH]  (also runs another build, e.g. an older commit's, alternating)
 *                      [--workers-sweep 0,1,2,3]  (pulldoctor with each number of blob Workers)
 *   scripts/bench-pull --table [--runs 5]   issue 15's table: every ratio in one alternating run (scripts/bench-table.ts)
 */
import { randomFillSync } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { END_OF_ARCHIVE, padding, tarHeader } from "../src/pull/outputs/tar-header";
import { pushBlob, putManifest } from "../test/helpers/push";
import { type RegistryPeer, startRegistry } from "../test/peers/registry";
import { breakdown } from "./bench-pull-breakdown";
import { settleDisk, warmPageCache } from "./bench-settle";
import { issueTable } from "./bench-table";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] && !args[i + 1].startsWith("--") ? args[i + 1] : def;
};
const flag = (name: string) => args.includes(`--${name}`);
const RUNS = Number(opt("runs", "5"));
const LAYERS = Number(opt("layers", "6"));
const LAYER_MIB = Number(opt("layer-mib", "100"));
/** Page cache warmed before each measured run: the largest image of the run or of --table (600 MiB), and some. */
const WARM_BYTES = (Math.max(LAYERS * LAYER_MIB, 600) + 128) * 2 ** 20;
const root = path.resolve(import.meta.dir, "..");
const bun = process.execPath;
const work = path.join(os.tmpdir(), `pd-bench-${process.pid}`);
mkdirSync(work, { recursive: true });

interface Blob {
  digest: string;
  size: number;
}
interface Pushed {
  repo: string;
  blobs: Blob[];
  bytes: number;
}

/** An OCI image whose layers are uncompressed tars of random bytes (nothing to gain from compression). */
async function pushImage(reg: RegistryPeer, repo: string, layers: number, layerMib: number): Promise<Pushed> {
  const blobs: Blob[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < layers; i++) {
    const size = layerMib << 20;
    const data = new Uint8Array(512 + size + padding(size).length + END_OF_ARCHIVE.length);
    data.set(tarHeader({ name: `layer${i}.bin`, size }), 0);
    randomFillSync(data.subarray(512, 512 + size));
    const digest = `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
    await pushBlob(reg.url, repo, digest, data, {});
    blobs.push({ digest, size: data.length });
    diffIds.push(digest);
  }
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: diffIds }, config: {} }),
  );
  const cdigest = `sha256:${new Bun.CryptoHasher("sha256").update(config).digest("hex")}`;
  await pushBlob(reg.url, repo, cdigest, config, {});
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cdigest, size: config.length },
    layers: blobs.map((b) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: b.digest, size: b.size })),
  };
  await putManifest(reg.url, repo, "1", manifest.mediaType, new TextEncoder().encode(JSON.stringify(manifest)), {});
  return { repo, blobs: [{ digest: cdigest, size: config.length }, ...blobs], bytes: blobs.reduce((n, b) => n + b.size, config.length) };
}

interface Sample {
  /** CPU the registry process spent serving this run (user+sys from /proc/PID/stat). */
  serverCpuMs: number;
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
}

let serverPid: number | undefined;
/** user+sys CPU of the registry so far, in ms (fields 14 and 15 of /proc/PID/stat, in 1/100 s ticks). */
function serverCpu(): number {
  if (!serverPid) return 0;
  const stat = readFileSync(`/proc/${serverPid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Runs argv under GNU time: wall from here, CPU and max RSS from its rusage; the registry's CPU from /proc. */
function measure(argv: string[], env: Record<string, string> = {}): Sample {
  const timeFile = path.join(work, "time.txt");
  // The previous run's files written back and trimmed before this one starts, not during it.
  settleDisk(work);
  warmPageCache(work, WARM_BYTES);
  const s0 = serverCpu();
  const t0 = performance.now();
  const p = Bun.spawnSync(["/usr/bin/time", "-o", timeFile, "-f", "%U %S %M", ...argv], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const wallMs = performance.now() - t0;
  const serverCpuMs = serverCpu() - s0;
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${p.exitCode}):\n${p.stdout}\n${p.stderr}`);
  const [u, s, m] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-3).map(Number);
  return { wallMs, cpuMs: (u + s) * 1000, rssMiB: m / 1024, serverCpuMs };
}

function pulldoctorArgv(reg: RegistryPeer, img: Pushed, dest: string, concurrency?: number, binary?: string): string[] {
  const bin = binary ?? path.join(root, "dist/pulldoctor");
  const c = concurrency ? [String(concurrency)] : [];
  if (!flag("engine") && existsSync(bin)) {
    return [
      bin,
      "pull",
      `${reg.host}/${img.repo}:1`,
      "--insecure-registry",
      reg.host,
      "--output",
      `oci:${dest}:1`,
      "--json",
      ...(concurrency ? ["--concurrency", String(concurrency)] : []),
    ];
  }
  return [bun, path.join(root, "scripts/bench-pull-entry.ts"), reg.url, img.repo, "1", `oci:${dest}:1`, ...c];
}

type Tool = "pulldoctor" | "pulldoctor-inline" | "pulldoctor-baseline" | "skopeo" | "curl" | "curl-nohash";

function runTool(tool: Tool, reg: RegistryPeer, img: Pushed, i: number): Sample {
  const dest = path.join(work, `${tool}-${i}`);
  const store = path.join(work, `store-${tool}-${i}`);
  rmSync(dest, { recursive: true, force: true });
  try {
    if (tool === "pulldoctor") return measure(pulldoctorArgv(reg, img, dest), { PULLDOCTOR_STORE: store, HOME: work });
    // The same binary with its blob Workers off (every blob fetched, hashed and written on the main thread).
    if (tool === "pulldoctor-baseline")
      return measure(pulldoctorArgv(reg, img, dest, undefined, opt("baseline", "")), { PULLDOCTOR_STORE: store, HOME: work });
    if (tool === "pulldoctor-inline")
      return measure(pulldoctorArgv(reg, img, dest), { PULLDOCTOR_STORE: store, HOME: work, PULLDOCTOR_PULL_WORKERS: "0" });
    if (tool === "skopeo")
      return measure(["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${reg.host}/${img.repo}:1`, `oci:${dest}:1`]);
    mkdirSync(dest, { recursive: true });
    if (tool === "curl-nohash")
      return measure([
        "sh",
        "-c",
        img.blobs.map((b) => `curl -sS -o ${dest}/${b.digest.slice(7)} ${reg.url}/v2/${img.repo}/blobs/${b.digest} &`).join("\n") +
          "\nwait",
      ]);
    const jobs = img.blobs
      .map((b) => `(curl -sS ${reg.url}/v2/${img.repo}/blobs/${b.digest} | tee ${dest}/${b.digest.slice(7)} | sha256sum >/dev/null) &`)
      .join("\n");
    return measure(["sh", "-c", `${jobs}\nwait`]);
  } finally {
    rmSync(dest, { recursive: true, force: true });
    rmSync(store, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f0 = (n: number) => n.toFixed(0).padStart(7);

function report(results: Record<string, Sample[]>): Record<string, Sample> {
  const med: Record<string, Sample> = {};
  console.log(
    `\n${"tool".padEnd(18)}${"wall ms".padStart(9)}${"cpu ms".padStart(9)}${"rss MiB".padStart(9)}${"server cpu".padStart(12)}   (median of ${RUNS}; all runs: wall ms)`,
  );
  for (const [tool, xs] of Object.entries(results)) {
    med[tool] = {
      wallMs: median(xs.map((x) => x.wallMs)),
      cpuMs: median(xs.map((x) => x.cpuMs)),
      rssMiB: median(xs.map((x) => x.rssMiB)),
      serverCpuMs: median(xs.map((x) => x.serverCpuMs)),
    };
    console.log(
      `${tool.padEnd(18)}${f0(med[tool].wallMs)}  ${f0(med[tool].cpuMs)}  ${f0(med[tool].rssMiB)}  ${f0(med[tool].serverCpuMs).padStart(10)}   [${xs.map((x) => x.wallMs.toFixed(0)).join(", ")}]`,
    );
  }
  return med;
}

async function main() {
  const reg = await startRegistry();
  serverPid = reg.pid;
  try {
    console.log(
      `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; bun ${Bun.version}; skopeo ${Bun.spawnSync(["skopeo", "--version"]).stdout.toString().trim()}`,
    );
    console.log(`pulldoctor: ${pulldoctorArgv(reg, { repo: "bench/img", blobs: [], bytes: 0 }, "DIR").slice(0, 3).join(" ")} …`);
    if (flag("table")) {
      await issueTable({
        root,
        work,
        rounds: RUNS,
        host: reg.host,
        url: reg.url,
        measure,
        pushImage: (r, l, m) => pushImage(reg, r, l, m),
      });
      return;
    }
    const img = await pushImage(reg, "bench/img", LAYERS, LAYER_MIB);
    console.log(`image: ${LAYERS} layers × ${LAYER_MIB} MiB random (${(img.bytes / 2 ** 20).toFixed(0)} MiB), registry ${reg.url}`);
    // One unmeasured run each: the registry's files into the page cache, binaries loaded.
    for (const t of ["curl", "curl-nohash", "skopeo", "pulldoctor"] as Tool[]) runTool(t, reg, img, -1);
    const order: Tool[] = [
      "pulldoctor",
      ...(flag("compare-workers") ? ["pulldoctor-inline" as Tool] : []),
      ...(opt("baseline", "") ? ["pulldoctor-baseline" as Tool] : []),
      "skopeo",
      "curl",
      "curl-nohash",
    ];
    if (flag("compare-workers")) runTool("pulldoctor-inline", reg, img, -1);
    if (opt("baseline", "")) runTool("pulldoctor-baseline", reg, img, -1);
    const results = Object.fromEntries(order.map((t) => [t, [] as Sample[]])) as Record<Tool, Sample[]>;
    for (let i = 0; i < RUNS; i++) {
      for (let k = 0; k < order.length; k++) {
        const t = order[(i + k) % order.length];
        results[t].push(runTool(t, reg, img, i));
      }
    }
    const med = report(results);
    const vsSkopeo = med.pulldoctor.wallMs / med.skopeo.wallMs;
    const vsCurl = med.pulldoctor.wallMs / med.curl.wallMs;
    console.log(`\npulldoctor / skopeo wall: ${vsSkopeo.toFixed(2)}× (target ≤ 0.6×) ${vsSkopeo <= 0.6 ? "MET" : "NOT MET"}`);
    console.log(`pulldoctor / parallel curl wall: ${vsCurl.toFixed(2)}× (target ≤ 1.5×) ${vsCurl <= 1.5 ? "MET" : "NOT MET"}`);
    console.log(
      `pulldoctor / parallel curl without sha256 (transfer + write only): ${(med.pulldoctor.wallMs / med["curl-nohash"].wallMs).toFixed(2)}×`,
    );
    if (med["pulldoctor-baseline"])
      console.log(
        `pulldoctor / baseline (${opt("baseline", "")}): wall ${(med.pulldoctor.wallMs / med["pulldoctor-baseline"].wallMs).toFixed(2)}×, CPU ${(med.pulldoctor.cpuMs / med["pulldoctor-baseline"].cpuMs).toFixed(2)}×`,
      );
    if (med["pulldoctor-inline"])
      console.log(
        `pulldoctor with blob Workers / without: wall ${(med.pulldoctor.wallMs / med["pulldoctor-inline"].wallMs).toFixed(2)}×, CPU ${(med.pulldoctor.cpuMs / med["pulldoctor-inline"].cpuMs).toFixed(2)}×, RSS ${med.pulldoctor.rssMiB.toFixed(0)} vs ${med["pulldoctor-inline"].rssMiB.toFixed(0)} MiB`,
      );
    console.log(
      `pulldoctor peak RSS: ${med.pulldoctor.rssMiB.toFixed(0)} MiB (target < 150) ${med.pulldoctor.rssMiB < 150 ? "MET" : "NOT MET"}`,
    );
    cpuFloor(med, img.bytes);

    if (opt("sweep", "")) {
      console.log("\n--concurrency sweep (pulldoctor, median wall ms):");
      for (const c of opt("sweep", "").split(",").map(Number)) {
        const xs: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const dest = path.join(work, `sweep-${c}-${i}`);
          const store = path.join(work, `sweep-store-${c}-${i}`);
          xs.push(measure(pulldoctorArgv(reg, img, dest, c), { PULLDOCTOR_STORE: store, HOME: work }).wallMs);
          rmSync(dest, { recursive: true, force: true });
          rmSync(store, { recursive: true, force: true });
        }
        console.log(`  concurrency ${c}: ${median(xs).toFixed(0)} ms  [${xs.map((x) => x.toFixed(0)).join(", ")}]`);
      }
    }
    if (opt("workers-sweep", "")) {
      // Alternating, so background load falls on every value alike.
      const values = opt("workers-sweep", "").split(",");
      const xs: Record<string, Sample[]> = Object.fromEntries(values.map((v) => [v, []]));
      for (let i = 0; i < RUNS; i++) {
        for (const v of i % 2 ? [...values].reverse() : values) {
          const dest = path.join(work, `wsweep-${v}-${i}`);
          const store = path.join(work, `wsweep-store-${v}-${i}`);
          xs[v].push(measure(pulldoctorArgv(reg, img, dest), { PULLDOCTOR_STORE: store, HOME: work, PULLDOCTOR_PULL_WORKERS: v }));
          rmSync(dest, { recursive: true, force: true });
          rmSync(store, { recursive: true, force: true });
        }
      }
      console.log("\nPULLDOCTOR_PULL_WORKERS sweep (pulldoctor, median wall / CPU / peak RSS):");
      for (const v of values)
        console.log(
          `  workers ${v}: ${median(xs[v].map((x) => x.wallMs)).toFixed(0)} ms / ${median(xs[v].map((x) => x.cpuMs)).toFixed(0)} ms / ${median(xs[v].map((x) => x.rssMiB)).toFixed(0)} MiB  [${xs[v].map((x) => x.wallMs.toFixed(0)).join(", ")}]`,
        );
    }
    if (flag("breakdown")) await breakdown(reg.url, img.repo, img.blobs, work);
    if (flag("resume")) await resume(reg, img);
    const scale = Number(opt("scale", "0"));
    if (scale > 1) {
      const big = await pushImage(reg, "bench/big", LAYERS, LAYER_MIB * scale);
      const xs = [0, 1].map((i) => runTool("pulldoctor", reg, big, 100 + i));
      console.log(
        `\n${scale}× image (${(big.bytes / 2 ** 20).toFixed(0)} MiB): pulldoctor peak RSS ${xs.map((x) => x.rssMiB.toFixed(0)).join(", ")} MiB (vs ${med.pulldoctor.rssMiB.toFixed(0)} MiB at 1×), wall ${xs.map((x) => x.wallMs.toFixed(0)).join(", ")} ms`,
      );
    }
  } finally {
    await reg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The CPU floor: client and registry share the machine's cores, so no pull can finish
 * faster than (client CPU + server CPU) / cores. A verifying pull must do at least what
 * curl -o does (receive and write every byte, with the registry serving them) plus sha256
 * of every byte, timed here in this process on the same bytes' size.
 */
function cpuFloor(med: Record<string, Sample>, bytes: number) {
  const cores = os.cpus().length;
  const chunk = new Uint8Array(1 << 20);
  randomFillSync(chunk);
  const t0 = performance.now();
  const h = new Bun.CryptoHasher("sha256");
  for (let done = 0; done < bytes; done += chunk.length) h.update(chunk);
  h.digest();
  const hashMs = performance.now() - t0;
  const n = med["curl-nohash"];
  const floor = (n.cpuMs + n.serverCpuMs + hashMs) / cores;
  console.log(
    `\nCPU floor on ${cores} cores: curl -o client ${n.cpuMs.toFixed(0)} ms + registry ${n.serverCpuMs.toFixed(0)} ms + sha256 of ${(bytes / 2 ** 20).toFixed(0)} MiB ${hashMs.toFixed(0)} ms (one core, SHA-NI if present) = ${(n.cpuMs + n.serverCpuMs + hashMs).toFixed(0)} ms CPU ⇒ a verifying pull cannot take less than ${floor.toFixed(0)} ms wall here (${(floor / n.wallMs).toFixed(2)}× curl -o), before any start-up or diagnosis.`,
  );
  const p = med.pulldoctor;
  console.log(
    `pulldoctor: client ${p.cpuMs.toFixed(0)} ms + registry ${p.serverCpuMs.toFixed(0)} ms = ${(p.cpuMs + p.serverCpuMs).toFixed(0)} ms CPU ⇒ its own floor ${((p.cpuMs + p.serverCpuMs) / cores).toFixed(0)} ms; measured ${p.wallMs.toFixed(0)} ms.`,
  );
}

/** Kill a pull (SIGKILL) at ~50% of the image, re-run it, and report what was fetched twice. */
async function resume(reg: RegistryPeer, img: Pushed) {
  const store = path.join(work, "resume-store");
  const dest = path.join(work, "resume-out");
  const kept = () => {
    let n = 0;
    for (const sub of ["ingest", "sha256"]) {
      const d = path.join(store, sub);
      if (existsSync(d)) for (const f of readdirSync(d)) if (!f.endsWith(".lock")) n += statSync(path.join(d, f)).size;
    }
    return n;
  };
  const argv = pulldoctorArgv(reg, img, dest);
  const child = Bun.spawn(argv, { env: { ...process.env, PULLDOCTOR_STORE: store, HOME: work }, stdout: "ignore", stderr: "ignore" });
  while (kept() < img.bytes / 2 && child.exitCode === null) Bun.sleepSync(2);
  child.kill("SIGKILL");
  await child.exited;
  const had = kept();
  const p = Bun.spawnSync(argv, { env: { ...process.env, PULLDOCTOR_STORE: store, HOME: work }, stdout: "pipe" });
  const out = JSON.parse(p.stdout.toString());
  const summary = out.summary ?? out.pull;
  const again = summary.downloadedBytes - (img.bytes - had);
  console.log(
    `\nresume: killed with ${(had / 2 ** 20).toFixed(0)} MiB of ${(img.bytes / 2 ** 20).toFixed(0)} MiB on disk; the re-run downloaded ${(summary.downloadedBytes / 2 ** 20).toFixed(1)} MiB, reused ${(summary.reusedBytes / 2 ** 20).toFixed(1)} MiB ⇒ re-downloaded ${((100 * Math.max(0, again)) / had).toFixed(2)}% of the kept bytes (target < 5%)`,
  );
}

await main();
