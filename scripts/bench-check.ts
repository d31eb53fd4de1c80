/**
 * The check's benchmark on links with latency (a benchmark, not a test). Starts two real
 * docker-registry peers on loopback, one plain HTTP and one TLS 1.3 (its CA in a certs.d
 * directory), pushes a 1-config, 6 × 1 MiB image to each, and puts a TCP relay in front of each
 * that delays every chunk by RTT/2 in each direction. For every RTT it alternates, ROUNDS times:
 *   pulldoctor  dist/pulldoctor check HOST/bench/img:1 --json (--insecure-registry for plain HTTP,
 *               --certs-dir for TLS)
 *   baseline    the same with another build (--baseline PATH), e.g. an older commit's
 *   skopeo      skopeo inspect docker://HOST/bench/img:1 (--tls-verify=false, or --cert-dir)
 * and prints the median wall times and the ratios to skopeo.
 *
 *   bun scripts/bench-check.ts [--rtt 0,5,20,40] [--rounds 7] [--baseline PATH]
 */
import { randomFillSync } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { issueServerCert, makeCA } from "../test/helpers/pki";
import { pushBlob, putManifest } from "../test/helpers/push";
import { type RegistryPeer, startRegistry } from "../test/peers/registry";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : def;
};
const RTTS = opt("rtt", "0,5,20,40").split(",").map(Number);
const ROUNDS = Number(opt("rounds", "7"));
const BASELINE = opt("baseline", "");
const root = path.resolve(import.meta.dir, "..");
const work = path.join(os.tmpdir(), `pd-bench-check-${process.pid}`);
mkdirSync(work, { recursive: true });

const sha = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

async function pushSmallImage(reg: RegistryPeer): Promise<void> {
  const layers: { digest: string; size: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const data = randomFillSync(new Uint8Array(1 << 20));
    await pushBlob(reg.url, "bench/img", sha(data), data, {});
    layers.push({ digest: sha(data), size: data.length });
  }
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {} }),
  );
  await pushBlob(reg.url, "bench/img", sha(config), config, {});
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
  };
  await putManifest(reg.url, "bench/img", "1", manifest.mediaType, new TextEncoder().encode(JSON.stringify(manifest)), {});
}

/** A TCP relay to `target` that holds every chunk RTT/2 in each direction. */
function relay(target: RegistryPeer, rttMs: number): { host: string; stop(): void } {
  const half = rttMs / 2;
  const later = (f: () => void): void => {
    if (half > 0) setTimeout(f, half);
    else f();
  };
  const srv = Bun.listen<{ up: Bun.Socket<undefined> | null; queue: Buffer[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { up: null, queue: [] };
        Bun.connect({
          hostname: "127.0.0.1",
          port: target.port,
          socket: {
            open(up) {
              client.data.up = up;
              for (const b of client.data.queue) up.write(b);
              client.data.queue = [];
            },
            data: (_up, d) => later(() => void client.write(Buffer.from(d))),
            close: () => later(() => void client.end()),
            error: () => void client.end(),
          },
        }).catch(() => client.end());
      },
      data(client, d) {
        const b = Buffer.from(d);
        later(() => (client.data.up ? void client.data.up.write(b) : void client.data.queue.push(b)));
      },
      close: (client) => later(() => void client.data.up?.end()),
    },
  });
  return { host: `127.0.0.1:${srv.port}`, stop: () => srv.stop(true) };
}

/** Spawned, not spawnSync: the relays run in this process's event loop. */
async function wallMs(argv: string[]): Promise<number> {
  const t0 = Bun.nanoseconds();
  const p = Bun.spawn(argv, { env: { ...process.env, HOME: work }, stdout: "ignore", stderr: "pipe" });
  const code = await p.exited;
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  if (code !== 0 && argv[0] === "skopeo") throw new Error(`${argv.join(" ")}: ${await new Response(p.stderr).text()}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

const ca = makeCA("bench-check CA");
const leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1"] });
const plain = await startRegistry();
const tls = await startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } });
try {
  await pushSmallImage(plain);
  await pushSmallImage(tls);
  const certsDir = path.join(work, "certs.d");
  const binaries = { pulldoctor: path.join(root, "dist/pulldoctor"), ...(BASELINE ? { baseline: path.resolve(BASELINE) } : {}) };
  console.log(
    `| registry | RTT ms | ${[...Object.keys(binaries), "skopeo inspect"].join(" | ")} | ${Object.keys(binaries)
      .map((b) => `${b} / skopeo`)
      .join(" | ")} |`,
  );
  console.log(`|---|---:|${"---:|".repeat(Object.keys(binaries).length * 2 + 1)}`);
  for (const rtt of RTTS)
    for (const [kind, reg] of [
      ["plain HTTP", plain],
      ["TLS 1.3", tls],
    ] as const) {
      const r = relay(reg, rtt);
      const ref = `${r.host}/bench/img:1`;
      mkdirSync(path.join(certsDir, r.host), { recursive: true });
      writeFileSync(path.join(certsDir, r.host, "ca.crt"), ca.cert);
      const flags = kind === "TLS 1.3" ? ["--certs-dir", certsDir] : ["--insecure-registry", r.host];
      const contenders: Record<string, string[]> = {};
      for (const [name, bin] of Object.entries(binaries)) contenders[name] = [bin, "check", ref, ...flags, "--json"];
      contenders["skopeo inspect"] =
        kind === "TLS 1.3"
          ? ["skopeo", "inspect", "--cert-dir", path.join(certsDir, r.host), `docker://${ref}`]
          : ["skopeo", "inspect", "--tls-verify=false", `docker://${ref}`];
      const runs: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((n) => [n, []]));
      for (const argv of Object.values(contenders)) await wallMs(argv); // one unmeasured warm-up each
      const names = Object.keys(contenders);
      for (let i = 0; i < ROUNDS; i++)
        for (let k = 0; k < names.length; k++) {
          const n = names[(i + k) % names.length] as string;
          runs[n]?.push(await wallMs(contenders[n] as string[]));
        }
      r.stop();
      const m = Object.fromEntries(names.map((n) => [n, median(runs[n] ?? [])]));
      const sk = m["skopeo inspect"] ?? 1;
      const ratios = Object.keys(binaries).map((b) => `${((m[b] ?? 0) / sk).toFixed(2)}×`);
      console.log(`| ${kind} | ${rtt} | ${names.map((n) => (m[n] ?? 0).toFixed(1)).join(" | ")} | ${ratios.join(" | ")} |`);
    }
} finally {
  await plain.stop();
  await tls.stop();
  ca.cleanup();
  rmSync(work, { recursive: true, force: true });
}
