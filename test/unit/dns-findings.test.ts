import { describe, expect, test } from "bun:test";
import type { DnsQueryRecord, HostResolution } from "../../src/net/dns";
import { classifyDns, type DnsObservation } from "../../src/net/dns-findings";

const S = "10.0.0.2:53";
const q = (type: "A" | "AAAA", rcode: string | null, answers: string[] = [], extra: Partial<DnsQueryRecord> = {}): DnsQueryRecord => ({
  server: S,
  name: "reg.example.",
  type,
  transport: "udp",
  rcode,
  answers,
  cnames: [],
  durationMs: 3,
  ...extra,
});
function res(over: Partial<HostResolution>): HostResolution {
  return {
    hostname: "reg.example",
    addresses: [],
    via: S,
    outcome: "ok",
    queries: [],
    hostsFile: null,
    hostsLines: [],
    servers: [S],
    serversFrom: "resolv.conf",
    names: ["reg.example."],
    config: {
      resolvConf: "/etc/resolv.conf",
      search: [],
      ndots: 1,
      timeoutMs: 5000,
      attempts: 2,
      useTcp: false,
      rotate: false,
      singleRequest: false,
      problems: [],
    },
    perQueryTimeoutMs: 5000,
    ...over,
  };
}
const ok = res({ addresses: [{ address: "10.1.1.1", family: 4 }], queries: [q("A", "NOERROR", ["10.1.1.1"]), q("AAAA", "NOERROR")] });
const sys = (addresses: string[], code: string | null = null) => ({
  addresses,
  code,
  error: code ? `getaddrinfo ${code} reg.example` : null,
});

// Each row: observation → the codes:severities classifyDns must give.
const cases: { name: string; obs: Partial<DnsObservation> & { resolution: HostResolution }; want: string[]; detail?: string }[] = [
  {
    name: "refused retries: one line per server with its last error",
    obs: {
      resolution: res({
        outcome: "timeout",
        queries: [
          q("A", null, [], { error: "read udp 127.0.0.1:51199->10.0.0.2:53: read: connection refused" }),
          q("AAAA", null, [], { error: "read udp 127.0.0.1:44834->10.0.0.2:53: read: connection refused" }),
        ],
      }),
      system: null,
    },
    want: ["DNS_TIMEOUT:error"],
    detail: "10.0.0.2:53: read udp 127.0.0.1:44834->10.0.0.2:53: read: connection refused (2 attempts). Go's",
  },
  { name: "resolved, system agrees", obs: { resolution: ok, system: sys(["10.1.1.1"]) }, want: [] },
  {
    name: "literal: nothing",
    obs: { resolution: res({ via: "literal", addresses: [{ address: "10.0.0.1", family: 4 }] }), system: sys([]) },
    want: [],
  },
  {
    name: "NXDOMAIN",
    obs: {
      resolution: res({
        outcome: "nxdomain",
        message: `lookup reg.example on ${S}: no such host`,
        queries: [q("A", "NXDOMAIN"), q("AAAA", "NXDOMAIN")],
      }),
      system: sys([], "ENOTFOUND"),
    },
    want: ["DNS_NXDOMAIN:error"],
    detail: `NXDOMAIN from ${S}`,
  },
  {
    name: "no answer",
    obs: { resolution: res({ outcome: "noanswer", queries: [q("A", "NOERROR"), q("AAAA", "NOERROR")] }), system: sys([], "ENOTFOUND") },
    want: ["DNS_NO_ANSWER:error"],
    detail: "A: NOERROR, no records",
  },
  {
    name: "SERVFAIL",
    obs: { resolution: res({ outcome: "servfail", queries: [q("A", "SERVFAIL"), q("AAAA", "SERVFAIL")] }), system: sys([], "EAI_AGAIN") },
    want: ["DNS_SERVFAIL:error"],
    detail: "SERVFAIL (RCODE 2)",
  },
  {
    name: "REFUSED",
    obs: { resolution: res({ outcome: "servfail", queries: [q("A", "REFUSED")] }), system: null },
    want: ["DNS_SERVFAIL:error"],
    detail: "REFUSED (RCODE 5)",
  },
  {
    name: "lame referral",
    obs: { resolution: res({ outcome: "servfail", queries: [q("A", "NOERROR", [], { error: "lame referral" })] }), system: null },
    want: ["DNS_SERVFAIL:error"],
    detail: "lame referral",
  },
  {
    name: "timeout",
    obs: {
      resolution: res({ outcome: "timeout", queries: [q("A", null, [], { error: "read udp 10.0.0.5:4000->10.0.0.2:53: i/o timeout" })] }),
      system: sys([], "timeout"),
    },
    want: ["DNS_TIMEOUT:error"],
    detail: "10.0.0.2:53: read udp",
  },
  {
    name: "failure behind a proxy is a warning",
    obs: {
      resolution: res({ outcome: "nxdomain", queries: [q("A", "NXDOMAIN")] }),
      system: null,
      proxy: { url: "http://proxy:3128", source: "HTTPS_PROXY" },
    },
    want: ["DNS_NXDOMAIN:warning"],
    detail: "the proxy resolves reg.example itself",
  },
  {
    name: "split DNS: system resolves, Docker does not",
    obs: { resolution: res({ outcome: "nxdomain", queries: [q("A", "NXDOMAIN")] }), system: sys(["10.20.0.5"]) },
    want: ["DNS_NXDOMAIN:error", "DNS_RESOLVER_MISMATCH:warning"],
  },
  {
    name: "Docker resolves, system does not: info",
    obs: { resolution: ok, system: sys([], "ENOTFOUND") },
    want: ["DNS_RESOLVER_MISMATCH:info"],
  },
  {
    name: "disjoint answers: info (CDNs rotate)",
    obs: { resolution: ok, system: sys(["10.9.9.9"]) },
    want: ["DNS_RESOLVER_MISMATCH:info"],
  },
  { name: "overlapping answers: nothing", obs: { resolution: ok, system: sys(["10.9.9.9", "10.1.1.1"]) }, want: [] },
  {
    name: "--dns: comparison is evidence only",
    obs: { resolution: res({ ...ok, serversFrom: "--dns" }), system: sys(["10.9.9.9"]) },
    want: [],
  },
  { name: "system lookup timed out: no comparison", obs: { resolution: ok, system: sys([], "timeout") }, want: [] },
  {
    name: "hosts pin, DNS agrees",
    obs: {
      resolution: res({
        via: "/etc/hosts",
        addresses: [{ address: "10.1.1.1", family: 4 }],
        hostsFile: ["10.1.1.1"],
        hostsLines: ["3: 10.1.1.1 reg.example"],
      }),
      system: sys(["10.1.1.1"]),
      pinnedDns: ok,
    },
    want: ["DNS_HOSTS_OVERRIDE:info"],
    detail: "3: 10.1.1.1 reg.example",
  },
  {
    name: "hosts pin, DNS says otherwise: stale",
    obs: {
      resolution: res({
        via: "/etc/hosts",
        addresses: [{ address: "10.7.7.7", family: 4 }],
        hostsFile: ["10.7.7.7"],
        hostsLines: ["3: 10.7.7.7 reg.example"],
      }),
      system: sys(["10.7.7.7"]),
      pinnedDns: ok,
    },
    want: ["DNS_HOSTS_OVERRIDE:warning"],
    detail: "DNS says: 10.1.1.1",
  },
  {
    name: "localhost from the hosts file is the normal setup",
    obs: {
      resolution: res({
        hostname: "localhost",
        via: "/etc/hosts",
        addresses: [{ address: "127.0.0.1", family: 4 }],
        hostsFile: ["127.0.0.1"],
        hostsLines: ["1: 127.0.0.1 localhost"],
      }),
      system: sys(["127.0.0.1"]),
    },
    want: [],
  },
  {
    name: "registry.localhost too",
    obs: {
      resolution: res({
        hostname: "registry.localhost",
        via: "/etc/hosts",
        addresses: [{ address: "127.0.0.1", family: 4 }],
        hostsFile: ["127.0.0.1"],
        hostsLines: ["1: 127.0.0.1 registry.localhost"],
      }),
      system: sys(["127.0.0.1"]),
    },
    want: [],
  },
];

describe("classifyDns", () => {
  for (const c of cases) {
    test(c.name, () => {
      const fs = classifyDns({ system: null, pinnedDns: null, proxy: null, ...c.obs }, { marker: true });
      expect(fs.map((f) => `${f.code}:${f.severity}`)).toEqual(c.want);
      if (c.detail) expect(fs[0].detail).toContain(c.detail);
      for (const f of fs) {
        expect(f.stage).toBe("dns");
        expect(f.evidence).toEqual({ marker: true });
        expect(f.fixes.length).toBeGreaterThan(0);
      }
    });
  }
});
