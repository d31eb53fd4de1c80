import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import type { Fault } from "../../src/lab/faults";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import type { AuthSession } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import { BlobStore } from "../../src/pull/store";
import { tempDir } from "../helpers/context";
import { pushBlob, putManifest } from "../helpers/push";
import { startRegistry } from "../peers/registry";
import { factsFor, pull } from "./pull-fixture";

// Blob transfers run in Workers (src/pull/lanes.ts) unless tuning.workers is 0. The other
// pull tests use the default (Workers); here every fault is pulled both ways and must end
// the same: same status, findings, bytes and requests.
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
// One image per case, the same for both modes; drop-connection counts its `times` per blob
// digest across repositories, so that case gets one image per mode.
let n = 0;
const imageFor = (seed: number) =>
  buildImage({
    label: `workers-${seed}`,
    layers: [[{ name: "big.bin", content: noise(1_000_000, seed) }], [{ name: "small.txt", content: `small ${seed}\n` }]],
  });
type Image = ReturnType<typeof imageFor>;

beforeAll(async () => {
  work = tempDir("pd-pull-workers-");
  lab = await startLabRegistry();
});
afterAll(async () => {
  await lab?.stop();
  work?.cleanup();
});

interface Case {
  name: string;
  faults: (big: string) => Fault[];
  partial?: (big: Uint8Array) => Uint8Array;
  idleTimeoutMs?: number;
  session?: () => AuthSession;
}

const cases: Case[] = [
  { name: "clean", faults: () => [] },
  { name: "corrupt", faults: (digest) => [{ kind: "corrupt-blob", digest }] },
  { name: "truncate", faults: (digest) => [{ kind: "truncate-blob", digest, afterBytes: 250_000 }] },
  { name: "drop", faults: (digest) => [{ kind: "drop-connection", digest, afterBytes: 300_000, times: 1 }] },
  { name: "norange", faults: () => [{ kind: "no-range" }], partial: (b) => b.subarray(0, 100_000) },
  { name: "resume", faults: () => [], partial: (b) => b.subarray(0, 400_000) },
  { name: "badpartial", faults: () => [], partial: () => noise(100_000, 5) },
  { name: "stall", faults: (digest) => [{ kind: "stall-blob", digest, afterBytes: 100_000 }], idleTimeoutMs: 300 },
  { name: "missing", faults: (digest) => [{ kind: "blob-missing", digest }] },
  { name: "token", faults: () => [{ kind: "auth-required", username: "demo", password: "pulldoctor" }], session: () => expiring("token") },
];

/** A session whose first token is stale: the blob GET's 401 must lead to invalidate() and a new token. */
function expiring(repo: string): AuthSession {
  let stale = true;
  return {
    scheme: "bearer",
    async authorize() {
      if (stale) return new Secret("Bearer expired-token-value");
      const res = await fetch(`${lab.url}/token?service=pulldoctor-lab&scope=repository:${repo}-0/app:pull,repository:${repo}-2/app:pull`, {
        headers: { Authorization: `Basic ${btoa("demo:pulldoctor")}` },
      });
      return new Secret(`Bearer ${((await res.json()) as { token: string }).token}`);
    },
    invalidate() {
      stale = false;
    },
  };
}

async function outcome(c: Case, workers: number) {
  const repo = `${c.name}-${workers}/app`;
  const img: Image = imageFor(cases.indexOf(c) * 10 + (c.name === "drop" ? workers : 0));
  n++;
  const big = img.layers[0];
  lab.addImage(repo, "1.0", img, c.faults(big.digest));
  const s = path.join(work.dir, `store-${n}`);
  if (c.partial) {
    const st = new BlobStore(s);
    st.ensure();
    await Bun.write(st.partialPath(big.digest), c.partial(big.bytes));
  }
  const dir = path.join(work.dir, `out-${n}`);
  const r = await pull(factsFor(lab.url, repo, "1.0", img, c.session?.()), `oci:${dir}`, {
    storeDir: s,
    options: { concurrency: 2 },
    tuning: { workers, idleTimeoutMs: c.idleTimeoutMs, retry: { attempts: 3, backoffMs: 5, maxBackoffMs: 5 } },
  });
  const blobs =
    (r.result.evidence.blobs as { digest: string; retries: number; downloadedBytes: number; reusedBytes: number; resumedFrom: number }[]) ??
    [];
  const progress = r.events.filter((e) => e.type === "progress" && e.digest === big.digest).map((e) => (e as { bytes: number }).bytes);
  return {
    status: r.result.status,
    codes: r.findings.map((f) => f.code),
    details: r.findings.map((f) =>
      f.detail
        .replace(/-[02]\/app/g, "/app")
        .replaceAll(big.digest, "BIG")
        .replace(/sha256:[a-f0-9]{64}/g, "sha256:…"),
    ),
    blobs: blobs.map((b) => ({
      big: b.digest === big.digest,
      retries: b.retries,
      resumedFrom: b.resumedFrom,
      reusedBytes: b.reusedBytes,
      downloadedBytes: b.downloadedBytes as number | undefined,
    })),
    ranges: lab.log.filter((l) => l.path === `/v2/${repo}/blobs/${big.digest}`).map((l) => l.range ?? null),
    committed: existsSync(new BlobStore(s).blobPath(big.digest)),
    output: existsSync(dir),
    // Progress is throttled by time; only the last event of a completed blob is certain.
    lastProgress: r.result.status === "pass" ? (progress.at(-1) ?? null) === big.bytes.length : null,
    leaked: JSON.stringify(r.result).includes("expired-token-value"),
  };
}

for (const c of cases) {
  test(`${c.name}: the same outcome with blob Workers as on the main thread`, async () => {
    const inline = await outcome(c, 0);
    const workers = await outcome(c, 2);
    if (c.name === "truncate" || c.name === "drop") {
      // The first attempt is Bun's fetch on both paths, which keeps a varying part of a cut
      // body (docs/performance.md); what follows from it (bytes, ranges, retries) varies alike.
      for (const o of [inline, workers]) {
        o.blobs = o.blobs.map((b) => ({
          big: b.big,
          resumedFrom: b.resumedFrom,
          reusedBytes: b.reusedBytes,
          retries: 0,
          downloadedBytes: undefined,
        }));
        o.ranges = [];
        o.details = o.details.map((d) => d.replace(/\d+/g, "N"));
      }
    }
    expect(workers).toEqual(inline);
    expect(inline.leaked).toBe(false);
    if (c.name === "clean" || c.name === "resume") {
      expect(inline.status).toBe("pass");
      expect(inline.lastProgress).toBe(true);
    }
    if (c.name === "truncate") expect(workers.details[0]).toContain("body cut after N of N bytes");
  });
}

test("the compiled binary runs its blob Workers (a Worker that cannot load would show as a retry of every blob)", async () => {
  const bin = path.resolve(import.meta.dir, "../../dist/pulldoctor");
  // `npm test` builds it first; a missing binary is a failure that says so, not a skip.
  expect(existsSync(bin) ? bin : "dist/pulldoctor missing: run ./node_modules/.bin/bun scripts/build.ts").toBe(bin);
  const reg = await startRegistry();
  try {
    const layers = [];
    for (let i = 0; i < 3; i++) {
      const data = randomFillSync(new Uint8Array(2_000_000 + i));
      const digest = `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
      await pushBlob(reg.url, "bin/app", digest, data, {});
      layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: data.length });
    }
    const config = new TextEncoder().encode(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {} }),
    );
    const cd = `sha256:${new Bun.CryptoHasher("sha256").update(config).digest("hex")}`;
    await pushBlob(reg.url, "bin/app", cd, config, {});
    const m = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cd, size: config.length },
      layers,
    };
    await putManifest(reg.url, "bin/app", "1", m.mediaType, new TextEncoder().encode(JSON.stringify(m)), {});
    const p = Bun.spawnSync(
      [
        bin,
        "pull",
        `${reg.host}/bin/app:1`,
        "--insecure-registry",
        reg.host,
        "--output",
        `oci:${path.join(work.dir, "bin-out")}:1`,
        "--json",
        "--timeout",
        "5",
      ],
      {
        env: { ...process.env, PULLDOCTOR_STORE: path.join(work.dir, "bin-store"), HOME: work.dir },
      },
    );
    expect(p.exitCode).toBe(0);
    const report = JSON.parse(p.stdout.toString());
    const stage = report.stages.find((s: { id: string }) => s.id === "pull");
    const blobs = stage.evidence.blobs as { retries: number; downloadedBytes: number; size: number }[];
    expect(blobs.length).toBe(4);
    expect(blobs.map((b) => [b.retries, b.downloadedBytes])).toEqual(blobs.map((b) => [0, b.size]));
  } finally {
    await reg.stop();
  }
});
