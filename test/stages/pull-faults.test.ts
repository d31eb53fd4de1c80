import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import type { AuthSession } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import { BlobStore } from "../../src/pull/store";
import { tempDir } from "../helpers/context";
import { freePort } from "../peers/require";
import { factsFor, pull } from "./pull-fixture";

// Faults no real registry produces on demand, served over real sockets by the lab registry.
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
const BIG = 1_000_000;
const img = buildImage({
  label: "faults",
  layers: [[{ name: "big.bin", content: noise(BIG, 7) }], [{ name: "small.txt", content: "small\n" }]],
});
const big = img.layers[0];
const small = img.layers[1];
const total = img.config.bytes.length + big.bytes.length + small.bytes.length;
let n = 0;
const store = () => path.join(work.dir, `store-${++n}`);

beforeAll(async () => {
  work = tempDir("pd-pull-faults-");
  lab = await startLabRegistry();
});
afterAll(async () => {
  await lab?.stop();
  work?.cleanup();
});

test("corrupt bytes of the right size ⇒ PULL_DIGEST_MISMATCH with expected, actual and host; nothing kept, no output", async () => {
  lab.addImage("corrupt/app", "1.0", img, [{ kind: "corrupt-blob", digest: big.digest }]);
  const dir = path.join(work.dir, "never");
  const s = store();
  const r = await pull(factsFor(lab.url, "corrupt/app", "1.0", img), `oci:${dir}`, { storeDir: s });
  expect(r.result.status).toBe("fail");
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_DIGEST_MISMATCH"]);
  const f = r.findings[0];
  expect(f.evidence).toMatchObject({ expected: big.digest, host: lab.host, size: big.bytes.length });
  expect(f.evidence.actual).toMatch(/^sha256:[a-f0-9]{64}$/);
  expect(f.evidence.actual).not.toBe(big.digest);
  expect(f.detail).toContain(lab.host);
  expect(f.fixes.join("\n")).toContain(`${lab.url}/v2/corrupt/app/blobs/${big.digest}`);
  expect(existsSync(dir)).toBe(false);
  const st = new BlobStore(s);
  expect(existsSync(st.blobPath(big.digest))).toBe(false);
  expect(existsSync(st.partialPath(big.digest))).toBe(false);
  expect(existsSync(st.blobPath(small.digest))).toBe(true);
  expect(r.summary).toBeNull();
});

test("a connection reset mid-body is retried (Range from what arrived) and the pull completes", async () => {
  lab.addImage("drop/app", "1.0", img, [{ kind: "drop-connection", digest: big.digest, afterBytes: 300_000, times: 2 }]);
  const r = await pull(factsFor(lab.url, "drop/app", "1.0", img), `oci:${path.join(work.dir, "dropped")}`, { storeDir: store() });
  expect(r.findings).toEqual([]);
  expect(r.result.status).toBe("pass");
  const rec = (r.result.evidence.blobs as { digest: string; retries: number }[]).find((b) => b.digest === big.digest)!;
  expect(rec.retries).toBe(2);
  expect(r.events.filter((e) => e.type === "retry").length).toBe(2);
  // A reset may discard bytes still in the kernel's receive queue, so only the bound is exact.
  expect(r.summary!.downloadedBytes).toBeGreaterThanOrEqual(total);
  expect(r.summary!.downloadedBytes).toBeLessThanOrEqual(total + 2 * 300_000);
  expect(lab.log.filter((l) => l.path === `/v2/drop/app/blobs/${big.digest}`).length).toBe(3);
});

test("a body cut short (EOF) is resumed with Range each time: every byte received is kept and never fetched again", async () => {
  lab.addImage("cut/app", "1.0", img, [{ kind: "truncate-blob", digest: big.digest, afterBytes: 250_000 }]);
  const r = await pull(factsFor(lab.url, "cut/app", "1.0", img), `oci:${path.join(work.dir, "cut")}`, {
    storeDir: store(),
    tuning: { retry: { attempts: 12, backoffMs: 5, maxBackoffMs: 5 } },
  });
  expect(r.findings).toEqual([]);
  expect(r.summary!.downloadedBytes).toBe(total);
  const ranges = lab.log
    .filter((l) => l.path === `/v2/cut/app/blobs/${big.digest}`)
    .map((l) => Number((l.range ?? "bytes=0-").slice(6, -1)));
  expect(ranges.length).toBeGreaterThanOrEqual(5);
  expect(ranges.at(-1)).toBeGreaterThan(0);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]).toBeGreaterThanOrEqual(ranges[i - 1]);
});

test("a registry that ignores Range (200 to a ranged GET): the partial is dropped and the blob fetched from 0", async () => {
  lab.addImage("norange/app", "1.0", img, [{ kind: "no-range" }]);
  const s = store();
  const st = new BlobStore(s);
  st.ensure();
  await Bun.write(st.partialPath(big.digest), big.bytes.subarray(0, 100_000));
  const r = await pull(factsFor(lab.url, "norange/app", "1.0", img), `oci:${path.join(work.dir, "norange")}`, { storeDir: s });
  expect(r.findings).toEqual([]);
  expect(r.summary).toMatchObject({ downloadedBytes: total, reusedBytes: 0 });
  expect(lab.log.find((l) => l.path === `/v2/norange/app/blobs/${big.digest}`)?.range).toBe("bytes=100000-");
});

test("a damaged partial from an earlier run: resume fails verification, one fetch from byte 0 fixes it", async () => {
  lab.addImage("badpartial/app", "1.0", img);
  const s = store();
  const st = new BlobStore(s);
  st.ensure();
  await Bun.write(st.partialPath(big.digest), noise(100_000, 99));
  const r = await pull(factsFor(lab.url, "badpartial/app", "1.0", img), `oci:${path.join(work.dir, "badpartial")}`, { storeDir: s });
  expect(r.findings).toEqual([]);
  expect(r.summary).toMatchObject({ downloadedBytes: total + big.bytes.length - 100_000, reusedBytes: 0 });
  expect(lab.log.filter((l) => l.path === `/v2/badpartial/app/blobs/${big.digest}`).map((l) => l.range ?? null)).toEqual([
    "bytes=100000-",
    null,
  ]);
});

test("retries exhausted ⇒ PULL_INTERRUPTED; the bytes received are kept and the next run resumes from them", async () => {
  lab.addImage("flaky/app", "1.0", img, [{ kind: "truncate-blob", digest: big.digest, afterBytes: 250_000 }]);
  const s = store();
  const dir = path.join(work.dir, "flaky");
  const r = await pull(factsFor(lab.url, "flaky/app", "1.0", img), `oci:${dir}`, {
    storeDir: s,
    tuning: { retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 20 } },
  });
  expect(r.result.status).toBe("fail");
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
  expect(r.findings[0].evidence).toMatchObject({ digest: big.digest, attempts: 3, retries: 2, host: lab.host });
  // Bun's fetch may drop the last buffered bytes when the peer closes early: what was kept is what was delivered.
  const kept = new BlobStore(s).partialSize(big.digest);
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThanOrEqual(750_000);
  expect(r.findings[0].detail).toContain(`${kept} of 1000468 bytes kept`);
  expect(r.findings[0].detail).not.toContain("verbose");
  expect(existsSync(dir)).toBe(false);
  // The registry recovers; the re-run fetches only what is missing.
  lab.setFaults("flaky/app", []);
  const again = await pull(factsFor(lab.url, "flaky/app", "1.0", img), `oci:${dir}`, { storeDir: s });
  expect(again.findings).toEqual([]);
  expect(again.summary!.downloadedBytes).toBe(big.bytes.length - kept);
  expect(again.summary!.reusedBytes).toBe(total - (big.bytes.length - kept));
  const done = again.events.find((e) => e.type === "done" && e.digest === big.digest);
  expect(done).toMatchObject({ resumedFrom: kept });
});

test("a stalled body is cut by the idle timeout ⇒ PULL_INTERRUPTED (stalled), well within the test's time", async () => {
  lab.addImage("stall/app", "1.0", img, [{ kind: "stall-blob", digest: big.digest, afterBytes: 100_000 }]);
  const t0 = Date.now();
  const r = await pull(factsFor(lab.url, "stall/app", "1.0", img), `oci:${path.join(work.dir, "stall")}`, {
    storeDir: store(),
    tuning: { idleTimeoutMs: 300, retry: { attempts: 1, backoffMs: 10, maxBackoffMs: 10 } },
  });
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
  expect(r.findings[0].detail).toMatch(/stalled after \d+ of 1000468 bytes: no data for 300 ms/);
});

test("mirror down ⇒ the blobs come from the next endpoint (upstream), as Docker falls back", async () => {
  lab.addImage("mirror/app", "1.0", img);
  const dead = `http://127.0.0.1:${await freePort()}`;
  const mirror = factsFor(dead, "mirror/app", "1.0", img);
  mirror.endpoint.role = "mirror";
  const r = await pull(mirror, `oci:${path.join(work.dir, "mirrored")}`, {
    storeDir: store(),
    fallbacks: [factsFor(lab.url, "mirror/app", "1.0", img)],
    tuning: { retry: { attempts: 2, backoffMs: 5, maxBackoffMs: 5 } },
  });
  expect(r.findings).toEqual([]);
  const recs = r.result.evidence.blobs as { endpoint: string; retries: number }[];
  expect(recs.every((b) => b.endpoint === lab.url && b.retries === 1)).toBe(true);
});

test("a token that expires mid-pull: 401 ⇒ invalidate(), a new token, and the blob GET succeeds", async () => {
  lab.addImage("private/app", "1.0", img, [{ kind: "auth-required", username: "demo", password: "pulldoctor" }]);
  let invalidated = 0;
  let stale = true;
  const session: AuthSession = {
    scheme: "bearer",
    async authorize() {
      if (stale) return new Secret("Bearer expired-token-value");
      const res = await fetch(`${lab.url}/token?service=pulldoctor-lab&scope=repository:private/app:pull`, {
        headers: { Authorization: `Basic ${btoa("demo:pulldoctor")}` },
      });
      const body = (await res.json()) as { token: string };
      return new Secret(`Bearer ${body.token}`);
    },
    invalidate() {
      invalidated++;
      stale = false;
    },
  };
  const r = await pull(factsFor(lab.url, "private/app", "1.0", img, session), `oci:${path.join(work.dir, "private")}`, {
    storeDir: store(),
    options: { concurrency: 1 },
  });
  expect(r.findings).toEqual([]);
  expect(invalidated).toBe(1);
  expect(JSON.stringify(r.result)).not.toContain("expired-token-value");
});

test("Ctrl-C (deps.signal) mid-pull ⇒ PULL_INTERRUPTED 'cancelled', no retry, the bytes so far kept for the next run", async () => {
  lab.addImage("cancel/app", "1.0", img, [{ kind: "slow-blob", digest: big.digest, bytesPerSecond: 2_000_000 }]);
  const s = store();
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("SIGINT")), 250);
  const t0 = Date.now();
  const r = await pull(factsFor(lab.url, "cancel/app", "1.0", img), `oci:${path.join(work.dir, "cancelled")}`, {
    storeDir: s,
    deps: { signal: ac.signal },
  });
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED"]);
  expect(r.findings[0].detail).toContain(`cancelled while fetching ${big.digest}`);
  expect(r.events.filter((e) => e.type === "retry")).toEqual([]);
  const kept = new BlobStore(s).partialSize(big.digest);
  expect(kept).toBeGreaterThan(0);
  expect(r.findings[0].detail).toContain(`(${kept} of ${big.bytes.length} bytes kept)`);
  expect(existsSync(path.join(work.dir, "cancelled"))).toBe(false);
});

test("another live pulldoctor holds the blob's lock: wait for it, then fetch; a lock of a dead process is taken over", async () => {
  lab.addImage("locked/app", "1.0", img);
  const s = store();
  const st = new BlobStore(s);
  st.ensure();
  const other = Bun.spawn(["sleep", "10"]);
  await Bun.write(`${st.partialPath(big.digest)}.lock`, String(other.pid));
  await Bun.write(`${st.partialPath(small.digest)}.lock`, "999999");
  setTimeout(() => other.kill(), 400);
  const t0 = Date.now();
  const r = await pull(factsFor(lab.url, "locked/app", "1.0", img), `oci:${path.join(work.dir, "locked")}`, { storeDir: s });
  expect(r.findings).toEqual([]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  const first = lab.log.filter((l) => l.path.startsWith("/v2/locked/app/blobs/")).map((l) => l.path.split("/").pop());
  expect(first.at(-1)).toBe(big.digest);
  expect(existsSync(`${st.partialPath(big.digest)}.lock`)).toBe(false);
  expect(existsSync(`${st.partialPath(small.digest)}.lock`)).toBe(false);
});

test("a lock owner that is alive but makes no progress for the idle timeout is taken over", async () => {
  lab.addImage("hunglock/app", "1.0", img);
  const s = store();
  const st = new BlobStore(s);
  st.ensure();
  const hung = Bun.spawn(["sleep", "10"]);
  try {
    await Bun.write(`${st.partialPath(big.digest)}.lock`, String(hung.pid));
    const t0 = Date.now();
    const r = await pull(factsFor(lab.url, "hunglock/app", "1.0", img), `oci:${path.join(work.dir, "hunglock")}`, {
      storeDir: s,
      tuning: { idleTimeoutMs: 500 },
    });
    expect(r.findings).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(Date.now() - t0).toBeLessThan(3000);
  } finally {
    hung.kill();
  }
});

test("the token endpoint failing mid-pull is retried like a transport error, then PULL_INTERRUPTED naming it (no crash)", async () => {
  lab.addImage("tokenfail/app", "1.0", img);
  let calls = 0;
  const session: AuthSession = {
    scheme: "bearer",
    async authorize() {
      calls++;
      throw new Error("connect ECONNREFUSED 127.0.0.1:1 (token endpoint)");
    },
    invalidate() {},
  };
  const r = await pull(factsFor(lab.url, "tokenfail/app", "1.0", img, session), `oci:${path.join(work.dir, "tokenfail")}`, {
    storeDir: store(),
    options: { concurrency: 1 },
    tuning: { retry: { attempts: 2, backoffMs: 1, maxBackoffMs: 1 } },
  });
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_INTERRUPTED", "PULL_INTERRUPTED", "PULL_INTERRUPTED"]);
  expect(r.findings[0].detail).toContain("getting a token for tokenfail/app: connect ECONNREFUSED 127.0.0.1:1 (token endpoint)");
  expect(calls).toBe(6);
});

test("the temp names of a failed pull never remain beside the destination", () => {
  expect(readdirSync(work.dir).filter((x) => x.includes(".pulldoctor-"))).toEqual([]);
});
