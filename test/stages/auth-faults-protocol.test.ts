import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type FaultHost, startFloodRegistry } from "../../src/lab/faults-protocol-hosts";
import { buildImage } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { runAuth } from "./auth-helpers";

/**
 * The auth stage against the lab's protocol faults (issue 7): a token endpoint that stalls after
 * its head, drips, or floods 100 MiB; a manifest 401 whose WWW-Authenticate is 64 KiB; invalid
 * UTF-8 in the challenge. Each ends in its finding within the stage's timeout.
 */
const TIMEOUT = 800;
const img = buildImage({ label: "auth protocol faults" });
let lab: LabRegistry;
let bytesLab: LabRegistry;
let flood: FaultHost;

beforeAll(async () => {
  lab = await startLabRegistry();
  lab.addImage("stall/app", "1.0", img, [{ kind: "auth-required" }, { kind: "stall-after-head", on: "token" }]);
  lab.addImage("drip/app", "1.0", img, [{ kind: "auth-required" }, { kind: "drip", on: "token", bytesPerSecond: 5 }]);
  lab.addImage("open/app", "1.0", img);
  lab.addImage("huge/app", "1.0", img, [{ kind: "huge-challenge", on: "manifest", bytes: 64 * 1024 }]);
  bytesLab = await startLabRegistry({ protocolFaults: [{ kind: "bad-header-bytes" }] });
  bytesLab.addImage("private/app", "1.0", img, [{ kind: "auth-required" }]);
  bytesLab.addImage("public/app", "1.0", img);
  flood = await startFloodRegistry("token", 100 * 1024 * 1024);
});
afterAll(async () => {
  await lab?.stop();
  await bytesLab?.stop();
  await flood?.close();
});

describe("token endpoint faults", () => {
  test.each(["stall/app", "drip/app"])("%s ⇒ AUTH_TOKEN_SERVER_UNREACHABLE (timeout) within the stage's timeout", async (repo) => {
    const t = performance.now();
    const r = await runAuth(lab.url, repo, null, { timeoutMs: TIMEOUT });
    expect(r.errors).toEqual(["AUTH_TOKEN_SERVER_UNREACHABLE"]);
    // Our deadline or undici's headers timer, whichever fires first: a timeout either way.
    expect((r.out.evidence.realm as { error: { kind: string } }).error.kind).toBe("timeout");
    // The token fetch, then the realm's own DNS/TCP evidence: each bounded, no byte-by-byte extension.
    expect(performance.now() - t).toBeLessThan(2 * TIMEOUT + 1500);
  });

  test("a 100 MiB answer ⇒ AUTH_TOKEN_INVALID naming the 64 KiB limit, said once", async () => {
    const r = await runAuth(flood.url, "any/app", null, { timeoutMs: 5000 });
    expect(r.errors).toEqual(["AUTH_TOKEN_INVALID"]);
    expect(r.main!.detail).toBe(
      `the token service answered 200 but the answer is larger than 64 KiB (pulldoctor stops reading a token answer there) (realm ${flood.url}/token).`,
    );
    expect(flood.sent()).toBeLessThan(16 * 1024 * 1024);
  });
});

describe("challenge faults", () => {
  test("a manifest 401 with a 64 KiB WWW-Authenticate is read as Docker reads it: still 401 with a token ⇒ a login is required", async () => {
    const r = await runAuth(lab.url, "huge/app", null, { timeoutMs: TIMEOUT });
    expect(r.errors).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    expect(JSON.stringify(r.out.evidence)).toContain('realm=\\"http://127.0.0.1:9/token\\"');
  });

  test("invalid UTF-8 in the challenge and every header: the token is fetched, the evidence shows the bytes escaped", async () => {
    const r = await runAuth(bytesLab.url, "public/app", null, { timeoutMs: TIMEOUT });
    expect(r.errors).toEqual([]);
    const raw = (r.out.evidence.challenge as { raw: string[] }).raw;
    expect(raw).toHaveLength(1);
    expect(raw[0]).toContain('lab="\\xff\\xfe\\xc3(\\x80\\x9b"');
    expect(JSON.stringify(r.out)).not.toMatch(/[\u0080-\u009f\ufffd]/);
  });
});
