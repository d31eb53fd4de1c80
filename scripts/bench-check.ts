/**
 * The check's benchmark on links with latency (a benchmark, not a test). Starts, on loopback:
 *   plain HTTP  a real docker-registry;
 *   TLS 1.3     another, its CA in a certs.d directory;
 *   Hub-like    a third with token auth, behind a front that redirects every blob to a CDN, the
 *               token realm and the CDN on other ports, all over TLS 1.3 (scripts/bench-hub.ts);
 * pushes a 1-config, 6 × 1 MiB image to each, and puts a TCP relay in front of every host that
 * delays every chunk by RTT/2 in each direction. For every RTT it alternates, ROUNDS times:
 *   pulldoctor  dist/pulldoctor check HOST/bench/img:1 --json (--insecure-registry for plain HTTP,
 *               --certs-dir otherwise: Docker's transport trusts its CAs for the realm and CDN too)
 *   baseline    the same with another build (--baseline PATH), e.g. an older commit's
 *   skopeo      skopeo inspect docker://HOST/bench/img:1 (--tls-verify=false for plain HTTP,
 *               --cert-dir for TLS, SSL_CERT_FILE naming the CA for the Hub-like: Go reads it for
 *               every host, the realm's and the CDN's too)
 * and prints the median wall times and the ratios to skopeo.
 *
 *   bun scripts/bench-check.ts [--rtt 0,5,20,40] [--rounds 7] [--baseline PATH] [--kinds plain,tls,hub]
 */
import { randomFillSync } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { issueServerCert, makeCA } from "../test/helpers/pki";
import { pushBlob, putManifest } from "../test/helpers/push";
import { type RegistryPeer, startRegistry } from "../test/peers/registry";
import { startHubLike } from "./bench-hub";
import { relay } from "./bench-relay";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : def;
};
const RTTS = opt("rtt", "0,5,20,40").split(",").map(Number);
const ROUNDS = Number(opt("rounds", "7"));
const BASELINE = opt("baseline", "");
const KINDS = opt("kinds", "plain,tls,hub").split(",") as ("plain" | "tls" | "hub")[];
const root = path.resolve(import.meta.dir, "..");
const work = path.join(os.tmpdir(), `pd-bench-check-${process.pid}`);
mkdirSync(work, { recursive: true });

const sha = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

async function pushSmallImage(reg: RegistryPeer, headers: Record<string, string> = {}): Promise<Map<string, Uint8Array>> {
  const blobs = new Map<string, Uint8Array>();
  const layers: { digest: string; size: number }[] = [];
  for (let i = 0; i < 6; i++) {
    const data = randomFillSync(new Uint8Array(1 << 20));
    await pushBlob(reg.url, "bench/img", sha(data), data, headers);
    layers.push({ digest: sha(data), size: data.length });
    blobs.set(sha(data), data);
  }
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {} }),
  );
  await pushBlob(reg.url, "bench/img", sha(config), config, headers);
  blobs.set(sha(config), config);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
  };
  await putManifest(reg.url, "bench/img", "1", manifest.mediaType, new TextEncoder().encode(JSON.stringify(manifest)), headers);
  return blobs;
}

/** Spawned, not spawnSync: the relays run in this process's event loop. */
async function wallMs(argv: string[], env: Record<string, string> = {}): Promise<number> {
  const t0 = Bun.nanoseconds();
  const p = Bun.spawn(argv, { env: { ...process.env, HOME: work, ...env }, stdout: "ignore", stderr: "pipe" });
  const code = await p.exited;
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  // Timing a check that fails (or a skopeo that fails) would measure something else.
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${(await new Response(p.stderr).text()).slice(0, 2000)}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;

const ca = makeCA("bench-check CA");
const leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1"] });
let rttNow = 0;
const relayed = (port: number) => relay(port, () => rttNow);
const plain = await startRegistry();
const tls = await startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } });
await pushSmallImage(plain);
await pushSmallImage(tls);
const hub = KINDS.includes("hub") ? await startHubLike(leaf, relayed, pushSmallImage) : null;
const hosts = { plain: relayed(plain.port).host, tls: relayed(tls.port).host, hub: hub?.host ?? "" };
const KIND_NAMES = { plain: "plain HTTP", tls: "TLS 1.3", hub: "Hub-like: TLS, token realm, CDN" } as const;
try {
  const certsDir = path.join(work, "certs.d");
  for (const host of [hosts.tls, hosts.hub]) {
    mkdirSync(path.join(certsDir, host), { recursive: true });
    writeFileSync(path.join(certsDir, host, "ca.crt"), ca.cert);
  }
  const binaries = { pulldoctor: path.join(root, "dist/pulldoctor"), ...(BASELINE ? { baseline: path.resolve(BASELINE) } : {}) };
  console.log(
    `| registry | RTT ms | ${[...Object.keys(binaries), "skopeo inspect"].join(" | ")} | ${Object.keys(binaries)
      .map((b) => `${b} / skopeo`)
      .join(" | ")} |`,
  );
  console.log(`|---|---:|${"---:|".repeat(Object.keys(binaries).length * 2 + 1)}`);
  for (const rtt of RTTS)
    for (const kind of KINDS) {
      rttNow = rtt;
      const host = hosts[kind];
      const ref = `${host}/bench/img:1`;
      const flags = kind === "plain" ? ["--insecure-registry", host] : ["--certs-dir", certsDir];
      const contenders: Record<string, { argv: string[]; env?: Record<string, string> }> = {};
      for (const [name, bin] of Object.entries(binaries)) contenders[name] = { argv: [bin, "check", ref, ...flags, "--json"] };
      contenders["skopeo inspect"] =
        kind === "plain"
          ? { argv: ["skopeo", "inspect", "--tls-verify=false", `docker://${ref}`] }
          : kind === "tls"
            ? { argv: ["skopeo", "inspect", "--cert-dir", path.join(certsDir, host), `docker://${ref}`] }
            : // --cert-dir is for the registry's host only: the realm and the CDN are verified with Go's system pool.
              { argv: ["skopeo", "inspect", `docker://${ref}`], env: { SSL_CERT_FILE: ca.certFile } };
      const runs: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((n) => [n, []]));
      for (const c of Object.values(contenders)) await wallMs(c.argv, c.env); // one unmeasured warm-up each
      const names = Object.keys(contenders);
      for (let i = 0; i < ROUNDS; i++)
        for (let k = 0; k < names.length; k++) {
          const n = names[(i + k) % names.length] as string;
          const c = contenders[n]!;
          runs[n]?.push(await wallMs(c.argv, c.env));
        }
      const m = Object.fromEntries(names.map((n) => [n, median(runs[n] ?? [])]));
      const sk = m["skopeo inspect"] ?? 1;
      const ratios = Object.keys(binaries).map((b) => `${((m[b] ?? 0) / sk).toFixed(2)}×`);
      console.log(`| ${KIND_NAMES[kind]} | ${rtt} | ${names.map((n) => (m[n] ?? 0).toFixed(1)).join(" | ")} | ${ratios.join(" | ")} |`);
    }
} finally {
  await Promise.all([plain.stop(), tls.stop(), hub?.stop()]);
  ca.cleanup();
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
