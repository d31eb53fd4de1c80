import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { Deps } from "../../src/model/deps";
import type { ImageRef } from "../../src/model/facts";
import type { Finding } from "../../src/model/finding";
import { resolveHost } from "../../src/net/dns";
import { dnsStage } from "../../src/stages/dns";
import { endpointFor, testContext, testDeps } from "../helpers/context";
import { type DnsmasqPeer, replyTo, type ScriptedDns, startDnsmasq, startScriptedDns } from "../peers/dnsmasq";

const ref: ImageRef = {
  input: "registry.pd.test:5000/team/app:1.0",
  registry: "registry.pd.test:5000",
  repository: "team/app",
  tag: "1.0",
  digest: null,
  canonical: "registry.pd.test:5000/team/app:1.0",
  familiar: "registry.pd.test:5000/team/app:1.0",
};

let dm: DnsmasqPeer; // what Docker's servers say
let other: DnsmasqPeer; // what "the system" says (another resolver, e.g. a VPN's split DNS)
let servfail: ScriptedDns;
let silent: ScriptedDns;
let truncating: ScriptedDns;

beforeAll(async () => {
  [dm, other, servfail, silent, truncating] = await Promise.all([
    startDnsmasq({
      local: ["pd.test"],
      hosts: { "registry.pd.test": ["10.1.2.3", "fd00::123"] },
      nxdomain: ["gone.pd.test"],
      txt: { "txtonly.pd.test": "x" },
    }),
    startDnsmasq({ local: ["pd.test"], hosts: { "registry.pd.test": ["10.8.8.8"], "vpn-only.pd.test": ["10.20.0.5"] } }),
    startScriptedDns({ udp: (q) => replyTo(q, { rcode: 2 }) }),
    startScriptedDns({ udp: () => "drop" }),
    startScriptedDns({
      udp: (q) => replyTo(q, { truncated: true }),
      tcp: (q) =>
        replyTo(q, { answers: q.questions?.[0]?.type === "A" ? [{ type: "A", name: "registry.pd.test", data: "10.3.3.3", ttl: 5 }] : [] }),
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([dm, other, servfail, silent, truncating].map((p) => p?.stop()));
});

/** The system resolver, played by a real DNS query to `server` (getaddrinfo-like rejection on failure). */
function systemVia(server: string): Deps["systemLookup"] {
  return async (h) => {
    const r = await resolveHost(h, { servers: [server], deps: testDeps(), timeoutMs: 1000 });
    if (r.addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${h}`), { code: "ENOTFOUND" });
    return r.addresses;
  };
}

function run(
  host: string,
  o: { dns?: string[]; resolvConf?: string; hosts?: string; system?: string; env?: Record<string, string>; timeoutMs?: number } = {},
) {
  const ctx = testContext({
    options: { dns: o.dns ?? [dm.server], timeoutMs: o.timeoutMs ?? 3000 },
    deps: { systemLookup: systemVia(o.system ?? o.dns?.[0] ?? dm.server), env: o.env ?? {} },
    endpoint: endpointFor(`https://${host}:5000`),
    facts: { ref },
  });
  if (o.resolvConf !== undefined) writeFileSync(ctx.deps.paths.resolvConf, o.resolvConf);
  if (o.hosts !== undefined) writeFileSync(ctx.deps.paths.hosts, o.hosts);
  return dnsStage.run(ctx).then((out) => ({ ...out, ctx }));
}
const codes = (fs: Finding[]) => fs.map((f) => `${f.code}:${f.severity}`);

describe("dns stage", () => {
  test("resolves through --dns: provides the addresses, no finding", async () => {
    const out = await run("registry.pd.test");
    expect(codes(out.findings)).toEqual([]);
    // The runner prints the stage duration: the summary must not repeat one.
    expect(out.summary).toMatch(new RegExp(`^registry\\.pd\\.test → 2 addresses via ${dm.server}$`));
    expect(out.provides?.resolution).toEqual({
      hostname: "registry.pd.test",
      addresses: [
        { address: "10.1.2.3", family: 4 },
        { address: "fd00::123", family: 6 },
      ],
      via: dm.server,
    });
    expect(out.evidence).toMatchObject({
      servers: [dm.server],
      serversFrom: "--dns",
      searchListTried: ["registry.pd.test."],
      systemResolver: { addresses: ["10.1.2.3", "fd00::123"] },
    });
  });

  test("NXDOMAIN ⇒ DNS_NXDOMAIN (error) naming the server, nothing provided", async () => {
    const out = await run("gone.pd.test");
    expect(codes(out.findings)).toEqual(["DNS_NXDOMAIN:error"]);
    expect(out.findings[0].detail).toContain(`NXDOMAIN from ${dm.server}`);
    expect(out.findings[0].detail).toContain(
      `Get "https://gone.pd.test:5000/v2/": dial tcp: lookup gone.pd.test on ${dm.server}: no such host`,
    );
    expect(out.findings[0].fixes.join("\n")).toContain("getent hosts gone.pd.test");
    expect(out.provides).toBeUndefined();
    expect(JSON.stringify(out.evidence.queries)).toContain(dm.server);
  });

  test("a name without A/AAAA ⇒ DNS_NO_ANSWER", async () => {
    const out = await run("txtonly.pd.test");
    expect(codes(out.findings)).toEqual(["DNS_NO_ANSWER:error"]);
    expect(out.findings[0].detail).toContain("A: NOERROR, no records from");
  });

  test("REFUSED ⇒ DNS_SERVFAIL saying REFUSED (RCODE 5)", async () => {
    const out = await run("registry.elsewhere.test");
    expect(codes(out.findings)).toEqual(["DNS_SERVFAIL:error"]);
    expect(out.findings[0].detail).toContain(`REFUSED (RCODE 5) from ${dm.server}`);
    expect(out.findings[0].fixes.join("\n")).toContain("REFUSED");
  });

  test("SERVFAIL ⇒ DNS_SERVFAIL saying SERVFAIL (RCODE 2)", async () => {
    const out = await run("registry.pd.test", { dns: [servfail.server] });
    expect(codes(out.findings)).toEqual(["DNS_SERVFAIL:error"]);
    expect(out.findings[0].detail).toContain(`SERVFAIL (RCODE 2) from ${servfail.server}`);
    expect(out.summary).toContain("server misbehaving");
  });

  test("a silent server ⇒ DNS_TIMEOUT within the step timeout, naming the server", async () => {
    const t = performance.now();
    const out = await run("registry.pd.test", { dns: [silent.server], system: dm.server, timeoutMs: 1500 });
    expect(performance.now() - t).toBeLessThan(2500);
    expect(codes(out.findings)).toEqual(["DNS_TIMEOUT:error"]);
    expect(out.findings[0].detail).toContain(`${silent.server}: read udp`);
    expect(out.findings[0].detail).toContain("i/o timeout");
    expect(out.evidence.servers).toEqual([silent.server]);
  });

  test("a truncated reply is retried over TCP and the evidence says so", async () => {
    const out = await run("registry.pd.test", { dns: [truncating.server] });
    expect(codes(out.findings)).toEqual([]);
    expect(out.provides?.resolution?.addresses).toEqual([{ address: "10.3.3.3", family: 4 }]);
    expect(out.evidence.queries).toContainEqual(
      expect.objectContaining({ type: "A", transport: "tcp", truncated: true, answers: ["10.3.3.3"] }),
    );
  });

  test("/etc/hosts pin that DNS contradicts ⇒ DNS_HOSTS_OVERRIDE warning showing the line", async () => {
    const out = await run("registry.pd.test", { hosts: "127.0.0.1 localhost\n10.9.9.9 registry.pd.test\n" });
    expect(out.provides?.resolution).toMatchObject({ addresses: [{ address: "10.9.9.9", family: 4 }] });
    expect(codes(out.findings)).toContain("DNS_HOSTS_OVERRIDE:warning");
    const f = out.findings.find((x) => x.code === "DNS_HOSTS_OVERRIDE")!;
    expect(f.detail).toContain("2: 10.9.9.9 registry.pd.test");
    expect(f.detail).toContain("DNS says: 10.1.2.3, fd00::123");
  });

  test("/etc/hosts pin that DNS agrees with ⇒ DNS_HOSTS_OVERRIDE info", async () => {
    const out = await run("registry.pd.test", { hosts: "10.1.2.3 registry.pd.test\n" });
    expect(codes(out.findings)).toEqual(["DNS_HOSTS_OVERRIDE:info"]);
  });

  test("system resolves, Docker's resolv.conf servers do not ⇒ DNS_TIMEOUT + DNS_RESOLVER_MISMATCH", async () => {
    // resolv.conf names a loopback address where nothing listens (refused at once).
    const out = await run("vpn-only.pd.test", {
      dns: [],
      resolvConf: "nameserver 127.77.88.99\noptions attempts:1\n",
      system: other.server,
    });
    expect(codes(out.findings)).toEqual(["DNS_TIMEOUT:error", "DNS_RESOLVER_MISMATCH:warning"]);
    expect(out.findings[0].detail).toContain("127.77.88.99:53: read udp");
    expect(out.findings[0].detail).toContain("connection refused");
    expect(out.findings[1].detail).toContain("system resolver → 10.20.0.5");
    expect(out.evidence.serversFrom).toBe("resolv.conf");
  });

  test("resolv.conf server on port 53 answers; a system resolver with other addresses ⇒ mismatch info", async () => {
    // resolv.conf cannot name a port: this dnsmasq listens on port 53 of a loopback address
    // of its own (binding port 53 needs root; the peer says so loudly otherwise).
    const onPort53 = await startDnsmasq({
      local: ["pd.test"],
      hosts: { "registry.pd.test": ["10.1.2.3"] },
      port53On: `127.53.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`,
    });
    try {
      const out = await run("registry.pd.test", {
        dns: [],
        resolvConf: `nameserver ${onPort53.server.replace(/:53$/, "")}\n`,
        system: other.server,
      });
      expect(out.summary).toContain(`via ${onPort53.server}`);
      expect(out.evidence.serversFrom).toBe("resolv.conf");
      expect(codes(out.findings)).toEqual(["DNS_RESOLVER_MISMATCH:info"]);
    } finally {
      await onPort53.stop();
    }
  });

  test("with --dns the system comparison is evidence only", async () => {
    const out = await run("registry.pd.test", { dns: [dm.server], system: other.server });
    expect(codes(out.findings)).toEqual([]);
    expect(out.evidence.systemResolver).toMatchObject({ addresses: ["10.8.8.8"] });
  });

  test("HTTPS_PROXY carries the connection ⇒ the DNS failure is a warning with a note", async () => {
    const out = await run("gone.pd.test", { env: { HTTPS_PROXY: "http://127.0.0.1:3128" } });
    expect(codes(out.findings)).toEqual(["DNS_NXDOMAIN:warning"]);
    expect(out.findings[0].detail).toContain("HTTPS_PROXY (http://127.0.0.1:3128) applies");
    expect(out.evidence.proxy).toEqual({ url: "http://127.0.0.1:3128", source: "HTTPS_PROXY" });
  });

  test("pinned name, silent DNS and a hung system resolver: still one step timeout", async () => {
    const ctx = testContext({
      options: { dns: [silent.server], timeoutMs: 1000 },
      // getaddrinfo cannot be cancelled; a lookup that never returns must not hold the stage.
      deps: { systemLookup: () => new Promise(() => {}) },
      endpoint: endpointFor("https://registry.pd.test:5000"),
      facts: { ref },
    });
    writeFileSync(ctx.deps.paths.hosts, "10.9.9.9 registry.pd.test\n");
    const t = performance.now();
    const out = await dnsStage.run(ctx);
    expect(performance.now() - t).toBeLessThan(1600);
    expect(codes(out.findings)).toEqual(["DNS_HOSTS_OVERRIDE:info"]);
    expect(out.evidence).toMatchObject({ systemResolver: { code: "timeout" }, dnsDespitePin: { outcome: "timeout" } });
  });

  test("localhost comes from the hosts file without a finding or a DNS query", async () => {
    const before = silent.seen.length;
    const out = await run("localhost", { dns: [silent.server], system: dm.server });
    expect(silent.seen.length).toBe(before);
    expect(codes(out.findings).filter((c) => c.startsWith("DNS_HOSTS"))).toEqual([]);
    expect(out.provides?.resolution).toMatchObject({
      hostname: "localhost",
      addresses: [
        { address: "127.0.0.1", family: 4 },
        { address: "::1", family: 6 },
      ],
    });
    expect(out.evidence.dnsDespitePin).toBeNull();
  });

  test("an IP literal endpoint skips DNS", async () => {
    const ctx = testContext({ endpoint: endpointFor("https://127.0.0.1:5000"), facts: { ref } });
    const out = await dnsStage.run(ctx);
    expect(out).toMatchObject({
      findings: [],
      provides: { resolution: { hostname: "127.0.0.1", via: "literal", addresses: [{ address: "127.0.0.1", family: 4 }] } },
    });
  });
});
