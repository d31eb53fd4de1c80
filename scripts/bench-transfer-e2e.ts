/**
 * The receive-loop A/B through the whole binary (docs/performance.md, "Receive loop
 * experiments (session 2)"): `pulldoctor pull` of 6 × 100 MiB from a real docker-registry,
 * PULLDOCTOR_PULL_RAW=0 (the blob Workers on fetch) against 1 (raw HTTP/1.1 over
 * Bun.connect), alternating, each run with a fresh store and destination. The variable
 * exists only with scripts/bench-transfer-adoption.patch applied; without it both
 * variants are the same code.
 *
 *   bun scripts/bench-transfer-e2e.ts [RUNS] [--tls] [--binary PATH]   (default dist/pulldoctor)
 */
import { randomFillSync } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { selfSigned } from "../test/helpers/pki";
import { pushBlob, putManifest } from "../test/helpers/push";
import { startRegistry } from "../test/peers/registry";

const RUNS = Number(/^\d+$/.test(process.argv[2] ?? "") ? process.argv[2] : 7);
const tlsMode = process.argv.includes("--tls");
const bi = process.argv.indexOf("--binary");
const bin = bi > 0 ? path.resolve(process.argv[bi + 1]) : path.resolve(import.meta.dir, "../dist/pulldoctor");
const work = path.join(os.tmpdir(), `pd-bench-transfer-e2e-${process.pid}`);
const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

interface Sample {
  wall: number;
  cpu: number;
  registry: number;
  rss: number;
}

/** user+sys CPU of the registry so far, ms (/proc/PID/stat fields 14 and 15, in 1/100 s). */
function registryCpu(pid: number | undefined): number {
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** An OCI image of 6 random 100 MiB layers (what bench-pull.ts pushes, without the tar headers). */
async function pushImage(url: string): Promise<void> {
  const layers: { digest: string; size: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const d = new Uint8Array(100 << 20);
    randomFillSync(d);
    await pushBlob(url, "bench/img", sha256(d), d, {});
    layers.push({ digest: sha256(d), size: d.length });
  }
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {} }),
  );
  await pushBlob(url, "bench/img", sha256(config), config, {});
  const mt = "application/vnd.oci.image.manifest.v1+json";
  const manifest = {
    schemaVersion: 2,
    mediaType: mt,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
  };
  await putManifest(url, "bench/img", "1", mt, new TextEncoder().encode(JSON.stringify(manifest)), {});
}

mkdirSync(work, { recursive: true });
const cert = tlsMode ? selfSigned({ cn: "127.0.0.1", sans: ["IP:127.0.0.1"] }) : null;
const reg = await startRegistry(cert ? { tls: { certificate: cert.certFile, key: cert.keyFile } } : {});
try {
  await pushImage(reg.url);
  const one = (variant: string, i: number): Sample => {
    const dest = path.join(work, `out-${variant}-${i}`);
    const store = path.join(work, `store-${variant}-${i}`);
    const argv = [bin, "pull", `${reg.host}/bench/img:1`, "--insecure-registry", reg.host, "--output", `oci:${dest}:1`, "--json"];
    const env = { ...process.env, PULLDOCTOR_STORE: store, HOME: work, PULLDOCTOR_PULL_RAW: variant === "raw" ? "1" : "0" };
    const r0 = registryCpu(reg.pid);
    const t0 = performance.now();
    const p = Bun.spawnSync(["/usr/bin/time", "-o", path.join(work, "t"), "-f", "%U %S %M", ...argv], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
    const wall = performance.now() - t0;
    const registry = registryCpu(reg.pid) - r0;
    if (p.exitCode !== 0) throw new Error(`${variant}: exit ${p.exitCode}\n${p.stdout.toString().slice(0, 2000)}\n${p.stderr}`);
    const [u, s, m] = readFileSync(path.join(work, "t"), "utf8").trim().split(/\s+/).slice(-3).map(Number);
    rmSync(dest, { recursive: true, force: true });
    rmSync(store, { recursive: true, force: true });
    return { wall, cpu: (u + s) * 1000, registry, rss: m / 1024 };
  };
  one("fetch", -1);
  one("raw", -1);
  const res: Record<string, Sample[]> = { fetch: [], raw: [] };
  const load0 = os.loadavg();
  for (let i = 0; i < RUNS; i++) for (const v of i % 2 ? ["raw", "fetch"] : ["fetch", "raw"]) res[v].push(one(v, i));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  console.log(`${tlsMode ? "https" : "http"}, median of ${RUNS}; load average ${load(load0)} → ${load(os.loadavg())}`);
  for (const [v, xs] of Object.entries(res)) {
    const m = (k: keyof Sample) => med(xs.map((x) => x[k])).toFixed(0);
    console.log(
      `${v.padEnd(6)} wall ${m("wall")}  cpu ${m("cpu")}  registry ${m("registry")}  rss ${m("rss")}   cpu: ${xs.map((x) => x.cpu.toFixed(0)).join(", ")}   wall: ${xs.map((x) => x.wall.toFixed(0)).join(", ")}`,
    );
  }
} finally {
  await reg.stop();
  cert?.cleanup();
  rmSync(work, { recursive: true, force: true });
}
