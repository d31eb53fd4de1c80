import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage, noise, sha256 } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { BINARY, requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

// The store is a cache of verified blobs, and nothing that comes out of it is trusted blindly:
// a stored blob is re-hashed before reuse (docs/security.md), and a pull paused while another
// took its blob over notices it lost the blob instead of crashing on a partial that moved.
let reg: RegistryPeer;
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
const dec = new TextDecoder();
const img = buildImage({
  label: "store-trust",
  layers: [[{ name: "etc/a.txt", content: "first layer\n" }], [{ name: "data.bin", content: noise(400_000, 11) }]],
});
const big = buildImage({ label: "paused", layers: [[{ name: "big.bin", content: noise(2 * 1024 * 1024, 12) }]] });
const bigLayer = big.layers[0]!;

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-store-");
  [reg, lab] = await Promise.all([startRegistry(), startLabRegistry()]);
  await pushImage(reg.url, "team/app", "1.0", img);
});
afterAll(async () => {
  await Promise.all([reg?.stop(), lab?.stop()]);
  work?.cleanup();
});

const pullArgs = (host: string, image: string, output: string, extra: string[] = []) => [
  "pull",
  `${host}/${image}`,
  "--insecure-registry",
  host,
  "--output",
  output,
  "--json",
  "--daemon-config",
  "/nonexistent/daemon.json",
  ...extra,
];

test("a store blob corrupted between two pulls (same size, other bytes) is re-hashed, discarded and downloaded again", async () => {
  const store = path.join(work.dir, "store-corrupt");
  const env = { PULLDOCTOR_STORE: store };
  const first = await runCli(pullArgs(reg.host, "team/app:1.0", `oci:${path.join(work.dir, "first")}:1.0`), { home: work.dir, env });
  expect(first.code).toBe(0);
  const layer = img.layers[1]!;
  const blob = path.join(store, "sha256", layer.digest.slice(7));
  const bytes = new Uint8Array(readFileSync(blob));
  bytes[1000] = bytes[1000]! ^ 0xff;
  chmodSync(blob, 0o644);
  writeFileSync(blob, bytes);
  expect(statSync(blob).size).toBe(layer.bytes.length);

  const dir = path.join(work.dir, "second");
  const r = await runCli(pullArgs(reg.host, "team/app:1.0", `oci:${dir}:1.0`), { home: work.dir, env });
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(r.code).toBe(0);
  // The report says so: a warning naming the blob and what it hashed to; only that blob was fetched again.
  const f = report.findings.find((x: { code: string }) => x.code === "PULL_STORE_BLOB_CORRUPT");
  expect(f).toMatchObject({ severity: "warning", stage: "pull", evidence: { digest: layer.digest, actual: sha256(bytes) } });
  expect(report.pull.downloadedBytes).toBe(layer.bytes.length);
  expect(report.stages.at(-1)).toMatchObject({ id: "pull", status: "warn" });
  // The store and the output hold the verified bytes again; skopeo's copy checks every digest.
  expect(sha256(readFileSync(blob))).toBe(layer.digest);
  expect(sha256(readFileSync(path.join(dir, "blobs/sha256", layer.digest.slice(7))))).toBe(layer.digest);
  const copy = Bun.spawnSync(
    [requireBinary("skopeo", "skopeo"), "copy", "--quiet", `oci:${dir}:1.0`, `dir:${path.join(work.dir, "copied")}`],
    {
      stderr: "pipe",
    },
  );
  expect(dec.decode(copy.stderr)).toBe("");
  expect(copy.exitCode).toBe(0);
});

test("a blob damaged inside an oci: layout (a hard link of the store's file): the next pull into that layout repairs both", async () => {
  const store = path.join(work.dir, "store-linked");
  const env = { PULLDOCTOR_STORE: store };
  const dir = path.join(work.dir, "linked");
  expect((await runCli(pullArgs(reg.host, "team/app:1.0", `oci:${dir}:one`), { home: work.dir, env })).code).toBe(0);
  const layer = img.layers[1]!;
  const inLayout = path.join(dir, "blobs/sha256", layer.digest.slice(7));
  const bytes = new Uint8Array(readFileSync(inLayout));
  bytes[5] = bytes[5]! ^ 0x01;
  chmodSync(inLayout, 0o644);
  writeFileSync(inLayout, bytes);
  const r = await runCli(pullArgs(reg.host, "team/app:1.0", `oci:${dir}:two`), { home: work.dir, env });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).findings.map((f: { code: string }) => f.code)).toContain("PULL_STORE_BLOB_CORRUPT");
  expect(sha256(readFileSync(inLayout))).toBe(layer.digest);
  expect(sha256(readFileSync(path.join(store, "sha256", layer.digest.slice(7))))).toBe(layer.digest);
  for (const tag of ["one", "two"]) {
    const copy = Bun.spawnSync([
      requireBinary("skopeo", "skopeo"),
      "copy",
      "--quiet",
      `oci:${dir}:${tag}`,
      `dir:${path.join(work.dir, `linked-${tag}`)}`,
    ]);
    expect(copy.exitCode).toBe(0);
  }
});

function partialBytes(store: string): number {
  try {
    return readdirSync(path.join(store, "ingest"))
      .filter((n) => n.endsWith(".partial"))
      .reduce((n, f) => n + statSync(path.join(store, "ingest", f)).size, 0);
  } catch {
    return 0;
  }
}

test("a pull paused mid-blob while a second pull takes the blob over ends correctly when resumed (no exit 70)", async () => {
  lab.addImage("paused/app", "1.0", big, [{ kind: "slow-blob", digest: bigLayer.digest, bytesPerSecond: 384 * 1024 }]);
  const store = path.join(work.dir, "store-paused");
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work.dir, NO_COLOR: "1", PULLDOCTOR_STORE: store };
  const dirA = path.join(work.dir, "paused-a");
  const a = Bun.spawn([BINARY, ...pullArgs(lab.host, "paused/app:1.0", `oci:${dirA}:1.0`, ["--timeout", "4"])], {
    env,
    cwd: work.dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const aOut = Promise.all([new Response(a.stdout).text(), new Response(a.stderr).text()]);
  try {
    // Mid-blob: some bytes in the partial, far from all.
    const t0 = Date.now();
    while (partialBytes(store) < 200_000) {
      if (Date.now() - t0 > 30_000) throw new Error(`the first pull never got going: ${JSON.stringify(await aOut)}`);
      await Bun.sleep(20);
    }
    a.kill("SIGSTOP");
    const pausedAt = partialBytes(store);
    expect(pausedAt).toBeLessThan(bigLayer.bytes.length);
    // The registry recovers; the second pull waits the idle timeout for the paused owner, then takes over.
    lab.setFaults("paused/app", []);
    const dirB = path.join(work.dir, "paused-b");
    const b = await runCli(pullArgs(lab.host, "paused/app:1.0", `oci:${dirB}:1.0`, ["--timeout", "2"]), {
      home: work.dir,
      env,
      timeoutMs: 60_000,
    });
    const rb = JSON.parse(b.stdout);
    expectValidReport(rb);
    expect(b.code).toBe(0);
    const blobRec = rb.stages.at(-1).evidence.blobs.find((x: { digest: string }) => x.digest === bigLayer.digest);
    expect(blobRec.resumedFrom).toBeGreaterThan(0);
    expect(sha256(readFileSync(path.join(dirB, "blobs/sha256", bigLayer.digest.slice(7))))).toBe(bigLayer.digest);
  } finally {
    a.kill("SIGCONT");
  }
  const code = await a.exited;
  const [stdout, stderr] = await aOut;
  expect(stderr).not.toContain("internal error");
  const ra = JSON.parse(stdout);
  expectValidReport(ra);
  expect(code).toBe(0);
  const rec = ra.stages.at(-1).evidence.blobs.find((x: { digest: string }) => x.digest === bigLayer.digest);
  expect(rec.takenOver).toBeGreaterThanOrEqual(1);
  // Whatever the resumed pull still wrote went to its own orphaned file: the store blob and both outputs are intact.
  const blob = path.join(store, "sha256", bigLayer.digest.slice(7));
  expect(sha256(readFileSync(blob))).toBe(bigLayer.digest);
  for (const d of [dirA, path.join(work.dir, "paused-b")])
    expect(sha256(readFileSync(path.join(d, "blobs/sha256", bigLayer.digest.slice(7))))).toBe(bigLayer.digest);
  // No lock, partial or takeover marker is left behind.
  expect(readdirSync(path.join(store, "ingest"))).toEqual([]);
}, 120_000);
