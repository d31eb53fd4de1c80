import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { MemoryTrace } from "../../src/model/trace";
import { resolutionEvidence, resolveHost } from "../../src/net/dns";
import { testDeps } from "../helpers/context";
import { type DnsmasqPeer, replyTo, type ScriptedDns, startDnsmasq, startScriptedDns } from "../peers/dnsmasq";

let dm: DnsmasqPeer;
let servfail: ScriptedDns;
let silent: ScriptedDns;

beforeAll(async () => {
  [dm, servfail, silent] = await Promise.all([
    startDnsmasq({
      local: ["pd.test"],
      hosts: { "registry.pd.test": ["10.1.2.3", "fd00::123"], "v4only.pd.test": ["10.1.2.4"], "registry.corp.pd.test": ["10.5.5.5"] },
      nxdomain: ["gone.pd.test"],
      txt: { "txtonly.pd.test": "no-addresses-here" },
      cnames: { "alias.pd.test": "registry.pd.test" },
    }),
    startScriptedDns({ udp: (q) => replyTo(q, { rcode: 2 }) }),
    startScriptedDns({ udp: () => "drop" }),
  ]);
});
afterAll(async () => {
  await Promise.all([dm.stop(), servfail.stop(), silent.stop()]);
});

/** Deps whose resolv.conf is `conf` (and whose hosts file is `hosts`, if given). */
function depsWith(conf: string, hosts?: string) {
  const d = testDeps();
  writeFileSync(d.paths.resolvConf, conf);
  if (hosts !== undefined) writeFileSync(d.paths.hosts, hosts);
  return d;
}

describe("resolveHost against a real dnsmasq", () => {
  test("A and AAAA, via the server that answered; trace records each query", async () => {
    const trace = new MemoryTrace();
    const r = await resolveHost("registry.pd.test", { servers: [dm.server], deps: testDeps(), timeoutMs: 2000, trace });
    expect(r).toMatchObject({ outcome: "ok", via: dm.server, serversFrom: "--dns", hostsFile: null });
    expect(r.addresses).toEqual([
      { address: "10.1.2.3", family: 4 },
      { address: "fd00::123", family: 6 },
    ]);
    expect(r.queries.map((q) => `${q.type} ${q.rcode} ${q.transport}`).sort()).toEqual(["A NOERROR udp", "AAAA NOERROR udp"]);
    expect(trace.events.filter((e) => e.kind === "dns")).toHaveLength(2);
  });

  test("a CNAME chain is recorded", async () => {
    const r = await resolveHost("alias.pd.test", { servers: [dm.server], deps: testDeps(), timeoutMs: 2000 });
    expect(r.outcome).toBe("ok");
    expect(r.addresses.map((a) => a.address)).toEqual(["10.1.2.3", "fd00::123"]);
    expect(r.queries.find((q) => q.type === "A")!.cnames).toEqual(["alias.pd.test → registry.pd.test"]);
  });

  test("NXDOMAIN ⇒ Go's 'no such host' message naming the server", async () => {
    const r = await resolveHost("gone.pd.test", { servers: [dm.server], deps: testDeps(), timeoutMs: 2000 });
    expect(r.outcome).toBe("nxdomain");
    expect(r.message).toBe(`lookup gone.pd.test on ${dm.server}: no such host`);
  });

  test("a name with only a TXT record ⇒ noanswer", async () => {
    const r = await resolveHost("txtonly.pd.test", { servers: [dm.server], deps: testDeps(), timeoutMs: 2000 });
    expect(r.outcome).toBe("noanswer");
    expect(r.queries.every((q) => q.rcode === "NOERROR" && q.answers.length === 0)).toBe(true);
  });

  test("REFUSED (a name dnsmasq does not serve) ⇒ servfail, 'server misbehaving'", async () => {
    const r = await resolveHost("registry.elsewhere.test", { servers: [dm.server], deps: testDeps(), timeoutMs: 2000 });
    expect(r.outcome).toBe("servfail");
    expect(r.queries.some((q) => q.rcode === "REFUSED")).toBe(true);
    expect(r.message).toBe(`lookup registry.elsewhere.test on ${dm.server}: server misbehaving`);
  });

  test("resolv.conf servers, search list and ndots as Go applies them", async () => {
    const deps = depsWith(`nameserver ${dm.server.split(":")[0]}\nsearch corp.pd.test\noptions ndots:1\n`);
    // resolv.conf cannot name a port, so the server comes from --dns; search and ndots still
    // come from resolv.conf, as they do for Docker.
    const r = await resolveHost("registry", { servers: [dm.server], deps, timeoutMs: 2000 });
    expect(r.names).toEqual(["registry.corp.pd.test.", "registry."]);
    expect(r.outcome).toBe("ok");
    expect(r.addresses[0]).toEqual({ address: "10.5.5.5", family: 4 });
    expect(r.config?.search).toEqual(["corp.pd.test."]);
  });

  test("resolv.conf nameservers are asked when --dns is not given", async () => {
    // Nothing listens on this loopback address: the kernel answers port-unreachable at once.
    const r = await resolveHost("registry.pd.test", { deps: depsWith("nameserver 127.77.88.99\noptions attempts:1\n"), timeoutMs: 2000 });
    expect(r).toMatchObject({ outcome: "timeout", servers: ["127.77.88.99:53"], serversFrom: "resolv.conf", via: "127.77.88.99:53" });
    expect(r.message).toMatch(
      /^lookup registry\.pd\.test on 127\.77\.88\.99:53: read udp [\d.:]+->127\.77\.88\.99:53: read: connection refused$/,
    );
  });

  test("a failing server is skipped for the next one (SERVFAIL then answer)", async () => {
    const r = await resolveHost("v4only.pd.test", { servers: [servfail.server, dm.server], deps: testDeps(), timeoutMs: 2000 });
    expect(r.outcome).toBe("ok");
    expect(r.via).toBe(dm.server);
    expect(r.addresses).toEqual([{ address: "10.1.2.4", family: 4 }]);
    expect(r.queries.filter((q) => q.server === servfail.server).map((q) => q.rcode)).toEqual(["SERVFAIL", "SERVFAIL"]);
  });

  test("no server answers: finishes within the step timeout, every attempt recorded", async () => {
    const t = performance.now();
    const r = await resolveHost("registry.pd.test", {
      servers: [silent.server],
      deps: depsWith("options timeout:5 attempts:2\n"),
      timeoutMs: 800,
    });
    expect(performance.now() - t).toBeLessThan(1500);
    expect(r.outcome).toBe("timeout");
    expect(r.perQueryTimeoutMs).toBe(400);
    expect(r.queries.filter((q) => q.type === "A")).toHaveLength(2);
    expect(r.message).toMatch(/^lookup registry\.pd\.test on 127\.0\.0\.1:\d+: read udp .* i\/o timeout$/);
  });

  test("/etc/hosts wins before any query; skipHostsFile asks DNS anyway", async () => {
    const deps = depsWith("", "127.0.0.1 localhost\n10.9.9.9 registry.pd.test\n");
    const r = await resolveHost("registry.pd.test", { servers: [dm.server], deps, timeoutMs: 2000 });
    expect(r).toMatchObject({ outcome: "ok", via: deps.paths.hosts, hostsFile: ["10.9.9.9"], queries: [] });
    expect(r.hostsLines).toEqual(["2: 10.9.9.9 registry.pd.test"]);
    const d = await resolveHost("registry.pd.test", { servers: [dm.server], deps, timeoutMs: 2000, skipHostsFile: true });
    expect(d.addresses.map((a) => a.address)).toEqual(["10.1.2.3", "fd00::123"]);
  });

  test("an IPv6 server given as [::1]:PORT, over UDP then TCP", async () => {
    const v6 = await startScriptedDns({
      host: "::1",
      udp: (q) => replyTo(q, { truncated: true }),
      tcp: (q) =>
        replyTo(q, { answers: q.questions?.[0]?.type === "AAAA" ? [{ type: "AAAA", name: "six.pd.test", data: "::1", ttl: 5 }] : [] }),
    });
    try {
      const r = await resolveHost("six.pd.test", { servers: [v6.server], deps: testDeps(), timeoutMs: 2000 });
      expect(r).toMatchObject({ outcome: "ok", via: v6.server, addresses: [{ address: "::1", family: 6 }] });
      expect(r.queries.every((q) => q.transport === "tcp" && q.truncated)).toBe(true);
    } finally {
      await v6.stop();
    }
  });

  test("the caller's signal (Ctrl-C) ends the resolution at once", async () => {
    const ac = new AbortController();
    const deps = { ...testDeps(), signal: ac.signal };
    setTimeout(() => ac.abort(), 50);
    const t = performance.now();
    const r = await resolveHost("registry.pd.test", { servers: [silent.server], deps, timeoutMs: 10_000 });
    expect(performance.now() - t).toBeLessThan(500);
    expect(r.outcome).toBe("timeout");
    expect(r.queries.some((q) => q.error === "operation was canceled")).toBe(true);
  });

  test("an IP literal is itself, without queries", async () => {
    expect(await resolveHost("[::1]", { deps: testDeps(), timeoutMs: 100 })).toMatchObject({
      via: "literal",
      addresses: [{ address: "::1", family: 6 }],
      queries: [],
    });
    expect(await resolveHost("10.0.0.1", { deps: testDeps(), timeoutMs: 100 })).toMatchObject({
      via: "literal",
      addresses: [{ address: "10.0.0.1", family: 4 }],
    });
  });
});

describe("resolutionEvidence", () => {
  test("is JSON-safe and names the server and Go's message", async () => {
    const r = await resolveHost("gone.pd.test", { servers: [dm.server], deps: testDeps(), timeoutMs: 2000 });
    const e = resolutionEvidence(r);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
    expect(e).toMatchObject({
      host: "gone.pd.test",
      outcome: "nxdomain",
      servers: [dm.server],
      message: `lookup gone.pd.test on ${dm.server}: no such host`,
    });
    expect((e.queries as { rcode: string }[]).map((q) => q.rcode)).toEqual(["NXDOMAIN", "NXDOMAIN"]);
  });
});
