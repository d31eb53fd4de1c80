import type { Evidence } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import type { DnsQueryRecord, HostResolution } from "./dns";

/** What the dns stage learned, as data; classifyDns() turns it into findings. */
export interface DnsObservation {
  resolution: HostResolution;
  /** The system resolver's answer; null when not asked (IP literal). */
  system: { addresses: string[]; code: string | null; error: string | null } | null;
  /** DNS asked despite an /etc/hosts pin, for comparison; null when there is no pin. */
  pinnedDns: HostResolution | null;
  /** A proxy that will carry the connection to this endpoint (it resolves the name itself). */
  proxy: { url: string; source: string } | null;
  /** The endpoint's base URL, to quote Docker's whole line (`Get "URL/v2/": dial tcp: …`). */
  endpointUrl?: string;
  /** Whose fixes the findings write (the judged client's); absent: Docker's. */
  fixesFor?: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
}

const RCODE_NUM: Record<string, number> = { FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/** Queries for the name as given (the one whose error Go reports), else all. */
function decisiveQueries(r: HostResolution): DnsQueryRecord[] {
  const own = r.queries.filter((q) => q.name === `${r.hostname}.` || q.name === r.hostname);
  return own.length ? own : r.queries;
}

/**
 * "localhost" and "*.localhost" (RFC 6761): every hosts file names them, so their line is
 * the normal setup, not an override worth a finding (Go has no special case for them; the
 * hosts file is what makes them loopback).
 */
export function isLocalhostName(host: string): boolean {
  return /^(.+\.)?localhost\.?$/i.test(host);
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

function describeAddrs(r: HostResolution | null): string {
  if (!r) return "not asked";
  if (r.outcome === "ok") return r.addresses.map((a) => a.address).join(", ");
  return r.message ?? r.outcome;
}

/** Pure: facts in, findings out (table-tested in test/unit/dns-findings.test.ts). */
export function classifyDns(o: DnsObservation, evidence: Evidence): Finding[] {
  const r = o.resolution;
  const out: Finding[] = [];
  if (r.via === "literal") return out;
  const servers = r.servers ?? [];
  const serversFrom = r.serversFrom === "--dns" ? "--dns" : (r.config?.resolvConf ?? "/etc/resolv.conf");
  const message = r.message ? (o.endpointUrl ? `Get "${o.endpointUrl}/v2/": dial tcp: ${r.message}` : r.message) : "";
  const base = { host: r.hostname, servers, serversFrom, message, fixesFor: o.fixesFor };
  // A proxy resolves the registry name itself (CONNECT host:port), so the local failure
  // does not stop a pull that goes through it; it still matters for anything bypassing it.
  const opts = o.proxy
    ? {
        severity: "warning" as const,
        note: `${o.proxy.source} (${o.proxy.url}) applies to this endpoint: the proxy resolves ${r.hostname} itself, so the pull does not depend on this lookup.`,
      }
    : {};

  const failed = outcomeFinding(r, base, evidence, opts);
  if (failed) out.push(failed);
  const pinned = hostsFinding(o, evidence);
  if (pinned) out.push(pinned);
  const mismatch = systemFinding(o, evidence, servers, serversFrom);
  if (mismatch) out.push(mismatch);
  return out;
}

type Base = { host: string; servers: string[]; serversFrom: string; message: string; fixesFor?: DnsObservation["fixesFor"] };
type Options = { severity?: "warning"; note?: string };

/** The resolution's own failure, worded as Go's resolver decided it. */
function outcomeFinding(r: HostResolution, base: Base, evidence: Evidence, opts: Options): Finding | null {
  const qs = decisiveQueries(r);
  switch (r.outcome) {
    case "nxdomain": {
      const servers = uniq(qs.filter((q) => q.rcode === "NXDOMAIN").map((q) => q.server));
      return finding("DNS_NXDOMAIN", { ...base, servers, names: r.names ?? [] }, evidence, opts);
    }
    case "noanswer": {
      const rcodes = qs
        .filter((q) => !q.error)
        .map(
          (q) =>
            `${q.type}: ${q.rcode}${q.answers.length ? "" : ", no records"}${q.cnames.length ? ` (CNAME ${q.cnames.join(", ")})` : ""} from ${q.server}`,
        );
      return finding("DNS_NO_ANSWER", { ...base, rcodes }, evidence, opts);
    }
    case "servfail": {
      const failures = uniq(
        qs
          .filter((q) => q.rcode !== null && (q.rcode !== "NOERROR" || q.error))
          .map((q) => (q.error ? `${q.error} from ${q.server}` : `${q.rcode} (RCODE ${RCODE_NUM[q.rcode!] ?? "?"}) from ${q.server}`)),
      );
      return finding("DNS_SERVFAIL", { ...base, servers: uniq(qs.map((q) => q.server)), failures }, evidence, opts);
    }
    case "timeout": {
      // One line per server, its last error as Go reports the last one: every retry differs only
      // by the local port ("read udp 127.0.0.1:51199->…"), which made four near-identical lines.
      const last = new Map<string, { error: string; n: number }>();
      for (const q of qs) if (q.error) last.set(q.server, { error: q.error, n: (last.get(q.server)?.n ?? 0) + 1 });
      const errors = [...last].map(([server, e]) => `${server}: ${e.error}${e.n > 1 ? ` (${e.n} attempts)` : ""}`);
      return finding("DNS_TIMEOUT", { ...base, errors, timeoutMs: r.perQueryTimeoutMs ?? 0 }, evidence, opts);
    }
    case "ok":
      return null;
  }
}

/** /etc/hosts pins the name (except localhost names): worth knowing, a warning when DNS says otherwise. */
function hostsFinding(o: DnsObservation, evidence: Evidence): Finding | null {
  const r = o.resolution;
  if (!r.hostsFile || !r.hostsLines?.length || isLocalhostName(r.hostname)) return null;
  const dnsAddrs = o.pinnedDns?.outcome === "ok" ? o.pinnedDns.addresses.map((a) => a.address) : [];
  // A pin that DNS contradicts is the classic stale entry; one DNS agrees with, or a name
  // DNS does not know (an air-gapped mirror), is just worth knowing.
  const stale = dnsAddrs.length > 0 && !dnsAddrs.some((a) => r.hostsFile!.includes(a));
  return finding(
    "DNS_HOSTS_OVERRIDE",
    { host: r.hostname, hostsPath: r.via, lines: r.hostsLines, dns: describeAddrs(o.pinnedDns) },
    evidence,
    stale ? { severity: "warning", note: "DNS gives other addresses: the pin may be stale." } : {},
  );
}

/**
 * Compare with the system resolver. Not when --dns replaced the servers: the user chose
 * servers the system (and dockerd) do not use, so a disagreement is expected and says
 * nothing about the host's configuration; the comparison stays in the evidence.
 */
function systemFinding(o: DnsObservation, evidence: Evidence, servers: string[], serversFrom: string): Finding | null {
  const r = o.resolution;
  if (!o.system || r.serversFrom === "--dns" || o.system.code === "timeout" || o.system.code === "aborted") return null;
  const mine = r.addresses.map((a) => a.address);
  const sys = o.system.addresses;
  const p = {
    host: r.hostname,
    direct: describeAddrs(r),
    system: sys.length ? sys.join(", ") : `${o.system.code ?? "no address"}: ${o.system.error ?? ""}`.trim(),
    servers,
    resolvConf: serversFrom,
  };
  // The split-DNS case: curl works, docker pull does not.
  if (mine.length === 0 && sys.length > 0)
    return finding("DNS_RESOLVER_MISMATCH", p, evidence, { note: "The system resolves the name but Docker's resolver does not." });
  if (mine.length > 0 && sys.length === 0)
    return finding("DNS_RESOLVER_MISMATCH", p, evidence, {
      severity: "info",
      note: "Docker's resolver finds it; only tools using the system resolver fail.",
    });
  // Large registries rotate DNS answers (CDNs), so disjoint sets alone are not an error.
  if (mine.length > 0 && !mine.some((a) => sys.includes(a)))
    return finding("DNS_RESOLVER_MISMATCH", p, evidence, {
      severity: "info",
      note: "No address in common; CDNs rotate answers, so this matters only if the addresses belong to different networks.",
    });
  return null;
}
