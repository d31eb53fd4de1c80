import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type NsFiles, runInNs } from "../helpers/run-in-ns";
import { expectValidReport } from "../helpers/schema";
import { type DnsmasqPeer, replyTo, type ScriptedDns, startDnsmasq, startScriptedDns } from "../peers/dnsmasq";
import { type Port53Dns, startPort53Dns } from "../peers/port53-dns";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { expectFinding, findingOf, hermetic, stageOf } from "./helpers-net";

/**
 * Every dns code produced by the compiled binary, run as a user runs it, in a private mount
 * namespace whose /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf are the test's: the
 * only DNS servers ever asked are ours on loopback (dnsmasq, scripted servers).
 * Names under .pd.test resolve to loopback addresses; the registry is a real docker-registry.
 */

let reg: RegistryPeer;
let dm: DnsmasqPeer;
let servfail: ScriptedDns;
let silent: ScriptedDns;
let truncating: ScriptedDns;
let port53: Port53Dns;
let home: { dir: string; cleanup: () => void };

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-dns-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "e2e-dns" }));
  [dm, servfail, silent, truncating, port53] = await Promise.all([
    startDnsmasq({
      local: ["pd.test"],
      hosts: {
        "healthy.pd.test": ["127.0.0.1"],
        "dual.pd.test": ["127.0.0.1", "::1"],
        "pinned.pd.test": ["0.0.0.0"],
        "agreed.pd.test": ["127.0.0.1"],
      },
      nxdomain: ["gone.pd.test"],
      txt: { "txtonly.pd.test": "no address here" },
    }),
    startScriptedDns({ udp: (q) => replyTo(q, { rcode: 2 }) }),
    startScriptedDns({ udp: () => "drop" }),
    startScriptedDns({
      udp: (q) => replyTo(q, { truncated: true }),
      tcp: (q) =>
        replyTo(q, {
          answers: q.questions?.[0]?.type === "A" ? [{ type: "A", name: q.questions[0].name, data: "127.0.0.1", ttl: 5 }] : [],
        }),
    }),
    // The "resolv.conf server" on port 53: a path that drops DNS packets carrying an EDNS(0)
    // OPT record (an old firewall's rule). Go's resolver (and so dockerd) sends OPT;
    // glibc's getaddrinfo does not, so the system resolver gets its answer.
    startPort53Dns((q) => {
      const edns = (q.additionals ?? []).some((a) => a.type === "OPT");
      const name = q.questions?.[0]?.name ?? "";
      if (name.startsWith("edns-dropped.") && edns) return "drop";
      return name.endsWith("pd.test") ? ["127.0.0.1"] : 3;
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([reg, dm, servfail, silent, truncating, port53].map((p) => p?.stop()));
  home?.cleanup();
});

const image = (host: string) => `${host}:${reg.port}/team/app:1.0`;
const check = (host: string, extra: string[], files: NsFiles = {}, timeout = 3, env?: Record<string, string>) =>
  checkCli(image(host), extra, { home: home.dir, timeout, ns: files, env });

describe("dns e2e: the compiled binary against dnsmasq and scripted servers", () => {
  test("healthy path by name: healthy.pd.test → 127.0.0.1 via --dns, every stage passes, exit 0", async () => {
    const c = await check("healthy.pd.test", ["--dns", dm.server]);
    expectValidReport(c.report);
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
    const dns = stageOf(c.report, "dns");
    expect(dns.status).toBe("pass");
    expect(dns.summary).toContain(`healthy.pd.test → 1 address via ${dm.server}`);
    expect(dns.evidence).toMatchObject({ addresses: ["127.0.0.1"], servers: [dm.server], serversFrom: "--dns" });
    for (const id of ["connect", "v2", "auth", "manifest", "blob"]) expect([id, stageOf(c.report, id).status]).not.toEqual([id, "fail"]);
    expect(stageOf(c.report, "manifest").status).toBe("pass");
  });

  test("DNS_NXDOMAIN: error naming the server that said NXDOMAIN, later stages skipped, exit 1", async () => {
    const c = await check("gone.pd.test", ["--dns", dm.server]);
    const f = expectFinding(c, "DNS_NXDOMAIN", "error", "dns");
    expect(f.detail).toContain(`NXDOMAIN from ${dm.server}`);
    expect(f.detail).toContain(`lookup gone.pd.test on ${dm.server}: no such host`);
    expect(f.evidence.queries).toContainEqual(expect.objectContaining({ server: dm.server, rcode: "NXDOMAIN", type: "A" }));
    expect(stageOf(c.report, "connect").status).toBe("skip");
  });

  test("DNS_NXDOMAIN under HTTPS_PROXY is a warning: the proxy resolves the name itself (here a dead proxy port: nothing leaves loopback)", async () => {
    const proxy = `http://127.0.0.1:${await freePort()}`;
    const c = await check("gone.pd.test", ["--dns", dm.server], {}, 3, { HTTPS_PROXY: proxy });
    const f = expectFinding(c, "DNS_NXDOMAIN", "warning", "dns");
    expect(f.detail).toContain(`HTTPS_PROXY (${proxy}) applies`);
    expect(f.evidence.proxy).toEqual({ url: proxy, source: "HTTPS_PROXY" });
    // The pull's real blocker is then the proxy, and the verdict says so.
    expect(c.report.verdict.code).toBe("PROXY_UNREACHABLE");
  });

  test("DNS_NO_ANSWER: the name exists (TXT) but has no A/AAAA; each query's rcode and server shown", async () => {
    const c = await check("txtonly.pd.test", ["--dns", dm.server]);
    const f = expectFinding(c, "DNS_NO_ANSWER", "error", "dns");
    expect(f.detail).toContain(`A: NOERROR, no records from ${dm.server}`);
    expect(f.evidence.outcome).toBe("noanswer");
  });

  test("DNS_SERVFAIL: a server answering SERVFAIL (RCODE 2) is named", async () => {
    const c = await check("registry.pd.test", ["--dns", servfail.server]);
    const f = expectFinding(c, "DNS_SERVFAIL", "error", "dns");
    expect(f.detail).toContain(`SERVFAIL (RCODE 2) from ${servfail.server}`);
    expect(f.evidence.servers).toEqual([servfail.server]);
  });

  test("DNS_SERVFAIL: dnsmasq REFUSES a name outside its zones (RCODE 5)", async () => {
    const c = await check("registry.elsewhere.test", ["--dns", dm.server]);
    const f = expectFinding(c, "DNS_SERVFAIL", "error", "dns");
    expect(f.detail).toContain(`REFUSED (RCODE 5) from ${dm.server}`);
  });

  test("DNS_TIMEOUT: a silent server, within --timeout, naming the server and Go's i/o timeout", async () => {
    const t0 = Date.now();
    const c = await check("registry.pd.test", ["--dns", silent.server], undefined, 1.5);
    expect(Date.now() - t0).toBeLessThan(6000);
    const f = expectFinding(c, "DNS_TIMEOUT", "error", "dns");
    expect(f.detail).toContain(`${silent.server}: read udp`);
    expect(f.detail).toContain("i/o timeout");
    expect(silent.seen.length).toBeGreaterThan(0);
  });

  test("DNS_RESOLVER_MISMATCH (warning): resolv.conf's server drops EDNS queries; the system resolver (getaddrinfo) resolves, Docker's does not", async () => {
    const c = await check("edns-dropped.pd.test", [], { resolvConf: `nameserver ${port53.address}\noptions timeout:1 attempts:1\n` }, 2);
    const t = expectFinding(c, "DNS_TIMEOUT", "error", "dns");
    expect(t.detail).toContain(`${port53.server}: read udp`);
    const f = findingOf(c.report, "DNS_RESOLVER_MISMATCH");
    expect([f.severity, f.stage]).toEqual(["warning", "dns"]);
    expect(f.detail).toContain("system resolver → 127.0.0.1");
    expect(f.evidence.serversFrom).toBe("resolv.conf");
    expect(f.evidence.servers).toEqual([port53.server]);
    expect(f.evidence.systemResolver.addresses).toEqual(["127.0.0.1"]);
    // Both resolvers really asked our server: Go's with OPT (dropped), glibc's without.
    expect(port53.seen).toContain("A edns-dropped.pd.test +edns");
    expect(port53.seen).toContain("A edns-dropped.pd.test");
  });

  test("DNS_RESOLVER_MISMATCH (info): nsswitch keeps the system resolver off DNS; Docker's resolver (resolv.conf) finds the registry", async () => {
    const c = await check("healthy.pd.test", [], { resolvConf: `nameserver ${port53.address}\n`, nsswitch: "hosts: files\n" });
    const f = expectFinding(c, "DNS_RESOLVER_MISMATCH", "info", "dns", "pass");
    expect(f.detail).toContain("healthy.pd.test");
    expect(f.evidence.systemResolver).toMatchObject({ addresses: [], code: "ENOTFOUND" });
    expect(stageOf(c.report, "dns").summary).toContain(`via ${port53.server}`);
    expect(c.report.verdict.ok).toBe(true);
  });

  test("resolv.conf search list: a short registry name is found as <name>.pd.test, as Go's resolver expands it", async () => {
    const c = await check("healthy", [], { resolvConf: `nameserver ${port53.address}\nsearch pd.test\n` });
    expectValidReport(c.report);
    const dns = stageOf(c.report, "dns");
    expect(dns.status).toBe("pass");
    // Go's list for a name with fewer dots than ndots: the search domains first, then the name.
    expect(dns.evidence).toMatchObject({
      serversFrom: "resolv.conf",
      servers: [port53.server],
      searchListTried: ["healthy.pd.test.", "healthy."],
      addresses: ["127.0.0.1"],
      via: port53.server,
    });
    expect(dns.evidence.resolver).toMatchObject({ search: ["pd.test."], ndots: 1 });
    // The first name answered: the bare one was never asked.
    expect(dns.evidence.queries.map((q: { name: string }) => q.name)).toEqual(["healthy.pd.test.", "healthy.pd.test."]);
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
  });

  test("a truncated UDP reply is asked again over TCP; the evidence says so and the run passes", async () => {
    const c = await check("healthy.pd.test", ["--dns", truncating.server]);
    expectValidReport(c.report);
    const dns = stageOf(c.report, "dns");
    expect(dns.status).toBe("pass");
    expect(dns.evidence.queries).toContainEqual(
      expect.objectContaining({ server: truncating.server, type: "A", transport: "tcp", truncated: true, answers: ["127.0.0.1"] }),
    );
    expect(truncating.seen).toContain("tcp A healthy.pd.test");
    expect(c.r.code).toBe(0);
  });

  test("A and AAAA: both addresses are resolved and dialled; ::1 refused while 127.0.0.1 answers is a warning naming both", async () => {
    const c = await check("dual.pd.test", ["--dns", dm.server]);
    expectValidReport(c.report);
    expect(stageOf(c.report, "dns").evidence.addresses).toEqual(expect.arrayContaining(["127.0.0.1", "::1"]));
    const f = expectFinding(c, "CONNECT_REFUSED", "warning", "connect");
    expect(f.detail).toContain(`dial tcp [::1]:${reg.port}: connect: connection refused`);
    expect(f.detail).toContain(`127.0.0.1:${reg.port} connected`);
    expect(stageOf(c.report, "manifest").status).toBe("pass");
    expect(c.r.code).toBe(0);
  });

  test("DNS_HOSTS_OVERRIDE (warning): /etc/hosts pins the registry to an address DNS contradicts; the pin wins and the line is shown", async () => {
    const hosts = "127.0.0.1 localhost\n127.0.0.1 pinned.pd.test\n";
    const c = await check("pinned.pd.test", ["--dns", dm.server], { hosts });
    const f = expectFinding(c, "DNS_HOSTS_OVERRIDE", "warning", "dns");
    expect(f.detail).toContain("2: 127.0.0.1 pinned.pd.test");
    expect(f.detail).toContain("DNS says: 0.0.0.0");
    expect(f.evidence.hostsFile).toMatchObject({ path: "/etc/hosts", addresses: ["127.0.0.1"] });
    // The pull follows the pin (Go reads /etc/hosts first): the registry behind it answers.
    expect(stageOf(c.report, "manifest").status).toBe("pass");
    expect(c.r.code).toBe(0);
  });

  test("DNS_HOSTS_OVERRIDE (info): a pin DNS agrees with", async () => {
    const c = await check("agreed.pd.test", ["--dns", dm.server], { hosts: "127.0.0.1 localhost\n127.0.0.1 agreed.pd.test\n" });
    const f = expectFinding(c, "DNS_HOSTS_OVERRIDE", "info", "dns", "pass");
    expect(f.detail).toContain("2: 127.0.0.1 agreed.pd.test");
  });
});

test("plain-text check (no --json): the dns line names the server that answered NXDOMAIN", async () => {
  const r = await runInNs(["check", image("gone.pd.test"), "--dns", dm.server, ...hermetic(home.dir)], { home: home.dir, dir: home.dir });
  expect(r.code).toBe(1);
  // One line per stage: "<mark> <stage id> <summary> (<ms>)".
  const dnsLine = r.stdout.split("\n").find((l) => /^\S+ dns\s/.test(l));
  expect(dnsLine).toMatch(/^✖ dns\s+gone\.pd\.test: no such host/);
  expect(dnsLine).toContain(`NXDOMAIN from ${dm.server}`);
  expect(r.stdout).toMatch(/^○ connect\s+skipped/m);
  expect(r.stdout).toContain("DNS_NXDOMAIN");
  expect(r.stdout).not.toContain("\u001b[");
});
