import { expect, test } from "bun:test";
import path from "node:path";
import { catalogueEntry } from "../../src/model/catalogue/index";
import { parseOutput, repoTagOf } from "../../src/pull/engine";
import { engineAddress, parseLoadStream } from "../../src/pull/outputs/docker-engine";
import { backoffDelay, runPool } from "../../src/pull/schedule";
import { BlobStore, defaultStoreDir } from "../../src/pull/store";
import { parseDigest } from "../../src/pull/verify";
import { testDeps } from "../helpers/context";

test.each([
  ["docker", { kind: "docker" }],
  ["oci:/tmp/x", { kind: "oci", dir: "/tmp/x", tag: null }],
  ["oci:./out:1.0", { kind: "oci", dir: "./out", tag: "1.0" }],
  ["oci:out:", { kind: "oci", dir: "out", tag: null }],
  ["docker-archive:/tmp/a.tar", { kind: "docker-archive", file: "/tmp/a.tar" }],
] as const)("parseOutput(%p)", (input, want) => {
  expect(parseOutput(input)).toEqual(want as never);
});

test.each(["oci:", "docker-archive:", "tarball:/x", "dir:/x", "oci:/x:bad tag", ""])("parseOutput(%p) is an error", (input) => {
  expect("error" in parseOutput(input)).toBe(true);
});

test("repoTagOf: docker's names (Hub short form, others with the registry)", () => {
  const base = { input: "", digest: null, canonical: "", familiar: "" };
  expect(repoTagOf({ ...base, registry: "docker.io", repository: "library/nginx", tag: "1.27" })).toBe("nginx:1.27");
  expect(repoTagOf({ ...base, registry: "docker.io", repository: "grafana/grafana", tag: "11" })).toBe("grafana/grafana:11");
  expect(repoTagOf({ ...base, registry: "127.0.0.1:5000", repository: "team/app", tag: "1.0" })).toBe("127.0.0.1:5000/team/app:1.0");
  expect(repoTagOf({ ...base, registry: "ghcr.io", repository: "a/b", tag: null })).toBeNull();
});

test("backoff doubles with ±20% jitter and a cap", () => {
  const t = { attempts: 5, backoffMs: 500, maxBackoffMs: 8000 };
  expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(t, r, () => 0.5))).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  expect(backoffDelay(t, 1, () => 0)).toBe(400);
  expect(backoffDelay(t, 1, () => 1)).toBe(600);
});

test("runPool: at most N in flight, largest first, every item runs even when one fails", async () => {
  let inFlight = 0;
  let peak = 0;
  const started: number[] = [];
  const res = await runPool(
    [1, 5, 3, 4, 2],
    2,
    (x) => x,
    async (x) => {
      started.push(x);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await Bun.sleep(5);
      inFlight--;
      if (x === 3) throw new Error("three");
      return x * 10;
    },
  );
  expect(peak).toBe(2);
  expect(started).toEqual([5, 4, 3, 2, 1]);
  expect(res.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
});

test("store: default location, env override, digests validated before they name a file", () => {
  expect(defaultStoreDir(testDeps({ env: { PULLDOCTOR_STORE: "/data/pd" } }))).toBe("/data/pd");
  expect(defaultStoreDir(testDeps({ env: { XDG_CACHE_HOME: "/c" } }))).toBe("/c/pulldoctor/blobs");
  const deps = testDeps({ env: { XDG_CACHE_HOME: "relative/ignored" } });
  expect(defaultStoreDir(deps)).toBe(path.join(deps.homeDir, ".cache/pulldoctor/blobs"));
  const s = new BlobStore("/s");
  const hex = "a".repeat(64);
  expect(s.blobPath(`sha256:${hex}`)).toBe(`/s/sha256/${hex}`);
  expect(s.partialPath(`sha256:${hex}`)).toBe(`/s/ingest/sha256-${hex}.partial`);
  expect(() => s.blobPath("sha256:../../etc/passwd")).toThrow("invalid digest");
  expect(parseDigest(`sha256:${"A".repeat(64)}`)).toBeNull();
  expect(parseDigest(`md5:${"a".repeat(32)}`)).toBeNull();
  expect(parseDigest(`sha512:${"b".repeat(128)}`)).toEqual({ algorithm: "sha512", hex: "b".repeat(128) });
});

test("engineAddress: DOCKER_HOST unix/tcp, default socket, unsupported schemes said plainly", () => {
  expect(engineAddress(testDeps({ env: { DOCKER_HOST: "unix:///run/user/1000/docker.sock" } }))).toMatchObject({
    kind: "unix",
    socketPath: "/run/user/1000/docker.sock",
  });
  expect(engineAddress(testDeps({ env: { DOCKER_HOST: "tcp://10.0.0.5:2375" } }))).toMatchObject({
    kind: "tcp",
    host: "10.0.0.5",
    port: 2375,
  });
  const d = testDeps();
  expect(engineAddress(d)).toMatchObject({ kind: "unix", socketPath: d.paths.dockerSocket, source: "default socket" });
  expect(engineAddress(testDeps({ env: { DOCKER_HOST: "ssh://me@host" } }))).toMatchObject({
    error: expect.stringContaining("only unix:// and tcp://"),
  });
});

test("parseLoadStream: loaded names, and the Engine's error lines", () => {
  expect(parseLoadStream('{"stream":"Loaded image: 127.0.0.1:5000/team/app:1.0\\n"}\r\n', 200)).toEqual({
    loaded: ["127.0.0.1:5000/team/app:1.0"],
    messages: ["Loaded image: 127.0.0.1:5000/team/app:1.0"],
    error: null,
  });
  expect(parseLoadStream('{"stream":"Loaded image ID: sha256:abc\\n"}', 200).loaded).toEqual(["sha256:abc"]);
  expect(parseLoadStream('{"errorDetail":{"message":"invalid tar header"},"error":"invalid tar header"}', 200).error).toBe(
    "invalid tar header",
  );
  expect(parseLoadStream('{"message":"client version 1.99 is too new"}', 400).error).toBe("client version 1.99 is too new");
});

test("every PULL_* catalogue entry fills its fixes with the occurrence's facts", () => {
  const mm = catalogueEntry("PULL_DIGEST_MISMATCH");
  const fixes = mm.fixes({
    image: "reg.example.com/team/app:1.0",
    repository: "team/app",
    digest: `sha256:${"a".repeat(64)}`,
    actual: `sha256:${"b".repeat(64)}`,
    size: 10,
    received: 10,
    host: "cdn.example.net",
    endpoint: "https://reg.example.com",
    resumedFrom: 0,
    storeDir: "/s",
  });
  expect(fixes[0]).toBe(
    `Fetch the blob once by hand and compare: curl -sSL https://reg.example.com/v2/team/app/blobs/sha256:${"a".repeat(64)} | sha256sum (expected ${"a".repeat(64)})`,
  );
  expect(fixes[1]).toContain("The bytes came from cdn.example.net (a redirect)");
  const ns = catalogueEntry("PULL_NO_SPACE");
  expect(ns.detail({ image: "x", path: "/mnt", needed: 3 << 20, free: 1 << 20, what: ["output /mnt/out"] })).toBe(
    "/mnt has 1.0 MiB free; 3.0 MiB still to write (output /mnt/out)",
  );
  expect(ns.fixes({ image: "x", path: "/mnt", needed: 3 << 20, free: 1 << 20, what: [] })[0]).toContain(
    "Free at least 2.0 MiB on the filesystem of /mnt",
  );
  for (const code of ["PULL_DIGEST_MISMATCH", "PULL_NO_SPACE", "PULL_INTERRUPTED", "PULL_DAEMON_UNAVAILABLE"] as const) {
    const e = catalogueEntry(code);
    expect(e.stage).toBe("pull");
    expect(e.seen.length).toBeGreaterThanOrEqual(3);
    expect(e.causes.length).toBeGreaterThanOrEqual(3);
    expect(e.genericFixes.length).toBeGreaterThanOrEqual(2);
  }
});

test("a manifest naming a digest that cannot be verified (md5, bad hex) is a failed stage, not a crash", async () => {
  const { runPull } = await import("../../src/pull/engine");
  const { testOptions } = await import("../helpers/context");
  const { nullTrace } = await import("../../src/model/trace");
  const bad = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: "md5:0123456789abcdef0123456789abcdef", size: 3 };
  const cfg = { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 2 };
  const r = await runPull({
    options: testOptions(),
    deps: testDeps(),
    trace: nullTrace,
    endpoint: {
      url: "http://127.0.0.1:9",
      host: "127.0.0.1:9",
      hostname: "127.0.0.1",
      port: 9,
      role: "upstream",
      insecure: true,
      pathPrefix: "",
    },
    facts: {
      ref: {
        input: "x",
        registry: "127.0.0.1:9",
        repository: "a/b",
        tag: "1",
        digest: null,
        canonical: "127.0.0.1:9/a/b:1",
        familiar: "127.0.0.1:9/a/b:1",
      },
      manifest: {
        digest: `sha256:${"d".repeat(64)}`,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        index: null,
        platform: "linux/amd64",
        image: {
          digest: `sha256:${"d".repeat(64)}`,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          size: 2,
          raw: new Uint8Array(2),
          config: cfg,
          layers: [bad],
        },
      },
    },
    output: "oci:/tmp/pd-never-written",
    tuning: { storeDir: "/tmp/pd-never-store" },
  });
  expect(r.result.status).toBe("fail");
  expect(r.result.summary).toContain('"md5:0123456789abcdef0123456789abcdef"');
  expect(r.summary).toBeNull();
});

test("runPool with a byte budget: small items join beyond the limit while their bytes fit, large ones keep the limit", async () => {
  const peakOf = async (items: number[], limit: number) => {
    let inFlight = 0;
    let peak = 0;
    await runPool(
      items,
      limit,
      (x) => x,
      async () => {
        peak = Math.max(peak, ++inFlight);
        await Bun.sleep(5);
        inFlight--;
      },
      { bytes: 10, maxCount: 8 },
    );
    return peak;
  };
  // Twenty items of 1: eight at once (the count cap), ten bytes allow it.
  expect(await peakOf(Array(20).fill(1), 2)).toBe(8);
  // Items of 4: the limit of 2 lets two start; a third would make 12 bytes > 10.
  expect(await peakOf(Array(6).fill(4), 2)).toBe(2);
  // Items of 100: the limit alone.
  expect(await peakOf(Array(6).fill(100), 3)).toBe(3);
  expect(
    await runPool(
      [],
      2,
      (x: number) => x,
      async (x) => x,
    ),
  ).toEqual([]);
});
