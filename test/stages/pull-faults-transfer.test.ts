import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { type BlobHost, startBlobHost } from "../../src/lab/blob-host";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { RETRY_AFTER_CAP_MS } from "../../src/pull/pull-blob";
import { BlobStore } from "../../src/pull/store";
import { tempDir } from "../helpers/context";
import { factsFor, pull } from "./pull-fixture";

// The pull engine's time rules and retry pacing against the lab's transfer faults, with the
// blob Workers and on the main thread (PULLDOCTOR_PULL_WORKERS=0): both must end the same.
const img = buildImage({
  label: "transfer-engine",
  layers: [[{ name: "small.txt", content: "small\n" }], [{ name: "big.bin", content: noise(200_000, 11) }]],
});
const big = img.layers[1]!;
const slowImg = buildImage({ label: "transfer-slow-link", layers: [[{ name: "s.bin", content: noise(36_000, 12) }]] });
let lab: LabRegistry;
let silent: BlobHost;
let work: { dir: string; cleanup: () => void };
let n = 0;
const IDLE = 400;

beforeAll(async () => {
  work = tempDir("pd-pull-transfer-");
  lab = await startLabRegistry();
  silent = await startBlobHost([big], { faults: [{ kind: "silent-blob" }] });
  lab.addImage("silent/app", "1.0", img, [{ kind: "blob-redirect", to: silent.url, digest: big.digest }]);
  lab.addImage("drip/app", "1.0", img, [{ kind: "drip-blob", digest: big.digest, bytesPerSecond: 1 }]);
  // The head at once, then the body at 100 B/s: bytes every 100 ms, so no inactivity timer fires.
  lab.addImage("trickle/app", "1.0", img, [{ kind: "slow-blob", digest: big.digest, bytesPerSecond: 100 }]);
  // 20 KB/s: slow, but 8 KB in every 400 ms window; it must never be cut.
  lab.addImage("slowlink/app", "1.0", slowImg, [{ kind: "slow-blob", bytesPerSecond: 20_000 }]);
  lab.addImage("ra1/app", "1.0", img, [{ kind: "blob-status", digest: big.digest, statuses: [429], retryAfter: "1" }]);
  lab.addImage("ralong/app", "1.0", img, [{ kind: "blob-status", digest: big.digest, statuses: [503], retryAfter: "3600", forever: true }]);
  lab.addImage("ra0/app", "1.0", img, [{ kind: "blob-status", digest: big.digest, statuses: [429], retryAfter: "0", forever: true }]);
  lab.addImage("5xx/app", "1.0", img, [{ kind: "blob-status", digest: big.digest, statuses: [500, 502, 503] }]);
  lab.addImage("loop/app", "1.0", img, [{ kind: "redirect-chain", hops: "loop" }]);
  lab.addImage("errstall/app", "1.0", img, [{ kind: "blob-status", digest: big.digest, statuses: [500], forever: true, stallBody: true }]);
  lab.addImage("chain11/app", "1.0", img, [{ kind: "redirect-chain", hops: 11 }]);
  lab.addImage("chain10/app", "1.0", img, [{ kind: "redirect-chain", hops: 10 }]);
  lab.addImage("file/app", "1.0", img, [{ kind: "blob-redirect", to: "file:///etc", digest: big.digest }]);
  lab.addImage("badloc/app", "1.0", img, [{ kind: "blob-redirect", to: "http://[", digest: big.digest }]);
});
afterAll(async () => {
  await silent?.stop();
  await lab?.stop();
  work?.cleanup();
});

async function run(repo: string, workers: number, image = img, retry = { attempts: 2, backoffMs: 10, maxBackoffMs: 20 }) {
  const dir = path.join(work.dir, `out-${++n}`);
  const storeDir = path.join(work.dir, `store-${n}`);
  const t0 = performance.now();
  const r = await pull(factsFor(lab.url, repo, "1.0", image), `oci:${dir}`, { storeDir, tuning: { idleTimeoutMs: IDLE, workers, retry } });
  return { ...r, ms: performance.now() - t0, dir, store: new BlobStore(storeDir) };
}

const record = (r: Awaited<ReturnType<typeof run>>, digest: string) => (r.result.evidence.blobs as any[]).find((b) => b.digest === digest);

describe.each([
  ["Workers", 2],
  ["main thread", 0],
] as const)("%s", (_label, workers) => {
  test("a blob host that accepts and never answers: the head deadline ends each attempt ⇒ PULL_INTERRUPTED, no output", async () => {
    const r = await run("silent/app", workers);
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toContain(`no response within ${IDLE} ms`);
    expect(r.ms).toBeLessThan(2 * IDLE + 1500);
    expect(existsSync(r.dir)).toBe(false);
  });

  test("a response dripped a byte a second, head included ⇒ PULL_INTERRUPTED by the head deadline", async () => {
    const r = await run("drip/app", workers);
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toContain(`no response within ${IDLE} ms`);
    expect(r.ms).toBeLessThan(2 * IDLE + 1500);
  });

  test("a body that keeps trickling (100 B/s: never idle) is ended by the low-speed rule ⇒ PULL_INTERRUPTED; the kept prefix is true", async () => {
    const r = await run("trickle/app", workers);
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toMatch(
      /stalled after \d+ of \d+ bytes: only \d+ bytes in 400 ms \(below the 1024 bytes per --timeout window/,
    );
    expect(r.ms).toBeLessThan(2 * (2 * IDLE + 300) + 1500);
    const kept = r.store.partialSize(big.digest);
    if (kept > 0)
      expect(
        Buffer.compare(Buffer.from(await Bun.file(r.store.partialPath(big.digest)).bytes()), Buffer.from(big.bytes.subarray(0, kept))),
      ).toBe(0);
  });

  test("a slow link that keeps moving (20 KB/s, far above the floor) is never cut", async () => {
    const r = await run("slowlink/app", workers, slowImg);
    expect(r.findings).toEqual([]);
    expect(r.result.status).toBe("pass");
    expect(record(r, slowImg.layers[0]!.digest).retries).toBe(0);
  }, 15_000);

  test("429 with Retry-After: 1 ⇒ the pull waits the second (not its 10 ms backoff) and verifies", async () => {
    const r = await run("ra1/app", workers);
    expect(r.findings).toEqual([]);
    const rec = record(r, big.digest);
    expect(rec.retryLog).toHaveLength(1);
    expect(rec.retryLog[0]).toMatchObject({ status: 429, waitMs: 1000 });
    expect(r.ms).toBeGreaterThanOrEqual(1000);
  });

  test(`503 with Retry-After: 3600 (beyond the ${RETRY_AFTER_CAP_MS / 1000} s cap) ⇒ PULL_INTERRUPTED at once, naming the Retry-After`, async () => {
    const r = await run("ralong/app", workers, img, { attempts: 5, backoffMs: 10, maxBackoffMs: 20 });
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toContain("Retry-After 3600 is beyond the 60 s pulldoctor waits");
    expect(r.findings[0]!.evidence).toMatchObject({ attempts: 1, status: 503 });
    expect(r.ms).toBeLessThan(2000);
  });

  test("a 500 whose body never comes: read within the deadline, retried ⇒ PULL_INTERRUPTED naming the 500, no hang", async () => {
    const r = await run("errstall/app", workers);
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(r.findings[0]!.evidence).toMatchObject({ status: 500, attempts: 2 });
    expect(r.ms).toBeLessThan(2 * IDLE + 1500);
  });

  test("a redirect loop ⇒ PULL_INTERRUPTED naming the loop, not retried", async () => {
    const r = await run("loop/app", workers, img, { attempts: 5, backoffMs: 10, maxBackoffMs: 20 });
    // Every blob redirects here: one finding per blob (config and two layers).
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED", "PULL_INTERRUPTED", "PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toContain("redirect loop");
    expect(r.findings[0]!.evidence.attempts).toBe(1);
  });

  test("11 redirects ⇒ PULL_INTERRUPTED (Go stops after 10); 10 are followed to the blob", async () => {
    const r = await run("chain11/app", workers);
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED", "PULL_INTERRUPTED", "PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toContain("stopped after 10 redirects");
    const ok = await run("chain10/app", workers);
    expect(ok.findings).toEqual([]);
  });

  test("a redirect to a file: URL or an unparseable Location ⇒ PULL_INTERRUPTED, never a local read, never a crash", async () => {
    const file = await run("file/app", workers);
    expect(file.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(file.findings[0]!.detail).toContain('unsupported protocol scheme "file"');
    const bad = await run("badloc/app", workers);
    expect(bad.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(bad.findings[0]!.detail).toContain("invalid Location header");
  });

  test("429 on every attempt (Retry-After within the cap): the retry budget runs out ⇒ PULL_INTERRUPTED naming the Retry-After", async () => {
    const r = await run("ra0/app", workers, img, { attempts: 3, backoffMs: 10, maxBackoffMs: 20 });
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
    expect(r.findings[0]!.detail).toContain("429 Too Many Requests (Retry-After: 0)");
    expect(r.findings[0]!.evidence).toMatchObject({ attempts: 3, retries: 2, status: 429 });
  });

  test("500, 502, 503 then the blob: retried with backoff; each answer is in the blob's retryLog", async () => {
    const r = await run("5xx/app", workers, img, { attempts: 5, backoffMs: 10, maxBackoffMs: 20 });
    expect(r.findings).toEqual([]);
    expect(record(r, big.digest).retryLog.map((x: { status: number }) => x.status)).toEqual([500, 502, 503]);
  });
});
