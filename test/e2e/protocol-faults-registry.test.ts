import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { InstalledFault, NamedFault } from "../../src/lab/fault-catalogue";
import { PROTOCOL_FAULTS } from "../../src/lab/fault-catalogue-protocol";
import { otherPlatforms } from "../../src/lab/scenarios";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { hostPlatform } from "../../src/model/deps";
import { requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { findingOf, stageOf } from "../helpers/report";
import { expectValidReport } from "../helpers/schema";
import { type BinaryRun, schedule, runBinary as spawnBinary } from "./protocol-faults-runner";

/**
 * Every protocol fault of the named catalogue (src/lab/fault-catalogue-protocol.ts) through the
 * compiled binary: `check` and `pull --output oci:DIR` end in the catalogued codes and exit
 * status, within a bound derived from --timeout, with a report that validates, no raw control
 * characters in any output, no destination after a failed pull, and bounded memory.
 */
type Finding = { code: string; severity: string; stage: string; detail: string; fixes: string[]; evidence: Record<string, any> };
type Stage = { id: string; status: string; summary: string; evidence: Record<string, any> };

const T = 2;
/** How many --timeout deadlines a fault makes the run wait through in sequence (0: none). */
const DEADLINES: Record<string, number> = {
  "silent-host": 1,
  "silent-host-raw": 2, // the connect stage's TLS probe, then its plain-HTTP look
  "drip-v2": 1,
  "drip-manifest": 1,
  "drip-manifest-head": 1,
  "stall-manifest": 1,
  "stall-token": 1,
  "drip-token": 1,
};
/** Start-up, the stages that do answer, and a loaded CI machine (runs go three at a time). */
const MARGIN_MS = 4500;
/** No run may hold more than this: the 4 MiB manifest limit plus the runtime, far below a 1 GiB flood. */
const MAX_RSS = 160 * 1024 * 1024;
/** C0 controls but tab/newline/CR, DEL and the C1 range: what a terminal would act on. */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;

interface Run extends BinaryRun {
  report: { findings: Finding[]; stages: Stage[]; verdict: Record<string, unknown> };
  output: string | null;
}

let lab: LabRegistry;
let home: { dir: string; cleanup: () => void };
const installed = new Map<string, InstalledFault>();
let runs = new Map<string, Promise<Run>>();
const runBinary = (args: string[]) =>
  spawnBinary(
    args,
    { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home.dir, NO_COLOR: "1", PULLDOCTOR_STORE: path.join(home.dir, "store") },
    home.dir,
  );
let n = 0;

function argsFor(f: NamedFault, x: InstalledFault, cmd: "check" | "pull", extra: string[] = []): { args: string[]; output: string | null } {
  const base = [
    cmd,
    x.image,
    "--daemon-config",
    path.join(home.dir, "none.json"),
    "--certs-dir",
    path.join(home.dir, "certs.d"),
    "--timeout",
    String(T),
    ...x.insecure.flatMap((h) => ["--insecure-registry", h]),
    ...extra,
  ];
  if (cmd === "check") return { args: base, output: null };
  const output = path.join(home.dir, `out-${f.name}-${++n}`);
  return { args: [...base, "--output", `oci:${output}`], output };
}

async function run(f: NamedFault, cmd: "check" | "pull"): Promise<Run> {
  const { args, output } = argsFor(f, installed.get(f.name)!, cmd, ["--json"]);
  const r = await runBinary(args);
  let report: Run["report"];
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${f.name} ${cmd}: no JSON report (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 600)}`);
  }
  return { ...r, report, output };
}

const result = (name: string, cmd: "check" | "pull") => runs.get(`${name} ${cmd}`)!;
const faultNamed = (name: string) => PROTOCOL_FAULTS.find((f) => f.name === name)!;
const codes = (r: Run) => r.report.findings.map((f) => f.code);
const find = (r: Run, code: string) => findingOf(r.report, code);
const stage = (r: Run, id: string) => stageOf(r.report, id);

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-protocol-faults-");
  lab = await startLabRegistry();
  for (const f of PROTOCOL_FAULTS) installed.set(f.name, await f.install(lab));
  runs = schedule(
    PROTOCOL_FAULTS.flatMap((f) =>
      (["check", "pull"] as const).map((cmd): [string, () => Promise<Run>] => [`${f.name} ${cmd}`, () => run(f, cmd)]),
    ),
    3,
  );
});

afterAll(async () => {
  await Promise.allSettled([...runs.values()]);
  for (const x of installed.values()) await x.stop?.();
  await lab?.stop();
  home?.cleanup();
});

describe("every protocol fault, check and pull, through the binary", () => {
  for (const f of PROTOCOL_FAULTS) {
    for (const cmd of ["check", "pull"] as const) {
      const want = f.expect[cmd];
      test(`${f.name}: ${cmd} ⇒ ${want.codes.join(", ")} (exit ${want.exit})`, async () => {
        const r = await result(f.name, cmd);
        expectValidReport(r.report);
        expect(codes(r)).toEqual(expect.arrayContaining([...want.codes]));
        expect(r.code).toBe(want.exit);
        const bound = (DEADLINES[f.name] ?? 0) * T * 1000 + MARGIN_MS;
        expect(r.ms).toBeLessThan(bound);
        expect(r.maxRss).toBeGreaterThan(0);
        expect(r.maxRss).toBeLessThan(MAX_RSS);
        expect(CONTROL.test(r.stdout)).toBe(false);
        expect(CONTROL.test(r.stderr)).toBe(false);
        if (cmd === "pull") {
          const pull = stage(r, "pull");
          if (want.exit === 1) {
            expect(existsSync(r.output!)).toBe(false);
            expect(pull.status).toMatch(/skip|fail/);
          } else {
            expect(pull.status).toBe("pass");
            expect(readdirSync(r.output!)).toContain("index.json");
          }
        }
      }, 90_000);
    }
  }
});

test("after every check and pull: the store holds only blobs whose bytes hash to their names, and no partial", async () => {
  await Promise.allSettled([...runs.values()]);
  const root = path.join(home.dir, "store");
  const sha = path.join(root, "sha256");
  const blobs = existsSync(sha) ? readdirSync(sha) : [];
  // The one fault whose pull succeeds (bad-header-bytes-but-digest) stored its verified blobs.
  expect(blobs.length).toBeGreaterThan(0);
  for (const hex of blobs)
    expect(
      createHash("sha256")
        .update(readFileSync(path.join(sha, hex)))
        .digest("hex"),
    ).toBe(hex);
  const ingest = path.join(root, "ingest");
  expect(existsSync(ingest) ? readdirSync(ingest) : []).toEqual([]);
}, 120_000);

describe("what each finding says", () => {
  test("V2_NO_RESPONSE: a host that never answers ends within --timeout + margin, later stages skipped with a reason", async () => {
    const r = await result("silent-host", "check");
    expect(r.ms).toBeLessThan(T * 1000 + MARGIN_MS);
    const f = find(r, "V2_NO_RESPONSE");
    expect(f.evidence.error).toMatchObject({ kind: "timeout", phase: "response" });
    expect(f.detail).toContain(`${T * 1000} ms`);
    for (const id of ["auth", "manifest", "blob"]) {
      expect(stage(r, id).status).toBe("skip");
      expect(stage(r, id).summary.length).toBeGreaterThan(0);
    }
  }, 90_000);

  test("V2_NO_RESPONSE: a response dripped a byte a second is cut at the exchange's deadline, not kept alive by each byte", async () => {
    const r = await result("drip-v2", "check");
    expect(find(r, "V2_NO_RESPONSE").evidence.error).toMatchObject({ kind: "timeout" });
    expect(stage(r, "v2").evidence.timeoutMs).toBe(T * 1000);
  }, 90_000);

  test("MANIFEST_FETCH_FAILED: a dripped or stalled manifest GET times out at --timeout", async () => {
    for (const name of ["drip-manifest", "stall-manifest"]) {
      const f = find(await result(name, "check"), "MANIFEST_FETCH_FAILED");
      expect(f.evidence.error).toMatchObject({ kind: "timeout" });
      expect(f.detail).toContain(`${T * 1000} ms`);
    }
  }, 90_000);

  test("AUTH_TOKEN_SERVER_UNREACHABLE: a token endpoint that stalls after its head or drips is cut at --timeout", async () => {
    for (const name of ["stall-token", "drip-token"]) {
      const f = find(await result(name, "check"), "AUTH_TOKEN_SERVER_UNREACHABLE");
      expect(f.detail).toContain(`within ${T * 1000} ms`);
    }
  }, 90_000);

  test("AUTH_TOKEN_INVALID: a 100 MiB token answer names the 64 KiB limit", async () => {
    const r = await result("token-flood", "check");
    expect(find(r, "AUTH_TOKEN_INVALID").detail).toContain("larger than 64 KiB");
  }, 90_000);

  test("AUTH_CREDENTIALS_REQUIRED: a token whose times no Date can hold (1e300) and whose claims carry escape sequences is read, not crashed on", async () => {
    const r = await result("token-hostile-claims", "check");
    expect(r.code).toBe(1);
    const jwt = stage(r, "auth").evidence.token.jwt;
    expect(jwt).toMatchObject({
      iss: "\\x1b[2Jlab",
      kid: "\\x1b]0;title\\x07",
      aud: ["registry"],
      exp: "1e+300 (seconds since 1970, beyond any date)",
    });
    expect(jwt.access).toEqual([{ type: "repository", name: "\\x9bx", actions: ["pull"] }]);
    expect(stage(r, "auth").evidence.token.issuedAt).toBe("\\x1b[2Jnot a time");
  }, 90_000);

  test("MANIFEST_UNSUPPORTED_MEDIA_TYPE: manifests over 4 MiB (Content-Length, chunked, close-delimited, a HEAD that lies, a 1 GiB flood) name the limit; memory stays bounded", async () => {
    // An honest size (Content-Length of the GET, or of the HEAD before a chunked GET) is named as is…
    for (const name of ["manifest-oversize", "manifest-oversize-chunked"]) {
      expect(find(await result(name, "check"), "MANIFEST_UNSUPPORTED_MEDIA_TYPE").detail).toContain(
        "5242880 bytes, above containerd's 4 MiB limit",
      );
    }
    // …a HEAD that lies is caught by the GET, whose reading stops at the limit.
    for (const name of ["manifest-oversize-head-lies", "manifest-flood"]) {
      const r = await result(name, "pull");
      expect(find(r, "MANIFEST_UNSUPPORTED_MEDIA_TYPE").detail).toContain("more than 4194304 bytes (reading stopped there)");
      expect(r.maxRss).toBeLessThan(MAX_RSS);
    }
    expect(find(await result("manifest-oversize-close", "check"), "MANIFEST_UNSUPPORTED_MEDIA_TYPE").detail).toContain("4 MiB limit");
  }, 90_000);

  test("MANIFEST_INVALID: HTML, random bytes, 10,000 and 100,000 nested levels are findings, not crashes", async () => {
    const problem = async (name: string) => find(await result(name, "check"), "MANIFEST_INVALID").detail;
    expect(await problem("manifest-html")).toContain("invalid character '<' looking for beginning of value");
    expect(await problem("manifest-random")).toContain("invalid character '\\u009b' looking for beginning of value");
    expect(await problem("manifest-deep-arrays")).toContain("the document is not a JSON object");
    expect(await problem("manifest-deep-objects")).toContain("no config descriptor");
    expect(await problem("manifest-deep-100k")).toContain("exceeded max depth");
  }, 90_000);

  test("MANIFEST_INVALID: descriptors Docker would refuse (size 1e300, a negative size, a digest that walks up paths) are findings; no blob is asked for by such a digest", async () => {
    expect(find(await result("manifest-size-1e300", "check"), "MANIFEST_INVALID").detail).toContain(
      "the config has size 1e+300, not a whole number of bytes",
    );
    expect(find(await result("manifest-digest-traversal", "check"), "MANIFEST_INVALID").detail).toContain(
      'the config has digest "sha256:../../../etc/passwd", which is not a valid digest',
    );
    expect(lab.log.some((l) => l.path.includes("etc/passwd"))).toBe(false);
  }, 90_000);

  test("PLATFORM_UNAVAILABLE: an index whose platforms all mismatch lists what it offers", async () => {
    const f = find(await result("platform-mismatch", "check"), "PLATFORM_UNAVAILABLE");
    const offered = otherPlatforms(hostPlatform()).map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join("/"));
    expect(f.evidence.platforms).toEqual(offered);
    for (const p of offered) expect(f.detail).toContain(p);
  }, 90_000);

  test("PLATFORM_UNAVAILABLE: an index of 17,000 entries is listed each platform once, capped, and the report stays small", async () => {
    const r = await result("index-17k-entries", "check");
    const f = find(r, "PLATFORM_UNAVAILABLE");
    expect(f.detail).toContain("and 288 more");
    expect(stage(r, "manifest").evidence.index).toMatchObject({ entries: 17_000 });
    expect(f.evidence.platforms).toHaveLength(100);
    expect(r.stdout.length).toBeLessThan(64 * 1024);
  }, 90_000);

  test("AUTH_TOKEN_SERVER_UNREACHABLE, AUTH_CREDENTIALS_REQUIRED: a 64 KiB WWW-Authenticate is read as Docker reads it; the report quotes it cut to 8 KiB", async () => {
    expect(find(await result("huge-challenge-v2", "check"), "AUTH_TOKEN_SERVER_UNREACHABLE").detail).toContain("http://127.0.0.1:9/token");
    expect(
      find(await result("huge-challenge-manifest", "check"), "AUTH_CREDENTIALS_REQUIRED").evidence.manifestHead.wwwAuthenticate[0],
    ).toStartWith('Bearer realm="http://127.0.0.1:9/token"');
    for (const name of ["huge-challenge-v2", "huge-challenge-manifest"]) {
      const r = await result(name, "check");
      // Six places quote the challenge; each keeps 8 KiB and counts the rest.
      expect(r.stdout.length).toBeLessThan(200 * 1024);
      expect(r.stdout).toContain("more characters]");
    }
  }, 90_000);

  test("V2_NO_RESPONSE: a 2 MiB WWW-Authenticate names the 1 MiB head limit", async () => {
    const f = find(await result("huge-headers-v2", "check"), "V2_NO_RESPONSE");
    expect(f.evidence.error).toMatchObject({ kind: "protocol", code: "UND_ERR_HEADERS_OVERFLOW" });
    expect(f.detail).toContain("response headers larger than 1 MiB");
  }, 90_000);

  test("V2_NO_RESPONSE: a control character in a header is a malformed head, not a length mismatch", async () => {
    const f = find(await result("bad-header-control", "check"), "V2_NO_RESPONSE");
    expect(f.detail).toContain("a malformed HTTP response head");
    expect(f.detail).not.toContain("content-length");
  }, 90_000);

  test("MANIFEST_INVALID: invalid UTF-8 in every header is shown escaped (\\xNN), a Docker-Content-Digest that is not a digest is named", async () => {
    const r = await result("bad-header-bytes", "check");
    const f = find(r, "MANIFEST_INVALID");
    expect(f.detail).toContain("Docker-Content-Digest header");
    expect(f.detail).toContain("\\xff\\xfe\\xc3(\\x80\\x9b");
    expect(stage(r, "v2").evidence.apiVersion).toBe("registry/2.0\\xff\\xfe\\xc3(\\x80\\x9b");
    expect(stage(r, "v2").evidence.server).toBe("lab\\xff\\xfe\\xc3(\\x80\\x9b");
    // The token was fetched through a challenge with bad bytes in it: auth passed.
    expect(stage(r, "auth").status).toBe("pass");
  }, 90_000);

  test("MANIFEST_INVALID: a portal redirect whose Location carries invalid UTF-8 names the Location as sent, its bytes percent-encoded (as Go would request it)", async () => {
    const f = find(await result("bad-location-bytes", "check"), "MANIFEST_INVALID");
    expect(f.detail).toContain("redirected to http://127.0.0.1:9/portal/login%FF%FE%C3(%80%9B instead of answering");
  }, 90_000);

  test("BLOB_RANGE_UNSUPPORTED: with only Docker-Content-Digest spared, the check reaches the blobs and the pull verifies", async () => {
    const r = await result("bad-header-bytes-but-digest", "pull");
    expect(find(r, "BLOB_RANGE_UNSUPPORTED").detail).toContain("\\xff\\xfe");
    expect(stage(r, "pull").status).toBe("pass");
  }, 90_000);

  test("RATE_LIMITED: a 429 on the manifest carries its Retry-After", async () => {
    const f = find(await result("manifest-429-retry-after", "check"), "RATE_LIMITED");
    expect(f.evidence.rateLimit).toMatchObject({ retryAfterSeconds: 3600, remaining: 0, limit: 100 });
    expect(f.detail).toContain("retry after 1 h");
  }, 90_000);

  test("MANIFEST_FETCH_FAILED, PLATFORM_UNAVAILABLE, MANIFEST_UNKNOWN: escape sequences in an error message, platform names and tags are shown escaped", async () => {
    const fetch = find(await result("manifest-error-control", "check"), "MANIFEST_FETCH_FAILED");
    expect(fetch.detail).toContain("unknown: \\x1b[2J\\x1b[Hstorage backend down\\x0d\\x1b[31mforged line\\x9b0m");
    const platform = find(await result("index-control-platforms", "check"), "PLATFORM_UNAVAILABLE");
    expect(platform.evidence.platforms).toEqual(["linux\\x1b[2J\\x1b[H/amd64", "linux/arm64\\x1b[31m"]);
    const unknown = find(await result("tags-control", "check"), "MANIFEST_UNKNOWN");
    expect(unknown.evidence.closestTags).toEqual(["latest\\x1b[31m"]);
  }, 90_000);

  test("terminal output (plain, --verbose) of the faults that carry control characters holds none", async () => {
    const codeOf = {
      "token-hostile-claims": "AUTH_CREDENTIALS_REQUIRED",
      "bad-header-bytes": "MANIFEST_INVALID",
      "bad-header-control": "V2_NO_RESPONSE",
      "manifest-error-control": "MANIFEST_FETCH_FAILED",
      "index-control-platforms": "PLATFORM_UNAVAILABLE",
      "tags-control": "MANIFEST_UNKNOWN",
    };
    for (const [name, code] of Object.entries(codeOf)) {
      const r = await runBinary(argsFor(faultNamed(name), installed.get(name)!, "check", ["--verbose"]).args);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(code);
      expect(CONTROL.test(r.stdout + r.stderr)).toBe(false);
    }
  }, 90_000);
});
