import type { Deps } from "../model/deps";
import type { Json } from "../model/evidence";
import type { ResolvedAddress } from "../model/facts";
import type { Trace } from "../model/trace";
import { parseServer, type ServerAddress } from "./dns-exchange";
import { sortLikeGo } from "./dns-order";
import { type DnsOutcome, type DnsQueryRecord, questioner, type Verdict } from "./dns-question";
import { lookupHostsFile } from "./hosts-file";
import { isIP } from "./ip";
import { bareHost } from "./origin";
import { nameList, type ResolvConf, readResolvConf } from "./resolv-conf";

export type { DnsOutcome, DnsQueryRecord } from "./dns-question";

/**
 * Resolve a host as the Docker daemon does (Go's pure resolver, net/dnsclient_unix.go with
 * nsswitch `hosts: files dns`): an IP literal is itself; /etc/hosts wins when it names the
 * host; otherwise each name of the search list (ndots rules) is asked for A and AAAA in
 * parallel, each question going through the servers in order, `attempts` times, moving on
 * after a timeout, SERVFAIL, REFUSED or a lame referral and stopping at NXDOMAIN or an
 * answer. The first name that yields addresses wins; otherwise the error of the name as
 * given decides (Go "prefers error for original name").
 */
export interface HostResolution {
  hostname: string;
  addresses: ResolvedAddress[];
  /** "/etc/hosts", "10.0.0.2:53", "literal"; for a failure the server whose reply decided it. */
  via: string;
  outcome: DnsOutcome;
  queries: DnsQueryRecord[];
  /** /etc/hosts addresses for the name, if any. */
  hostsFile: string[] | null;
  /** The hosts-file lines that name the host ("3: 10.0.0.9 registry.corp"). */
  hostsLines?: string[];
  /** Servers asked, in order, and where that list came from. */
  servers?: string[];
  serversFrom?: "--dns" | "resolv.conf" | "default";
  /** The names tried, in Go's order (search list and ndots applied). */
  names?: string[];
  /** The error Docker would print after "dial tcp: ": "lookup reg on 10.0.0.2:53: no such host". */
  message?: string;
  /** The resolver settings used, and anything Go ignores in resolv.conf. */
  config?: {
    resolvConf: string;
    search: string[];
    ndots: number;
    timeoutMs: number;
    attempts: number;
    useTcp: boolean;
    rotate: boolean;
    singleRequest: boolean;
    problems: string[];
  };
  /** Per-query timeout actually used (resolv.conf timeout, shortened to fit the step timeout). */
  perQueryTimeoutMs?: number;
}

export interface ResolveOptions {
  /** --dns SERVER[:PORT] list; empty/undefined = resolv.conf. */
  servers?: string[];
  deps: Deps;
  timeoutMs: number;
  trace?: Trace;
  /** Ask DNS even when /etc/hosts names the host (the dns stage compares the two). */
  skipHostsFile?: boolean;
}

/** "A"/"AAAA" answers → addresses, A first; sortLikeGo() then orders them as Go would dial them. */
function toAddresses(a: string[], aaaa: string[]): ResolvedAddress[] {
  const out: ResolvedAddress[] = [];
  for (const x of a) if (!out.some((o) => o.address === x)) out.push({ address: x, family: 4 });
  for (const x of aaaa) if (!out.some((o) => o.address === x)) out.push({ address: x, family: 6 });
  return out;
}

/** Go's message for the deciding failure (DNSError.Error()). */
function goMessage(host: string, v: Verdict): string {
  const on = v.rec ? ` on ${v.rec.server}` : "";
  switch (v.kind) {
    case "nxdomain":
    case "noanswer":
      return `lookup ${host}${on}: no such host`;
    case "servfail":
      return `lookup ${host}${on}: server misbehaving`;
    case "timeout":
      return `lookup ${host}${on}: ${v.rec?.error ?? "i/o timeout"}`;
    default:
      return "";
  }
}

export async function resolveHost(hostname: string, opts: ResolveOptions): Promise<HostResolution> {
  const host = bareHost(hostname);
  const fam = isIP(host.split("%")[0]);
  // An IP literal (a loopback or lab registry) needs no file and no question; the name's
  // resolution is a function of its own so that a literal's check never compiles it.
  if (fam === 0) return resolveName(host, opts);
  return {
    hostname: host,
    addresses: [{ address: host, family: fam === 6 ? 6 : 4 }],
    via: "literal",
    outcome: "ok",
    queries: [],
    hostsFile: null,
  };
}

/** A name: the hosts file, then the resolv.conf servers' answers as Go's resolver asks them. */
async function resolveName(host: string, opts: ResolveOptions): Promise<HostResolution> {
  const hosts = lookupHostsFile(opts.deps.paths.hosts, host);
  const conf = readResolvConf(opts.deps.paths.resolvConf);
  const { servers, from, problems } = pickServers(conf, opts.servers);
  const config = {
    resolvConf: opts.deps.paths.resolvConf,
    search: conf.search,
    ndots: conf.ndots,
    timeoutMs: conf.timeoutMs,
    attempts: conf.attempts,
    useTcp: conf.useTcp,
    rotate: conf.rotate,
    singleRequest: conf.singleRequest,
    problems: [...conf.problems, ...problems],
  };
  // Go's `rotate` starts each question at the next server; the doctor always asks in file
  // order so that the evidence is reproducible (the setting is shown in the evidence).
  if (hosts.error) config.problems.push(`hosts file unreadable: ${hosts.error}`);
  const base = {
    hostname: host,
    hostsFile: hosts.addresses.length ? hosts.addresses : null,
    hostsLines: hosts.lines,
    servers: servers.map((s) => s.display),
    serversFrom: from,
    config,
  };

  if (hosts.addresses.length > 0 && !opts.skipHostsFile) {
    const addresses = hosts.addresses.map((a): ResolvedAddress => ({ address: a, family: isIP(a.split("%")[0]) === 6 ? 6 : 4 }));
    return { ...base, addresses, via: opts.deps.paths.hosts, outcome: "ok", queries: [], names: [] };
  }

  // The step timeout bounds the whole resolution: Go would spend timeout × attempts per
  // server (5 s × 2 by default); the per-query wait is shortened so that every server
  // gets all its attempts within the step.
  const names = nameList(host, conf);
  const deadline = performance.now() + opts.timeoutMs;
  const perQuery = Math.max(100, Math.min(conf.timeoutMs, Math.floor(opts.timeoutMs / (conf.attempts * servers.length))));
  const queries: DnsQueryRecord[] = [];
  const signal = opts.deps.signal;

  const tryOne = questioner({
    servers,
    attempts: conf.attempts,
    useTcp: conf.useTcp,
    deadline,
    perQuery,
    signal,
    trace: opts.trace,
    queries,
  });

  let decisive: Verdict | null = null;
  for (const name of names) {
    const both: Verdict[] = conf.singleRequest
      ? [await tryOne(name, "A"), await tryOne(name, "AAAA")]
      : await Promise.all([tryOne(name, "A"), tryOne(name, "AAAA")]);
    const [a, aaaa] = both;
    if (a.kind === "ok" || aaaa.kind === "ok") {
      const addresses = await sortLikeGo(toAddresses(a.kind === "ok" ? a.rec!.answers : [], aaaa.kind === "ok" ? aaaa.rec!.answers : []));
      const via = (a.kind === "ok" ? a.rec! : aaaa.rec!).server;
      return { ...base, addresses, via, outcome: "ok", queries, names, perQueryTimeoutMs: perQuery };
    }
    // Go keeps the error of the question that completed last, preferring the name as given.
    const lastDone = a.doneAt > aaaa.doneAt ? a : aaaa;
    if (decisive === null || name === `${host}.` || name === host) decisive = lastDone;
    // Deviation from Go, to stay within the step timeout: when no server answered at all,
    // the other names would only wait the same way, so they are not tried.
    if (both.every((v) => v.kind === "timeout")) break;
  }
  const v: Verdict = decisive ?? { kind: "nxdomain", rec: null, doneAt: 0 };
  return {
    ...base,
    addresses: [],
    via: v.rec?.server ?? "",
    outcome: v.kind,
    queries,
    names,
    message: goMessage(host, v),
    perQueryTimeoutMs: perQuery,
  };
}

function pickServers(
  conf: ResolvConf,
  flag: string[] | undefined,
): { servers: ServerAddress[]; from: "--dns" | "resolv.conf" | "default"; problems: string[] } {
  const problems: string[] = [];
  if (flag && flag.length > 0) {
    const servers: ServerAddress[] = [];
    for (const spec of flag) {
      const s = parseServer(spec);
      if (s) servers.push(s);
      else problems.push(`--dns ${spec} ignored: not an IP address with an optional port`);
    }
    if (servers.length > 0) return { servers, from: "--dns", problems };
  }
  const servers = conf.servers.map((s) => parseServer(s)).filter((s): s is ServerAddress => s !== null);
  return { servers, from: conf.defaultServers ? "default" : "resolv.conf", problems };
}

/**
 * A JSON-safe summary of a resolution for other stages' evidence (token realm, blob CDN):
 * which servers were asked, what each said, and Go's message for a failure.
 */
export function resolutionEvidence(r: HostResolution): { [k: string]: Json } {
  return {
    host: r.hostname,
    outcome: r.outcome,
    via: r.via,
    addresses: r.addresses.map((a) => a.address),
    message: r.message ?? null,
    servers: r.servers ?? [],
    serversFrom: r.serversFrom ?? null,
    hostsFile: r.hostsLines ?? [],
    // Each query as recorded (JSON-safe, only the fields it has), with the name asked always shown.
    queries: r.queries.map((q) => ({ ...q, name: q.name ?? r.hostname })),
  };
}
