import { describe, expect, test } from "bun:test";
import type { StageEvent } from "../../src/doctor/run";
import { runDoctor } from "../../src/doctor/run";
import type { ImageRef } from "../../src/model/facts";
import type { Finding } from "../../src/model/finding";
import type { Stage, StageOutcome } from "../../src/model/stage";
import { MemoryTrace } from "../../src/model/trace";
import { testDeps, testOptions } from "../helpers/context";

const ref: ImageRef = {
  input: "nginx",
  registry: "docker.io",
  repository: "library/nginx",
  tag: "latest",
  digest: null,
  canonical: "docker.io/library/nginx:latest",
  familiar: "nginx:latest",
};

// Findings built by hand so this test does not depend on any catalogue section's words.
function fakeFinding(code: string, severity: Finding["severity"], stage: Finding["stage"]): Finding {
  return { code: code as Finding["code"], severity, stage, endpoint: null, title: code, detail: code, fixes: [], evidence: {} };
}

function stage(id: Stage["id"], scope: Stage["scope"], needs: Stage["needs"], run: Stage["run"]): Stage {
  return { id, title: id, scope, needs, run };
}

const pass =
  (provides: StageOutcome["provides"] = {}): Stage["run"] =>
  async () => ({ summary: "ok", evidence: {}, findings: [], provides });

describe("runDoctor", () => {
  test("local stages once, endpoint stages per endpoint (mirrors first), skips name the missing stage", async () => {
    const events: StageEvent[] = [];
    const stages: Stage[] = [
      stage("reference", "local", [], pass({ ref })),
      stage("config", "local", ["ref"], pass({ credential: null })),
      stage("dns", "endpoint", ["ref"], async (ctx) =>
        ctx.endpoint!.role === "mirror"
          ? { summary: "nx", evidence: {}, findings: [fakeFinding("DNS_NXDOMAIN", "error", "dns")] }
          : {
              summary: "ok",
              evidence: {},
              findings: [],
              provides: { resolution: { hostname: ctx.endpoint!.hostname, addresses: [{ address: "127.0.0.1", family: 4 }], via: "test" } },
            },
      ),
      stage("connect", "endpoint", ["resolution"], pass()),
    ];
    const r = await runDoctor({
      stages,
      options: testOptions({ mirrors: ["https://mirror.example.com"] }),
      deps: testDeps(),
      trace: new MemoryTrace(),
      onEvent: (e) => events.push(e),
    });
    expect(r.endpoints.map((e) => e.endpoint.url)).toEqual(["https://mirror.example.com", "https://registry-1.docker.io"]);
    const mirror = r.endpoints[0]!;
    expect(mirror.results.map((x) => x.status)).toEqual(["warn", "skip"]);
    expect(mirror.results[1]!.summary).toContain("the dns stage did not establish resolution");
    // The mirror's error does not stop the pull: Docker falls back to the upstream.
    expect(mirror.findings[0]!.severity).toBe("warning");
    expect(mirror.findings[0]!.endpoint).toBe("https://mirror.example.com");
    expect(r.chosen?.endpoint.url).toBe("https://registry-1.docker.io");
    expect(r.verdict.ok).toBe(true);
    expect(events.filter((e) => e.type === "start").length).toBe(6);
  });

  test("an error finding fails the stage and names the verdict; a throw is a crash, not a finding", async () => {
    const stages: Stage[] = [
      stage(
        "reference",
        "local",
        [],
        pass({
          ref: { ...ref, registry: "r.example", repository: "a/b", canonical: "r.example/a/b:latest", familiar: "r.example/a/b:latest" },
        }),
      ),
      stage("config", "local", [], async () => {
        throw new Error("boom");
      }),
      stage("dns", "endpoint", [], async () => ({ summary: "nx", evidence: {}, findings: [fakeFinding("DNS_NXDOMAIN", "error", "dns")] })),
    ];
    const r = await runDoctor({ stages, options: testOptions(), deps: testDeps(), trace: new MemoryTrace() });
    expect(r.crashed).toBe(true);
    expect(r.localResults[1]).toMatchObject({ id: "config", status: "fail" });
    expect(r.localResults[1]!.summary).toContain("crashed: boom");
    expect(r.endpoints[0]!.results[0]!.status).toBe("fail");
    expect(r.verdict).toMatchObject({ ok: false, code: "DNS_NXDOMAIN" });
  });

  test("a re-run from a stage reuses earlier results and facts", async () => {
    let dnsRuns = 0;
    let manifestRuns = 0;
    const stages: Stage[] = [
      stage("reference", "local", [], pass({ ref })),
      stage("dns", "endpoint", [], async (ctx) => {
        dnsRuns++;
        return {
          summary: "ok",
          evidence: {},
          findings: [],
          provides: { resolution: { hostname: ctx.endpoint!.hostname, addresses: [], via: "t" } },
        };
      }),
      stage("manifest", "endpoint", ["resolution"], async (ctx) => {
        manifestRuns++;
        return ctx.options.platform === "linux/arm64"
          ? { summary: "ok", evidence: {}, findings: [] }
          : { summary: "no", evidence: {}, findings: [fakeFinding("PLATFORM_UNAVAILABLE", "error", "manifest")] };
      }),
    ];
    const first = await runDoctor({ stages, options: testOptions(), deps: testDeps(), trace: new MemoryTrace() });
    expect(first.verdict.ok).toBe(false);
    const second = await runDoctor({
      stages,
      options: testOptions({ platform: "linux/arm64" }),
      deps: testDeps(),
      trace: new MemoryTrace(),
      previous: first,
      from: "manifest",
    });
    expect(second.verdict.ok).toBe(true);
    expect(dnsRuns).toBe(1);
    expect(manifestRuns).toBe(2);
    expect(second.stages.map((s) => s.id)).toEqual(["reference", "dns", "manifest"]);
  });
});

test("a re-run takes the facts of the stages it reuses, but not the registry's answers they got for later stages", async () => {
  const head = { url: "http://r/v2/x/manifests/1", accept: "a", response: {} as never };
  const configRead = Promise.resolve({
    digest: "sha256:c",
    range: "bytes=0-1",
    status: 206,
    headers: {},
    host: "r",
    hops: [],
    bytes: 2,
    transferMs: 0,
  });
  const seen: { tagHead: unknown; configRead: unknown; session: unknown }[] = [];
  const session = { scheme: "none" as const, authorize: async () => null, invalidate() {} };
  const stages: Stage[] = [
    stage("reference", "local", [], pass({ ref })),
    stage("auth", "endpoint", [], pass({ session, tagHead: head })),
    stage("manifest", "endpoint", ["session"], pass({ manifest: { configRead } as never })),
    stage("blob", "endpoint", ["manifest"], async (ctx) => {
      seen.push({ tagHead: ctx.facts.tagHead, configRead: ctx.facts.manifest?.configRead, session: ctx.facts.session });
      return { summary: "ok", evidence: {}, findings: [] };
    }),
  ];
  const first = await runDoctor({ stages, options: testOptions(), deps: testDeps(), trace: new MemoryTrace() });
  await runDoctor({ stages, options: testOptions(), deps: testDeps(), trace: new MemoryTrace(), previous: first, from: "blob" });
  expect(seen[0]).toEqual({ tagHead: head, configRead, session });
  expect(seen[1]).toEqual({ tagHead: undefined, configRead: undefined, session });
});

test("a stage that finds nothing to check is recorded as skip with its reason", async () => {
  const stages: Stage[] = [
    stage("reference", "local", [], pass({ ref })),
    stage("connect", "endpoint", [], async () => ({
      summary: "nothing",
      evidence: { hops: [] },
      findings: [],
      skipped: "no address to connect to",
    })),
  ];
  const r = await runDoctor({ stages, options: testOptions(), deps: testDeps(), trace: new MemoryTrace() });
  expect(r.endpoints[0]!.results[0]).toMatchObject({ id: "connect", status: "skip", summary: "skipped: no address to connect to" });
  expect(r.verdict.ok).toBe(false);
});
