/**
 * Issue 15's table in one alternating run (`scripts/bench-pull --table`): every ratio the issue
 * sets a goal for, each contender run in turn with the order rotated every round, medians.
 *   start-up   dist/pulldoctor --version, --help, ref, explain vs a compiled hello-world of this Bun
 *   check      dist/pulldoctor check IMAGE vs skopeo inspect of the same image (loopback registry)
 *   pull       dist/pulldoctor pull vs skopeo copy, for 6 × 100 MiB and 100 × 1 MiB, and vs the
 *              verifying floor: every blob fetched in parallel into files (curl -o), then hashed
 *              with `openssl dgst -sha256`, one openssl per core
 *   RSS        the peak RSS of the 600 MiB pull (GNU time)
 * The machine is shared, so single runs scatter: the script prints every run besides the medians.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compile } from "./compile";

export interface TableSample {
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
  serverCpuMs: number;
}
export interface TableImage {
  repo: string;
  blobs: { digest: string; size: number }[];
  bytes: number;
}
export interface TableEnv {
  root: string;
  work: string;
  rounds: number;
  host: string;
  url: string;
  measure(argv: string[], env?: Record<string, string>): TableSample;
  pushImage(repo: string, layers: number, layerMib: number): Promise<TableImage>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};
const verdict = (ratio: number, goal: number) => `${ratio.toFixed(2)}× (goal ≤ ${goal}×) ${ratio <= goal ? "MET" : "NOT MET"}`;

/** Runs every contender `rounds` times, the order rotated each round; returns the samples by name. */
function alternate(rounds: number, contenders: Record<string, () => TableSample>): Record<string, TableSample[]> {
  const names = Object.keys(contenders);
  const out: Record<string, TableSample[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) contenders[n]?.(); // one unmeasured warm-up each
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length] ?? "";
      out[n]?.push(contenders[n]?.() as TableSample);
    }
  return out;
}

function print(title: string, samples: Record<string, TableSample[]>): Record<string, TableSample> {
  console.log(
    `\n${title}\n| contender | wall ms | CPU ms | peak RSS MiB | registry CPU ms | all runs, wall ms |\n|---|---:|---:|---:|---:|---|`,
  );
  const med: Record<string, TableSample> = {};
  for (const [n, xs] of Object.entries(samples)) {
    const m = (k: keyof TableSample) => median(xs.map((x) => x[k]));
    med[n] = { wallMs: m("wallMs"), cpuMs: m("cpuMs"), rssMiB: m("rssMiB"), serverCpuMs: m("serverCpuMs") };
    const w = med[n];
    console.log(
      `| ${n} | ${w.wallMs.toFixed(1)} | ${w.cpuMs.toFixed(0)} | ${w.rssMiB.toFixed(0)} | ${w.serverCpuMs.toFixed(0)} | ${xs.map((x) => x.wallMs.toFixed(0)).join(", ")} |`,
    );
  }
  return med;
}

export async function issueTable(env: TableEnv): Promise<void> {
  const hello = path.join(env.work, "hello");
  const helloSrc = path.join(env.work, "hello.ts");
  await Bun.write(helloSrc, 'console.log("hello");\n');
  // The yardstick: the same Bun, compiled the same way as pulldoctor (scripts/compile.ts), minus nothing but the code.
  await compile({ outfile: hello, entrypoints: [helloSrc] });
  // Both run from files just written, so both are in the page cache as a copied or built binary is:
  // a binary read back from disk starts slower for as long as a table runs (--version 1.53× instead
  // of 1.15× after drop_caches; docs/performance.md, "Issue 15 at a glance").
  const pd = path.join(env.work, "pulldoctor");
  copyFileSync(path.join(env.root, "dist/pulldoctor"), pd);
  const home = { HOME: env.work };
  const lines: string[] = [];

  // Start-up: many quick runs; wall from spawn to exit.
  const quick = {
    "hello-world": [hello],
    "--version": [pd, "--version"],
    "--help": [pd, "--help"],
    "ref nginx": [pd, "ref", "nginx"],
    "explain MANIFEST_UNKNOWN": [pd, "explain", "MANIFEST_UNKNOWN"],
  };
  const start = print(
    "start-up",
    alternate(env.rounds * 6, Object.fromEntries(Object.entries(quick).map(([n, argv]) => [n, () => quickRun(argv)]))),
  );
  for (const n of Object.keys(quick).slice(1))
    lines.push(`start-up \`${n}\` / hello-world: ${verdict((start[n]?.wallMs ?? 0) / (start["hello-world"]?.wallMs ?? 1), 1.5)}`);

  const big = await env.pushImage("bench/img", 6, 100);
  const small = await env.pushImage("bench/small", 100, 1);
  const ref = `${env.host}/${big.repo}:1`;
  const check = print(
    "healthy check of the 6-layer image",
    alternate(env.rounds * 2, {
      "pulldoctor check": () => env.measure([pd, "check", ref, "--insecure-registry", env.host, "--json"], home),
      "skopeo inspect": () => env.measure(["skopeo", "inspect", "--tls-verify=false", `docker://${ref}`]),
    }),
  );
  lines.push(`check / skopeo inspect: ${verdict((check["pulldoctor check"]?.wallMs ?? 0) / (check["skopeo inspect"]?.wallMs ?? 1), 1.5)}`);

  let n = 0;
  const fresh = (tag: string) => {
    const d = path.join(env.work, `${tag}-${n++}`);
    rmSync(d, { recursive: true, force: true });
    return d;
  };
  const pullOf = (img: TableImage) => ({
    "pulldoctor pull": () => {
      const [dest, store] = [fresh("pd"), fresh("store")];
      const argv = [pd, "pull", `${env.host}/${img.repo}:1`, "--insecure-registry", env.host, "--output", `oci:${dest}:1`, "--json"];
      return cleanup(env.measure(argv, { ...home, PULLDOCTOR_STORE: store }), dest, store);
    },
    "skopeo copy": () => {
      const dest = fresh("sk");
      return cleanup(
        env.measure(["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${env.host}/${img.repo}:1`, `oci:${dest}:1`]),
        dest,
      );
    },
    "floor: parallel curl -o, then openssl dgst": () => {
      const dest = fresh("floor");
      mkdirSync(dest);
      return cleanup(env.measure(["sh", "-c", floorScript(env.url, img, dest)]), dest);
    },
  });
  for (const [name, img] of [
    ["6 × 100 MiB", big],
    ["100 × 1 MiB", small],
  ] as const) {
    const m = print(`pull, ${name} (${(img.bytes / 2 ** 20).toFixed(0)} MiB)`, alternate(env.rounds, pullOf(img)));
    const p = m["pulldoctor pull"] as TableSample;
    lines.push(`pull ${name} / skopeo copy: ${verdict(p.wallMs / (m["skopeo copy"]?.wallMs ?? 1), 0.5)}`);
    if (img === big) {
      lines.push(
        `pull ${name} / verifying floor: ${verdict(p.wallMs / (m["floor: parallel curl -o, then openssl dgst"]?.wallMs ?? 1), 1.0)}`,
      );
      lines.push(`pull ${name} peak RSS: ${p.rssMiB.toFixed(0)} MiB (goal ≤ 96 MiB) ${p.rssMiB <= 96 ? "MET" : "NOT MET"}`);
    } else
      lines.push(
        `pull ${name} / verifying floor: ${(p.wallMs / (m["floor: parallel curl -o, then openssl dgst"]?.wallMs ?? 1)).toFixed(2)}× (no goal)`,
      );
  }
  console.log(
    `\n${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} at the end\n`,
  );
  for (const l of lines) console.log(l);
  for (const f of readdirSync(env.work)) if (f.startsWith("hello") || f === "pulldoctor") rmSync(path.join(env.work, f), { force: true });
}

/** Wall time only, without GNU time's own fork and exec in the measurement (it would pull every ratio towards 1). */
function quickRun(argv: string[]): TableSample {
  const t0 = Bun.nanoseconds();
  const p = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe", stdin: "ignore" });
  const wallMs = (Bun.nanoseconds() - t0) / 1e6;
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${p.exitCode}: ${p.stderr}`);
  return { wallMs, cpuMs: 0, rssMiB: 0, serverCpuMs: 0 };
}

function cleanup(s: TableSample, ...dirs: string[]): TableSample {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return s;
}

/** Every blob at once into files, then sha256 of every file by one `openssl dgst` per core (SHA-NI where the CPU has it). */
function floorScript(url: string, img: TableImage, dest: string): string {
  const cores = os.cpus().length;
  const fetches = img.blobs.map((b) => `curl -sS -o ${dest}/${b.digest.slice(7)} ${url}/v2/${img.repo}/blobs/${b.digest} &`).join("\n");
  const groups: string[][] = Array.from({ length: cores }, () => []);
  for (const [i, b] of img.blobs.entries()) groups[i % cores]?.push(`${dest}/${b.digest.slice(7)}`);
  const hashes = groups
    .filter((g) => g.length)
    .map((g) => `openssl dgst -sha256 ${g.join(" ")} >/dev/null &`)
    .join("\n");
  return `${fetches}\nwait\n${hashes}\nwait`;
}
