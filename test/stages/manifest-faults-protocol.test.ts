import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type FaultHost, startFloodRegistry } from "../../src/lab/faults-protocol-hosts";
import { buildImage } from "../../src/lab/image";
import { type LabFault, type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { manifestStage } from "../../src/stages/manifest";
import { v2Stage } from "../../src/stages/v2";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * The v2 and manifest stages against the lab registry's protocol faults (src/lab/faults-protocol.ts),
 * over real sockets: each ends in its finding within the stage's timeout, with JSON-safe evidence.
 */
let lab: LabRegistry;
let flood: FaultHost;
const img = buildImage({ label: "protocol faults" });
const TIMEOUT = 800;

const faults: Record<string, LabFault[]> = {
  "drip/app": [{ kind: "drip", on: "manifest", bytesPerSecond: 2, methods: ["GET"] }],
  "stall/app": [{ kind: "stall-after-head", on: "manifest" }],
  "chunked/app": [{ kind: "oversize-manifest", bytes: 5 * 1024 * 1024, framing: "chunked", headLength: 500 }],
  "close/app": [{ kind: "oversize-manifest", bytes: 5 * 1024 * 1024, framing: "close", headLength: 500 }],
  "exact/app": [{ kind: "oversize-manifest", bytes: 4 * 1024 * 1024, framing: "chunked" }],
  "html/app": [{ kind: "bad-manifest", body: "html" }],
  "deep/app": [{ kind: "bad-manifest", body: "deep-objects", depth: 200_000 }],
  "error/app": [{ kind: "error-answer", status: 503, message: "\u001b[2Jdown" }],
};

beforeAll(async () => {
  lab = await startLabRegistry();
  for (const [repo, f] of Object.entries(faults)) lab.addImage(repo, "1.0", img, f);
  flood = await startFloodRegistry("manifest", 256 * 1024 * 1024);
});
afterAll(async () => {
  await lab?.stop();
  await flood?.close();
});

const manifest = (repo: string, base = lab.url) =>
  manifestStage.run(stageCtx(base, loopbackRef(new URL(base).host, repo, "1.0"), { options: { timeoutMs: TIMEOUT } }));
const codes = (o: { findings: { code: string }[] }) => o.findings.map((f) => f.code);

describe("manifest stage", () => {
  test("a dripped GET ⇒ MANIFEST_FETCH_FAILED (timeout) at the stage's timeout, not one timeout per byte", async () => {
    const t = performance.now();
    const out = await manifest("drip/app");
    expect(codes(out)).toEqual(["MANIFEST_FETCH_FAILED"]);
    expect(out.evidence.error).toMatchObject({ kind: "timeout" });
    expect(performance.now() - t).toBeLessThan(TIMEOUT + 1500);
  });

  test("headers then silence ⇒ MANIFEST_FETCH_FAILED (timeout, body)", async () => {
    const out = await manifest("stall/app");
    expect(codes(out)).toEqual(["MANIFEST_FETCH_FAILED"]);
    expect(out.evidence.error).toMatchObject({ kind: "timeout", phase: "body" });
  });

  test.each(["chunked/app", "close/app"])(
    "%s: a HEAD that says 500 bytes, a GET over 4 MiB without Content-Length ⇒ oversized, reading stopped at the limit",
    async (repo) => {
      const out = await manifest(repo);
      expect(codes(out)).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
      expect(out.findings[0]!.detail).toContain("more than 4194304 bytes (reading stopped there)");
    },
  );

  test("a 256 MiB chunked flood ⇒ oversized after 4 MiB; the flood stops", async () => {
    const out = await manifest("any/app", flood.url);
    expect(codes(out)).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
    await Bun.sleep(100);
    expect(flood.sent()).toBeLessThan(24 * 1024 * 1024);
  });

  test("exactly 4 MiB is within containerd's limit: it is read whole and judged on its content", async () => {
    const out = await manifest("exact/app");
    expect(codes(out)).not.toContain("MANIFEST_UNSUPPORTED_MEDIA_TYPE");
    expect((out.evidence.get as { computedDigest: string }).computedDigest).toMatch(/^sha256:/);
  });

  test("an HTML page served as a manifest ⇒ MANIFEST_INVALID with Go's JSON error", async () => {
    const out = await manifest("html/app");
    expect(codes(out)).toEqual(["MANIFEST_INVALID"]);
    expect(out.findings[0]!.detail).toContain("invalid character '<' looking for beginning of value");
  });

  test("200,000 nested objects ⇒ MANIFEST_INVALID (exceeded max depth), and the evidence still serializes", async () => {
    const out = await manifest("deep/app");
    expect(codes(out)).toEqual(["MANIFEST_INVALID"]);
    expect(out.findings[0]!.detail).toContain("invalid character '{' exceeded max depth");
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  test("a 503 whose message carries an escape sequence ⇒ MANIFEST_FETCH_FAILED showing it escaped", async () => {
    const out = await manifest("error/app");
    expect(codes(out)).toEqual(["MANIFEST_FETCH_FAILED"]);
    expect(out.findings[0]!.detail).toContain("unknown: \\x1b[2Jdown");
    expect(JSON.stringify(out)).not.toContain("\\u001b");
  });
});

describe("v2 stage", () => {
  test("a host-wide drip ⇒ V2_NO_RESPONSE (timeout) within the stage's timeout", async () => {
    const own = await startLabRegistry({ protocolFaults: [{ kind: "drip", on: "v2", bytesPerSecond: 2 }] });
    try {
      const t = performance.now();
      const out = await v2Stage.run(stageCtx(own.url, loopbackRef(own.host, "a/b", "1.0"), { options: { timeoutMs: TIMEOUT } }));
      expect(codes(out)).toEqual(["V2_NO_RESPONSE"]);
      expect(performance.now() - t).toBeLessThan(TIMEOUT + 1500);
    } finally {
      await own.stop();
    }
  });

  test("a 64 KiB challenge is read (Docker's Go client reads up to 10 MiB of headers): /v2/ is a registry asking for a token", async () => {
    const own = await startLabRegistry({ protocolFaults: [{ kind: "huge-challenge", on: "v2", bytes: 64 * 1024 }] });
    try {
      const out = await v2Stage.run(stageCtx(own.url, loopbackRef(own.host, "a/b", "1.0"), { options: { timeoutMs: TIMEOUT } }));
      expect(codes(out)).toEqual([]);
      expect(JSON.stringify(out.evidence)).toContain("127.0.0.1:9/token");
    } finally {
      await own.stop();
    }
  });

  test("a 2 MiB challenge ⇒ V2_NO_RESPONSE (protocol) naming the 1 MiB head limit", async () => {
    const own = await startLabRegistry({ protocolFaults: [{ kind: "huge-challenge", on: "v2", bytes: 2 * 1024 * 1024 }] });
    try {
      const out = await v2Stage.run(stageCtx(own.url, loopbackRef(own.host, "a/b", "1.0"), { options: { timeoutMs: TIMEOUT } }));
      expect(codes(out)).toEqual(["V2_NO_RESPONSE"]);
      expect(out.findings[0]!.detail).toContain("response headers larger than 1 MiB");
    } finally {
      await own.stop();
    }
  });

  test("invalid UTF-8 in every header: the registry is recognised, the header values are evidence escaped", async () => {
    const own = await startLabRegistry({ protocolFaults: [{ kind: "bad-header-bytes" }] });
    try {
      const out = await v2Stage.run(stageCtx(own.url, loopbackRef(own.host, "a/b", "1.0"), { options: { timeoutMs: TIMEOUT } }));
      expect(codes(out)).toEqual([]);
      expect(out.evidence).toMatchObject({
        apiVersion: "registry/2.0\\xff\\xfe\\xc3(\\x80\\x9b",
        server: "lab\\xff\\xfe\\xc3(\\x80\\x9b",
        clockOffsetSeconds: null,
      });
    } finally {
      await own.stop();
    }
  });
});
