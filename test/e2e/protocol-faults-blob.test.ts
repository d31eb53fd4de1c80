import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { InstalledFault, NamedFault } from "../../src/lab/fault-catalogue";
import { bigLayer, hiddenImage, probedImage, TRANSFER_FAULTS } from "../../src/lab/fault-catalogue-transfer";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";

/**
 * Every transfer fault of the catalogue (src/lab/fault-catalogue-transfer.ts) through the
 * compiled binary: `check` and `pull --output oci:DIR` each end in the catalogue's outcome
 * (exit status and codes) within a bound derived from --timeout, a failed pull leaves no
 * destination, and the blob store holds only blobs whose sha256 is their name (partials
 * only as a correct prefix of the blob).
 */
const TIMEOUT_S = 2;
const T = TIMEOUT_S * 1000;
/** Process start-up and the healthy stages, on a loaded 2-core runner. */
const SLACK_MS = 4_000;
/**
 * check: the blob stage meets a hanging host once per probe and stops at the first error: the
 * request's deadline (T) or the body read's (T), plus its retries of 5xx/429 (0.2+0.4+0.8+1.6 s).
 */
const CHECK_BOUND_MS = 3 * T + 3_000 + SLACK_MS;
/**
 * pull: the same diagnosis, then at most 5 attempts per blob, each ended by the head deadline (T)
 * or the body rules (at most 2T: a window of T, then one more), and the backoff between them
 * (0.5 + 1 + 2 + 4 s, +20 % jitter). A hang would blow far past it.
 */
const PULL_BOUND_MS = CHECK_BOUND_MS + 5 * (2 * T + 500) + 9_000;
const BOUND_MS = PULL_BOUND_MS;

let lab: LabRegistry;
let home: { dir: string; cleanup: () => void };
const installed = new Map<string, InstalledFault>();
let n = 0;

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-faults-blob-");
  lab = await startLabRegistry();
  for (const f of TRANSFER_FAULTS) installed.set(f.name, await f.install(lab));
});
afterAll(async () => {
  for (const i of installed.values()) await i.stop?.();
  await lab?.stop();
  home?.cleanup();
});

type Finding = { code: string; severity: string; stage: string; detail: string; evidence: Record<string, any> };

async function run(f: NamedFault, verb: "check" | "pull", extra: { workers?: string } = {}) {
  const i = installed.get(f.name)!;
  const id = ++n;
  const store = path.join(home.dir, `store-${id}`);
  const out = path.join(home.dir, `out-${id}`);
  const args = [
    verb,
    i.image,
    "--json",
    "--timeout",
    String(TIMEOUT_S),
    "--daemon-config",
    path.join(home.dir, "none.json"),
    "--certs-dir",
    path.join(home.dir, "certs.d"),
  ];
  for (const h of i.insecure) args.push("--insecure-registry", h);
  if (i.credentials) args.push("--username", i.credentials.username, "--password-stdin");
  if (verb === "pull") args.push("--output", `oci:${out}`);
  const env: Record<string, string> = {
    PULLDOCTOR_STORE: store,
    ...(extra.workers !== undefined ? { PULLDOCTOR_PULL_WORKERS: extra.workers } : {}),
  };
  const t0 = performance.now();
  const r = await runCli(args, {
    home: home.dir,
    env,
    stdin: i.credentials ? `${i.credentials.password}\n` : undefined,
    timeoutMs: BOUND_MS + 30_000,
  });
  const elapsedMs = performance.now() - t0;
  if (process.env.PD_FAULT_TIMES)
    console.log(`TIME ${f.name} ${verb}${extra.workers ? `-w${extra.workers}` : ""} ${Math.round(elapsedMs)} ms exit ${r.code}`);
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${f.name} ${verb}: no JSON report (exit ${r.code}): ${r.stderr.slice(0, 2000)}`);
  }
  expectValidReport(report);
  if (i.credentials) expectNoSecrets(r.stdout + r.stderr, [i.credentials.password]);
  const findings = report.findings as Finding[];
  return { r, report, findings, codes: findings.map((x) => x.code), elapsedMs, store, out, i };
}

/**
 * A pull that ran left a store, and every file in it is a verified blob named by its sha256, or a
 * partial that is a prefix of a blob the fault serves. (A missing store used to pass unchecked.)
 */
function expectHonestStore(store: string, pulled: boolean) {
  expect({ store, exists: existsSync(store) }).toEqual({ store, exists: true });
  const sha = path.join(store, "sha256");
  for (const name of existsSync(sha) ? readdirSync(sha) : []) {
    const hex = createHash("sha256")
      .update(readFileSync(path.join(sha, name)))
      .digest("hex");
    expect(hex).toBe(name);
  }
  const ingest = path.join(store, "ingest");
  for (const name of existsSync(ingest) ? readdirSync(ingest) : []) {
    // A partial must be a prefix of the real blob: compare against a verified pull of it.
    const m = /^sha256-([a-f0-9]{64})\.partial$/.exec(name);
    expect(m).not.toBeNull();
    expect(pulled).toBe(false);
    expectPrefixOfBlob(m![1]!, readFileSync(path.join(ingest, name)));
  }
}

/** The lab serves the true bytes of every blob it knows under any healthy repository: compare with them. */
const trueBlobs = new Map<string, Uint8Array>();
function expectPrefixOfBlob(hex: string, partial: Uint8Array) {
  const truth = trueBlobs.get(`sha256:${hex}`);
  expect(truth).toBeDefined();
  expect(partial.length).toBeLessThanOrEqual(truth!.length);
  expect(Buffer.compare(Buffer.from(partial), Buffer.from(truth!.subarray(0, partial.length)))).toBe(0);
}

function expectOutcome(f: NamedFault, res: Awaited<ReturnType<typeof run>>, verb: "check" | "pull") {
  const want = f.expect[verb];
  const why = `${f.name} ${verb}: exit ${res.r.code}, codes ${res.codes.join(",")}; ${res.report.verdict?.summary ?? ""}`;
  expect({ why, exit: res.r.code }).toEqual({ why, exit: want.exit });
  for (const c of want.codes) expect({ why, has: res.codes.includes(c) }).toEqual({ why, has: true });
  // No fault: nothing from the stages that move blobs (an insecure lab registry still warns TLS_HTTP_ONLY).
  if (want.codes.length === 0)
    expect({ why, codes: res.findings.filter((x) => x.stage === "blob" || x.stage === "pull").map((x) => x.code) }).toEqual({
      why,
      codes: [],
    });
  expect({ why, elapsedMs: res.elapsedMs < (verb === "check" ? CHECK_BOUND_MS : PULL_BOUND_MS) }).toEqual({ why, elapsedMs: true });
  if (verb === "pull") {
    const pulled = res.r.code === 0;
    // A failed pull leaves no destination; a successful one leaves a layout whose blobs verify.
    expect({ why, dest: existsSync(res.out) }).toEqual({ why, dest: pulled });
    if (pulled) {
      for (const name of readdirSync(path.join(res.out, "blobs/sha256"))) {
        expect(
          createHash("sha256")
            .update(readFileSync(path.join(res.out, "blobs/sha256", name)))
            .digest("hex"),
        ).toBe(name);
      }
      expect(res.report.pull).toMatchObject({ output: expect.any(String) });
    }
    // A pull skipped after a failed diagnosis never opens the store: nothing to check.
    if (res.report.stages.some((s: { id: string; status: string }) => s.id === "pull" && s.status !== "skip"))
      expectHonestStore(res.store, pulled);
  }
}

/** Each fault's runs start at once in beforeAll (a few faults at a time: most of their time is waiting) and each test awaits its own. */
type Run = Awaited<ReturnType<typeof run>>;
const runs = new Map<string, Promise<{ check: Run; pull: Run; pullInline: Run | null }>>();
const PARALLEL = 10;

beforeAll(() => {
  // The true bytes of every blob the faults serve (the images are deterministic per name).
  for (const f of TRANSFER_FAULTS)
    for (const img of [probedImage(f.name), hiddenImage(f.name)])
      for (const b of [img.config, ...img.layers]) trueBlobs.set(b.digest, b.bytes);
  let slots = PARALLEL;
  const queue: (() => void)[] = [];
  const slot = () => {
    if (slots <= 0) return new Promise<void>((r) => queue.push(r));
    slots--;
    return Promise.resolve();
  };
  const free = () => (queue.length ? queue.shift()!() : slots++);
  // The longest first (a pull that must exhaust its retries), so the short ones fill the gaps.
  const long = (f: NamedFault) => (f.expect.check.exit === 0 && f.expect.pull.exit !== 0 ? 0 : 1);
  for (const f of [...TRANSFER_FAULTS].sort((a, b) => long(a) - long(b))) {
    const p = slot().then(async () => {
      try {
        const check = await run(f, "check");
        // The engine runs (the diagnosis passes): again with every blob on the main thread. Faults that
        // end a pull in failure hold no state worth ordering, so both pulls run at once; the ones that
        // recover count requests (drops, status cycles), so the Workers run goes first and alone.
        if (f.expect.check.exit !== 0) return { check, pull: await run(f, "pull"), pullInline: null };
        if (f.expect.pull.exit !== 0) {
          const [pull, pullInline] = await Promise.all([run(f, "pull"), run(f, "pull", { workers: "0" })]);
          return { check, pull, pullInline };
        }
        const pull = await run(f, "pull");
        return { check, pull, pullInline: await run(f, "pull", { workers: "0" }) };
      } finally {
        free();
      }
    });
    p.catch(() => {});
    runs.set(f.name, p);
  }
});

const byName = (name: string) => TRANSFER_FAULTS.find((f) => f.name === name)!;

async function expectFault(name: string) {
  const f = byName(name);
  const r = await runs.get(name)!;
  expectOutcome(f, r.check, "check");
  expectOutcome(f, r.pull, "pull");
  if (r.pullInline) expectOutcome(f, r.pullInline, "pull");
  return r;
}

const blobRecord = (r: Run, digest: string) =>
  (r.report.stages.find((s: any) => s.id === "pull").evidence.blobs as any[]).find((b) => b.digest === digest);
const LIMIT = BOUND_MS * 3 + 90_000;

describe("transfer faults through the binary: check, pull (Workers) and pull (PULLDOCTOR_PULL_WORKERS=0)", () => {
  test("every transfer fault of the catalogue has a test here", () => {
    const titles = readFileSync(import.meta.path, "utf8");
    for (const f of TRANSFER_FAULTS)
      expect({ name: f.name, tested: titles.includes(`expectFault("${f.name}")`) }).toEqual({ name: f.name, tested: true });
  });

  test(
    "blob-drop-recovers: reset twice mid-layer, resumed with Range, verified; re-downloads little (no PULL_INTERRUPTED)",
    async () => {
      const r = await expectFault("blob-drop-recovers");
      const big = bigLayer(hiddenImage("blob-drop-recovers"));
      const rec = blobRecord(r.pull, big.digest);
      expect(rec.retries).toBe(2);
      expect(rec.retryLog.map((x: any) => x.error).join("\n")).toContain("body cut after");
      // Resumed, not restarted: at most what the two cut responses carried comes twice.
      expect(rec.downloadedBytes).toBeLessThanOrEqual(big.bytes.length + 2 * 100_000);
    },
    LIMIT,
  );

  test(
    "blob-drop-always: PULL_INTERRUPTED after the retries; the kept partial is a true prefix",
    async () => {
      const r = await expectFault("blob-drop-always");
      const f = r.pull.findings.find((x) => x.code === "PULL_INTERRUPTED")!;
      expect(f.evidence.attempts).toBe(5);
    },
    LIMIT,
  );

  test(
    "blob-short-body: a body shorter than Content-Length is resumed until complete (no PULL_INTERRUPTED)",
    async () => {
      const r = await expectFault("blob-short-body");
      expect(blobRecord(r.pull, bigLayer(hiddenImage("blob-short-body")).digest).retries).toBeGreaterThanOrEqual(3);
    },
    LIMIT,
  );

  test(
    "blob-long-body: bytes past Content-Length on a kept-alive connection reach neither the blob nor the next response (no PULL_DIGEST_MISMATCH)",
    async () => {
      await expectFault("blob-long-body");
    },
    LIMIT,
  );

  test(
    "blob-corrupt: the probe cannot see it; the pull ⇒ PULL_DIGEST_MISMATCH and keeps nothing of it",
    async () => {
      const r = await expectFault("blob-corrupt");
      const big = bigLayer(hiddenImage("blob-corrupt"));
      expect(existsSync(path.join(r.pull.store, "sha256", big.digest.slice(7)))).toBe(false);
      expect(existsSync(path.join(r.pull.store, "ingest", `sha256-${big.digest.slice(7)}.partial`))).toBe(false);
    },
    LIMIT,
  );

  test(
    "blob-corrupt-config: the probe hashes the whole config ⇒ BLOB_DIGEST_MISMATCH",
    async () => {
      await expectFault("blob-corrupt-config");
    },
    LIMIT,
  );

  test(
    "blob-host-silent: a CDN that accepts and never answers ⇒ BLOB_REDIRECT_UNREACHABLE within --timeout",
    async () => {
      const r = await expectFault("blob-host-silent");
      expect(r.check.findings.find((x) => x.code === "BLOB_REDIRECT_UNREACHABLE")!.detail).toContain("HTTP (connected, no answer)");
    },
    LIMIT,
  );

  test(
    "blob-host-silent-layer: the pull's head deadline ⇒ PULL_INTERRUPTED naming it",
    async () => {
      const r = await expectFault("blob-host-silent-layer");
      expect(r.pull.findings.find((x) => x.code === "PULL_INTERRUPTED")!.detail).toContain("no response within");
    },
    LIMIT,
  );

  test(
    "blob-drip: a head dripped a byte a second ⇒ BLOB_FETCH_FAILED within --timeout",
    async () => {
      await expectFault("blob-drip");
    },
    LIMIT,
  );

  test(
    "blob-drip-layer: a dripped layer response ends by the pull's deadline ⇒ PULL_INTERRUPTED",
    async () => {
      await expectFault("blob-drip-layer");
    },
    LIMIT,
  );

  test(
    "blob-stall: headers then nothing ⇒ BLOB_FETCH_FAILED (stalled), not a pass",
    async () => {
      const r = await expectFault("blob-stall");
      expect(r.check.findings.find((x) => x.code === "BLOB_FETCH_FAILED")!.detail).toContain("stalled");
    },
    LIMIT,
  );

  test(
    "blob-stall-layer: each stall ends by the watchdog and the pull resumes past it (no PULL_INTERRUPTED)",
    async () => {
      await expectFault("blob-stall-layer");
    },
    LIMIT,
  );

  test(
    "blob-stall-layer-always: headers then nothing on every attempt ⇒ PULL_INTERRUPTED (stalled)",
    async () => {
      const r = await expectFault("blob-stall-layer-always");
      expect(r.pull.findings.find((x) => x.code === "PULL_INTERRUPTED")!.detail).toContain("stalled");
    },
    LIMIT,
  );

  test(
    "blob-5xx-then-ok: 500, 502, 503 then the blob ⇒ BLOB_FETCH_FAILED as a warning (recovered); the pull retries and verifies",
    async () => {
      const r = await expectFault("blob-5xx-then-ok");
      const w = r.check.findings.find((x) => x.code === "BLOB_FETCH_FAILED")!;
      expect(w.severity).toBe("warning");
      expect(w.detail).toContain("before serving the");
      // The layer's probe met the whole cycle (the config's first GET may be the manifest stage's).
      expect(w.evidence.layer.retries.map((x: any) => x.status)).toEqual([500, 502, 503]);
      const img = probedImage("blob-5xx-then-ok");
      // The engine met them too, on the blobs the probe did not just consume: the retries are in its evidence.
      const recs = [img.config, ...img.layers].map((b) => blobRecord(r.pull, b.digest));
      expect(recs.some((x) => x.retryLog.map((l: any) => l.status).join(",") === "500,502,503")).toBe(true);
    },
    LIMIT,
  );

  test(
    "blob-429-retry-after: 429 with Retry-After: 1 ⇒ BLOB_FETCH_FAILED warning; the pull waits Retry-After and verifies",
    async () => {
      const r = await expectFault("blob-429-retry-after");
      const img = probedImage("blob-429-retry-after");
      const logs = [img.config, ...img.layers].flatMap((b) => blobRecord(r.pull, b.digest).retryLog);
      expect(logs.length).toBeGreaterThan(0);
      for (const l of logs) expect({ status: l.status, waited: l.waitMs >= 1000 }).toEqual({ status: 429, waited: true });
    },
    LIMIT,
  );

  test(
    "blob-429-long: Retry-After: 3600 is beyond the cap ⇒ PULL_INTERRUPTED at once, naming the Retry-After",
    async () => {
      const r = await expectFault("blob-429-long");
      const f = r.pull.findings.find((x) => x.code === "PULL_INTERRUPTED")!;
      expect(f.detail).toContain("Retry-After 3600");
      expect(f.evidence.attempts).toBe(1);
    },
    LIMIT,
  );

  test(
    "blob-error-stall: a 500 whose body never comes ⇒ PULL_INTERRUPTED naming the 500, within the bound",
    async () => {
      const r = await expectFault("blob-error-stall");
      expect(r.pull.findings.find((x) => x.code === "PULL_INTERRUPTED")!.evidence.status).toBe(500);
    },
    LIMIT,
  );

  test(
    "blob-redirect-loop: ⇒ BLOB_REDIRECT_LOOP, never a hang",
    async () => {
      await expectFault("blob-redirect-loop");
    },
    LIMIT,
  );

  test(
    "blob-redirect-chain: 11 redirects ⇒ BLOB_REDIRECT_LOOP (more than Go's 10)",
    async () => {
      const r = await expectFault("blob-redirect-chain");
      expect(r.check.findings.find((x) => x.code === "BLOB_REDIRECT_LOOP")!.detail).toStartWith("more than 10 redirects");
    },
    LIMIT,
  );

  test(
    "blob-https-to-http: followed as Docker does, with BLOB_REDIRECT_INSECURE, and no Authorization on the plain-HTTP hop",
    async () => {
      const r = await expectFault("blob-https-to-http");
      const w = r.check.findings.find((x) => x.code === "BLOB_REDIRECT_INSECURE")!;
      expect(w.severity).toBe("warning");
      const seen = installed.get("blob-https-to-http")!.observed!.requests;
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((q) => q.headers.authorization !== undefined)).toEqual([]);
    },
    LIMIT,
  );

  test(
    "blob-location-bytes: BLOB_UNKNOWN names the redirect target; the Location's bytes are followed percent-encoded (as Go sends them) and shown so, never as raw bytes",
    async () => {
      const r = await expectFault("blob-location-bytes");
      const f = r.check.findings.find((x) => x.code === "BLOB_UNKNOWN")!;
      expect(f.detail).toContain("which answered 404: the registry lists the blob, its storage or CDN does not serve it at that URL");
      const paths = installed.get("blob-location-bytes")!.observed!.requests.map((q) => q.path);
      expect(paths.length).toBeGreaterThan(0);
      // The CDN saw the bytes the registry named (the lab's wire decodes %XX), not "\xff" text turned into "/xff".
      for (const p of paths) expect(p).not.toContain("/xff");
      expect(JSON.stringify(r.check.report)).toContain("%FF%FE%C3(%9B");
      expect(r.check.r.stdout + r.check.r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\xff]/);
    },
    LIMIT,
  );

  test(
    "blob-cross-host: a login-protected registry's blobs on another host: no Authorization ever reaches it (probe, pull, retry and resume)",
    async () => {
      await expectFault("blob-cross-host");
      const seen = installed.get("blob-cross-host")!.observed!.requests;
      const big = bigLayer(probedImage("blob-cross-host"));
      // The first full GET was cut; a resume (Range from the bytes kept) followed: both were seen there.
      const layerGets = seen.filter((q) => q.path.endsWith(big.digest));
      expect(layerGets.some((q) => /^bytes=[1-9]\d*-$/.test(q.headers.range ?? ""))).toBe(true);
      expect(seen.filter((q) => q.headers.authorization !== undefined)).toEqual([]);
    },
    LIMIT,
  );
});
