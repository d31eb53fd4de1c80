import { describe, expect, test } from "bun:test";
import { shareClientProbes } from "../../src/doctor/client-probes";
import type { ClientWire, Facts, JudgedClient } from "../../src/model/facts";
import type { Finding } from "../../src/model/finding";
import type { Endpoint, Stage, StageContext, StageId, StageOutcome } from "../../src/model/stage";

/**
 * --client all's probe sharing (src/doctor/client-probes.ts), with counting stages: which probes
 * clients share and which are made again. The wire behaviour itself is tested through the binary
 * against real servers in test/e2e/clients-all.test.ts.
 */
const ep: Endpoint = {
  url: "https://r.test",
  host: "r.test",
  hostname: "r.test",
  port: 443,
  role: "upstream",
  insecure: false,
  pathPrefix: "",
};

function wire(label: string, over: Partial<ClientWire> = {}): ClientWire {
  return {
    label,
    hosts: null,
    pingsV2: true,
    retries401WithCredentials: false,
    credentialsTo: "registry",
    daemonInsecure: false,
    reportsError: "last",
    retry: "",
    on429: null,
    proxyEnvironment: "",
    unitProxy: null,
    fixesFor: "registries.conf",
    ...over,
  };
}

function ctxFor(w: ClientWire, facts: Partial<Facts> = {}): StageContext {
  const client = { name: "podman", store: null, label: w.label, basedOn: "", unsure: false, wire: w, all: null } as JudgedClient;
  return { endpoint: ep, facts: { ...facts, client }, options: {} as never, deps: {} as never, trace: { record() {} } };
}

const warning = { code: "TLS_HTTP_ONLY", severity: "warning", stage: "connect", detail: "d" } as unknown as Finding;

function counting(id: StageId, outcome: (ctx: StageContext) => StageOutcome): { stage: Stage; runs: () => number } {
  let n = 0;
  const stage: Stage = {
    id,
    title: id,
    scope: "endpoint",
    needs: [],
    run: async (ctx) => {
      n++;
      return outcome(ctx);
    },
  };
  return { stage, runs: () => n };
}

describe("shareClientProbes", () => {
  test("a clean connect probe is shared by clients whose insecure rule agrees, and made again for one whose rule differs", async () => {
    const c = counting("connect", () => ({
      summary: "ok",
      evidence: {},
      findings: [],
      provides: { link: { scheme: "https", baseUrl: ep.url, tls: {} as never, insecure: false } },
    }));
    const [s] = shareClientProbes([c.stage]);
    const a = await s!.run(ctxFor(wire("containerd")));
    const b = await s!.run(ctxFor(wire("podman")));
    expect(c.runs()).toBe(1);
    expect(b.provides).toBe(a.provides);
    expect(b.evidence).toMatchObject({ probedFor: "containerd" });
    await s!.run(ctxFor(wire("docker", { daemonInsecure: true })));
    expect(c.runs()).toBe(2);
  });

  test("a probe whose findings carry a client's words and fixes is made again for a client with other words", async () => {
    const c = counting("connect", () => ({ summary: "warn", evidence: {}, findings: [warning] }));
    const [s] = shareClientProbes([c.stage]);
    await s!.run(ctxFor(wire("containerd", { fixesFor: "hosts.toml" })));
    await s!.run(ctxFor(wire("kubelet", { fixesFor: "kubernetes" })));
    await s!.run(ctxFor(wire("kubelet", { fixesFor: "kubernetes" })));
    expect(c.runs()).toBe(2);
  });

  test("the /v2/ ping is made once, as a pinging client makes it; a client that never pings gets it as evidence only", async () => {
    const failing = { code: "V2_NOT_FOUND", severity: "error", stage: "v2", detail: "404" } as unknown as Finding;
    const c = counting("v2", (ctx) => {
      expect(ctx.facts.client?.wire.pingsV2).toBe(true);
      return { summary: "404", evidence: {}, findings: [failing] };
    });
    const [s] = shareClientProbes([c.stage]);
    const link = { scheme: "https" as const, baseUrl: ep.url, tls: {} as never, insecure: false };
    const pinging = await s!.run(ctxFor(wire("podman"), { link }));
    const silent = await s!.run(ctxFor(wire("containerd", { pingsV2: false }), { link: { ...link } }));
    expect(c.runs()).toBe(1);
    expect(pinging.findings[0]!.severity).toBe("error");
    expect(silent.findings[0]!.severity).toBe("info");
    expect(silent.findings[0]!.detail).toContain("containerd never requests /v2/");
  });
});
