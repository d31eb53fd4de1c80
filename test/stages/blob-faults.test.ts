import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BuiltImage, buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { blobStage } from "../../src/stages/blob";
import { loopbackRef, resolvedManifest, stageCtx } from "./manifest-facts";

/**
 * Faults no real registry produces on demand, served over real sockets by the lab registry:
 * no Range support, a paced (slow) body, corrupted bytes, a stalled body.
 */
const big = buildImage({ label: "lab-blob", layers: [[{ name: "big.bin", content: noise(600 * 1024, 3) }]] });
const small = buildImage({ label: "lab-small" });

let lab: LabRegistry;
beforeAll(async () => {
  lab = await startLabRegistry();
  lab.addImage("norange/app", "1.0", small, [{ kind: "no-range" }]);
  lab.addImage("slow/app", "1.0", big, [{ kind: "slow-blob", digest: big.layers[0]!.digest, bytesPerSecond: 200 * 1024 }]);
  lab.addImage("corrupt/app", "1.0", small, [{ kind: "corrupt-blob", digest: small.config.digest }]);
  lab.addImage("stall/app", "1.0", big, [{ kind: "stall-blob", digest: big.layers[0]!.digest, afterBytes: 0 }]);
  lab.addImage("cut/app", "1.0", big, [{ kind: "truncate-blob", digest: big.layers[0]!.digest, afterBytes: 100_000 }]);
});
afterAll(async () => {
  await lab?.stop();
});

const run = (repo: string, im: BuiltImage, timeoutMs = 3000) =>
  blobStage.run(
    stageCtx(lab.url, loopbackRef(lab.host, repo, "1.0"), { options: { timeoutMs }, facts: { manifest: resolvedManifest(im) } }),
  );

test("a registry that ignores Range (200, whole blob) → BLOB_RANGE_UNSUPPORTED warning; the whole blob is still verified", async () => {
  const out = await run("norange/app", small);
  expect(out.findings.map((f) => [f.code, f.severity])).toEqual([["BLOB_RANGE_UNSUPPORTED", "warning"]]);
  const f = out.findings[0]!;
  expect(f.detail).toBe(`${lab.host} answered 200 without Content-Range to Range: bytes=0-${small.config.bytes.length - 1}`);
  // The check names the URL that answered, not a "<blob URL>" placeholder.
  expect(f.fixes[0]).toStartWith(
    `Check: curl -s -o /dev/null -D - -H 'Range: bytes=0-${small.config.bytes.length - 1}' '${lab.url}/v2/norange/app/blobs/${small.config.digest}' (expect 206 and Content-Range`,
  );
  expect((f.evidence.config as any).verified).toBe(true);
  expect((f.evidence.config as any).acceptRanges).toBeNull();
});

test("a layer served at 200 KiB/s → BLOB_SLOW with the measured rate, bounded by the timeout", async () => {
  const t0 = performance.now();
  const out = await run("slow/app", big, 1500);
  expect(performance.now() - t0).toBeLessThan(4000);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_SLOW"]);
  const t = (out.evidence.layer as any).throughput;
  expect(t.bytesPerSecond).toBeLessThan(400 * 1024);
  expect(t.bytesPerSecond).toBeGreaterThan(100 * 1024);
  expect(t.thresholdBytesPerSecond).toBe(1024 * 1024);
  expect(out.findings[0]!.detail).toContain("threshold 1.0 MiB/s");
  // A command to run, with this image and the registry's scheme, not a "<blob URL>" placeholder.
  expect(out.findings[0]!.fixes[0]).toMatch(
    /^Measure a whole pull outside Docker: time skopeo copy (--src-tls-verify=false )?docker:\/\/\S+\/slow\/app:\S+ oci:\/tmp\/pd-speed/,
  );
});

test("a config blob whose bytes do not hash to its digest → BLOB_DIGEST_MISMATCH", async () => {
  const out = await run("corrupt/app", small);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_DIGEST_MISMATCH"]);
  expect(out.findings[0]!.detail).toContain(`expected ${small.config.digest}`);
  expect((out.evidence.config as any).verified).toBe(false);
});

test("a layer body that stalls (headers, then nothing) → BLOB_FETCH_FAILED saying it stalled, not BLOB_SLOW; no hang", async () => {
  const t0 = performance.now();
  const out = await run("stall/app", big, 1000);
  expect(performance.now() - t0).toBeLessThan(4000);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_FETCH_FAILED"]);
  expect(out.findings[0]!.detail).toContain("the body stalled: 0 of");
  expect((out.evidence.layer as any).bytesRead).toBe(0);
});

test("a layer body cut mid-way (connection closed) → BLOB_FETCH_FAILED saying how far it got, not BLOB_SLOW", async () => {
  const out = await run("cut/app", big);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_FETCH_FAILED"]);
  expect(out.findings[0]!.detail).toContain("the body broke after 100000 of");
});
