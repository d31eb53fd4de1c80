import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { blobStage } from "../../src/stages/blob";
import { loopbackRef, resolvedManifest, stageCtx } from "./manifest-facts";

// The blob stage's probe against the transfer faults: retried as Docker retries, bounded by
// --timeout, and honest about a body that never comes.
const img = buildImage({ label: "blob-transfer" });
let lab: LabRegistry;
beforeAll(async () => {
  lab = await startLabRegistry();
  lab.addImage("flaky/app", "1.0", img, [{ kind: "blob-status", statuses: [500, 502, 503] }]);
  lab.addImage("busy/app", "1.0", img, [{ kind: "blob-status", statuses: [429], retryAfter: "3600", forever: true }]);
  lab.addImage("down/app", "1.0", img, [{ kind: "blob-status", statuses: [503], forever: true }]);
  lab.addImage("limited/app", "1.0", img, [{ kind: "blob-status", statuses: [429], retryAfter: "1", forever: true }]);
  lab.addImage("stall/app", "1.0", img, [{ kind: "stall-blob", afterBytes: 0 }]);
  lab.addImage("drip/app", "1.0", img, [{ kind: "drip-blob", bytesPerSecond: 1 }]);
});
afterAll(async () => {
  await lab?.stop();
});

async function run(repo: string, timeoutMs = 2000) {
  const t0 = performance.now();
  const out = await blobStage.run(
    stageCtx(lab.url, loopbackRef(lab.host, repo, "1.0"), { options: { timeoutMs }, facts: { manifest: resolvedManifest(img) } }),
  );
  return { ...out, ms: performance.now() - t0 };
}

test("500, 502, 503 then the blob: retried with backoff ⇒ BLOB_FETCH_FAILED as a warning naming each answer; the blobs still verified", async () => {
  const out = await run("flaky/app");
  expect(out.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(["BLOB_FETCH_FAILED:warning"]);
  expect(out.findings[0]!.detail).toContain("answered 500, 502, 503 before serving the config");
  expect(out.findings[0]!.detail).toContain("It recovered after 3 retries");
  expect((out.evidence.config as any).retries.map((r: any) => r.status)).toEqual([500, 502, 503]);
  expect((out.evidence.layer as any).retries.map((r: any) => r.status)).toEqual([500, 502, 503]);
  expect((out.evidence.config as any).verified).toBe(true);
});

test("429 with a Retry-After beyond --timeout: not waited for ⇒ BLOB_FETCH_FAILED naming the Retry-After, at once", async () => {
  const out = await run("busy/app");
  expect(out.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(["BLOB_FETCH_FAILED:error"]);
  expect(out.findings[0]!.detail).toContain("Retry-After 3600 is beyond the --timeout of 2 s pulldoctor waits");
  expect(out.ms).toBeLessThan(1000);
});

test("503 on every attempt ⇒ BLOB_FETCH_FAILED error once the retries' waits would pass --timeout in all, saying so", async () => {
  const out = await run("down/app");
  expect(out.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(["BLOB_FETCH_FAILED:error"]);
  // 0.2 + 0.4 + 0.8 s waited; the next 1.6 s would pass 2 s.
  expect(out.findings[0]!.detail).toContain("still 503 after 3 retries (pulldoctor waits at most --timeout, 2 s, in all)");
  expect(out.ms).toBeLessThan(2000 + 1000);
});

test("429 with Retry-After: 1 on every attempt ⇒ BLOB_FETCH_FAILED once the waits would pass --timeout, naming the Retry-After", async () => {
  const out = await run("limited/app");
  expect(out.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(["BLOB_FETCH_FAILED:error"]);
  expect(out.findings[0]!.detail).toContain("(Retry-After: 1); still 429 after 2 retries");
  expect(out.ms).toBeLessThan(2000 + 1000);
});

test("headers, then nothing (a small probe) ⇒ BLOB_FETCH_FAILED (stalled) within --timeout, not a pass", async () => {
  const out = await run("stall/app", 1000);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_FETCH_FAILED"]);
  expect(out.findings[0]!.detail).toContain("the body stalled: 0 of");
  expect(out.ms).toBeLessThan(1000 + 1500);
});

test("a head dripped a byte a second ⇒ BLOB_FETCH_FAILED within --timeout (the request's deadline, not an inactivity timer)", async () => {
  const out = await run("drip/app", 1000);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_FETCH_FAILED"]);
  expect(out.ms).toBeLessThan(1000 + 1500);
});
